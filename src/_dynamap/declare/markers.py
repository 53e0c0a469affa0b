"""Declarations users write on models: key markers and secondary indexes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Attr",
    "Discriminator",
    "GlobalIndex",
    "LocalIndex",
    "PartitionKey",
    "SortKey",
    "IndexProjection",
    "Version",
]

IndexProjection = Literal["ALL", "KEYS_ONLY"] | Sequence[str]
"""`"ALL"`, `"KEYS_ONLY"`, or a sequence of field names for an INCLUDE projection."""


@dataclass(frozen=True)
class Attr:
    """The DynamoDB attribute a field is stored under: `Annotated[str, Attr("user-id")]`.

    Unlike a pydantic alias it changes only the stored name: the constructor, the
    validation and type checkers keep the Python name (`User(user_id=...)`). It
    takes precedence over an alias, which then stays pydantic's own business.

    Args:
        name: the stored attribute name (any non-empty text DynamoDB accepts).
    """

    name: str


@dataclass(frozen=True)
class PartitionKey:
    """Marks the table's partition (hash) key: `pk: Annotated[str, PartitionKey()]`."""


@dataclass(frozen=True)
class SortKey:
    """Marks the table's sort (range) key: `sk: Annotated[str, SortKey()]`."""


@dataclass(frozen=True)
class Version:
    """Marks a version number for optimistic locking: `version: Annotated[int, Version()] = 0`.

    Every put, update or delete of a loaded or written instance then carries the
    condition `version = <as loaded>` and stores `version + 1`; a new instance
    (never loaded, version 0) is created only if its key is free.
    """


@dataclass(frozen=True)
class Discriminator:
    """Marks the field that names an item's kind, for several models sharing one table.

    ```python
    class User(Model, table="app"):
        pk: Annotated[str, PartitionKey()]
        sk: Annotated[str, SortKey()]
        kind: Annotated[Literal["user"], Discriminator()] = "user"
    ```
    The field is a `Literal` of one value, with that value as its default. Queries and
    scans of the model read only items of its kind; `session.query((User, Order), pk)`
    decodes each item into the model its value names.
    """


class IndexDeclaration:
    """Shared behaviour of GlobalIndex and LocalIndex."""

    kind = ""

    def __init__(self, *, name: str | None, projection: IndexProjection) -> None:
        self.projection: Literal["ALL", "KEYS_ONLY"] | tuple[str, ...]
        if projection == "ALL":
            self.projection = "ALL"
        elif projection == "KEYS_ONLY":
            self.projection = "KEYS_ONLY"
        elif isinstance(projection, str):
            raise ValueError(
                f"index projection must be 'ALL', 'KEYS_ONLY' or a list of field names, "
                f"got {projection!r}"
            )
        else:
            self.projection = tuple(projection)
        self._name = name

    def __set_name__(self, owner: type, attr: str) -> None:
        # An index declared as a class attribute is named after it unless named explicitly.
        if self._name is None:
            self._name = attr

    @property
    def name(self) -> str:
        """The DynamoDB index name."""
        if self._name is None:
            raise AttributeError(f"{type(self).__name__} has no name: pass name= or assign it")
        return self._name


class GlobalIndex(IndexDeclaration):
    """A global secondary index, declared as a `ClassVar` on a model.

    ```python
    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "created", projection="KEYS_ONLY")
    ```
    Key fields are given by their Python field names.

    Args:
        partition_key: the field holding the index's partition key.
        sort_key: the field holding the index's sort key, if it has one.
        name: the index name (default: the class attribute's name).
        projection: "ALL", "KEYS_ONLY", or the fields to include.
        read_capacity: read capacity units, for a provisioned table.
        write_capacity: write capacity units, for a provisioned table.
    """

    kind = "global"

    def __init__(
        self,
        partition_key: str,
        sort_key: str | None = None,
        *,
        name: str | None = None,
        projection: IndexProjection = "ALL",
        read_capacity: int | None = None,
        write_capacity: int | None = None,
    ) -> None:
        super().__init__(name=name, projection=projection)
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.read_capacity = read_capacity
        self.write_capacity = write_capacity

    def __repr__(self) -> str:
        return (
            f"GlobalIndex({self.partition_key!r}, {self.sort_key!r}, name={self._name!r}, "
            f"projection={self.projection!r})"
        )


class LocalIndex(IndexDeclaration):
    """A local secondary index: the table's partition key with another sort key.

    ```python
    by_created: ClassVar[LocalIndex] = LocalIndex("created")
    ```

    Args:
        sort_key: the field holding the index's sort key.
        name: the index name (default: the class attribute's name).
        projection: "ALL", "KEYS_ONLY", or the fields to include.
    """

    kind = "local"

    def __init__(
        self,
        sort_key: str,
        *,
        name: str | None = None,
        projection: IndexProjection = "ALL",
    ) -> None:
        super().__init__(name=name, projection=projection)
        self.sort_key = sort_key

    def __repr__(self) -> str:
        return f"LocalIndex({self.sort_key!r}, name={self._name!r}, projection={self.projection!r})"
