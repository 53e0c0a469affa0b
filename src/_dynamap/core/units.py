"""The units of a flush (a key to read, a write) and the requests that carry them. Pure code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from _dynamap.codec.wireread import BatchGetReader, ItemReader
from _dynamap.expr.names import Projection

__all__ = [
    "BatchRequest",
    "GetUnit",
    "Ident",
    "KeyOf",
    "MAX_GET_KEYS",
    "MAX_WRITE_ITEMS",
    "NO_ANSWER",
    "Operation",
    "TableRead",
    "Unit",
    "WriteUnit",
]

MAX_GET_KEYS = 100
MAX_WRITE_ITEMS = 25

Ident = tuple[str, tuple[Any, ...]]  # (table name, canonical key)
KeyOf = Callable[[str, dict[str, Any]], Ident]  # (table, key or item) -> identity


NO_ANSWER = "no answer"  # the `error` of units whose request was given up on in flight


@dataclass(eq=False, slots=True)
class GetUnit:
    """One key to read; `error` is why its last attempt failed."""

    table: str
    key: dict[str, Any]
    ident: Ident
    attempts: int = 0
    error: str = ""

    kind: Literal["get"] = "get"


_KINDS: dict[str, Literal["put", "delete", "update"]] = {
    "PutItem": "put",
    "DeleteItem": "delete",
    "UpdateItem": "update",
}


@dataclass(eq=False, slots=True)
class WriteUnit:
    """One write: a put or delete in a BatchWriteItem, or a request of its own.

    `single` is "" for a batched write (`request` is its BatchWriteItem form), else
    the operation sent on its own ("PutItem", "DeleteItem", "UpdateItem"; `request`
    is then its parameters): conditional, versioned and update writes cannot be
    batched. `maybe_applied` is set once an attempt fails in a way that does not tell
    whether DynamoDB applied it; only a later success clears the doubt (by making it
    done). `retry_unclear` is False for writes that must not be sent twice (an
    increment): once maybe applied, they are not retried. `answer` is the response
    of a single write once done; `current` the stored item a failed condition met.
    """

    table: str
    request: dict[str, Any]
    ident: Ident
    attempts: int = 0
    error: str = ""
    maybe_applied: bool = False
    single: str = ""
    retry_unclear: bool = True
    answer: dict[str, Any] | None = None
    current: dict[str, Any] | None = None

    @property
    def kind(self) -> Literal["put", "delete", "update"]:
        """ "put", "delete" or "update"."""
        if self.single:
            return _KINDS[self.single]
        return "put" if "PutRequest" in self.request else "delete"


Unit = GetUnit | WriteUnit


@dataclass(frozen=True)
class TableRead:
    """How one table is read in this flush: merged projection and consistency, and the
    reader of its items when they are all read into one model that has one."""

    projection: Projection | None
    consistent: bool
    reader: ItemReader | None = None


# TransactWriteItems only in a session's record of an abandoned transaction (its writes).
Operation = Literal[
    "BatchGetItem", "BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems"
]


@dataclass(eq=False)
class BatchRequest:
    """One call and the units it carries: a batch, or a single write (one unit)."""

    operation: Operation
    params: dict[str, Any]
    units: list[Unit]
    settled: bool = False  # answered, failed or abandoned: a second outcome is ignored
    # A BatchGetItem's reader of its answer, for a transport that can use one.
    reader: BatchGetReader | None = None

    @property
    def tables(self) -> list[str]:
        """The tables this request touches."""
        if "TableName" in self.params:
            return [self.params["TableName"]]
        return list(self.params["RequestItems"])
