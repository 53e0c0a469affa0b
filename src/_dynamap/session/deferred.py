"""`Deferred[M]`: the result of a `session.get` or an update, available after its flush."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from _dynamap.errors import DynamapError

__all__ = ["Cell", "Deferred", "fail", "resolve"]

M = TypeVar("M")


class Deferred(ABC, Generic[M]):
    """A read (or update) that resolves to an instance of `M`, or None when there is no item.

    `session.update` and `session.update_key` return one too: it resolves to the item
    as stored after the update.

    Sessions create them. Their state lives in a subclass, so that editors
    completing a `Deferred` offer only `done` and `result()`.
    """

    __slots__ = ()

    @property
    @abstractmethod
    def done(self) -> bool:
        """True once the read has been answered (or has failed)."""

    @abstractmethod
    def result(self) -> M | None:
        """The instance, or None if there is no such item.

        Sends the session's pending gets first if this one has not been read yet
        (for an update: flushes the session). Raises the flush error if this key could
        not be read or updated.
        """


class Cell(Deferred[M]):
    """The session's side of a Deferred: its value, error and how to settle it."""

    __slots__ = ("error", "flush", "settled", "value")

    def __init__(self, flush: Callable[[], object] | None = None) -> None:
        self.flush = flush
        self.value: M | None = None
        self.settled = False
        self.error: DynamapError | None = None

    @property
    def done(self) -> bool:
        return self.settled or self.error is not None

    def result(self) -> M | None:
        if not self.done and self.flush is not None:
            self.flush()
        if self.error is not None:
            raise self.error
        if not self.settled:
            raise DynamapError("this read was never sent: its session closed before a flush")
        return self.value

    def __repr__(self) -> str:
        state = "pending" if not self.done else ("failed" if self.error else repr(self.value))
        return f"<Deferred {state}>"


def resolve(deferred: Deferred[M], value: M | None) -> None:
    """Settle `deferred` with a value (an instance, or None for a missing item)."""
    cell = cast(Cell[M], deferred)
    cell.value = value
    cell.settled = True
    cell.error = None
    cell.flush = None


def fail(deferred: Deferred[M], error: DynamapError) -> None:
    """Settle `deferred` with an error that `result()` raises."""
    cast(Cell[M], deferred).error = error
