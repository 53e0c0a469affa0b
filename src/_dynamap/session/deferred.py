"""`Deferred[M]`: the result of a `session.get`, available after the flush that reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from _dynamap.errors import DynamapError

__all__ = ["Deferred", "fail", "resolve"]

M = TypeVar("M")


class Deferred(Generic[M]):
    """A read that resolves to an instance of `M`, or None when the item does not exist."""

    __slots__ = ("_error", "_flush", "_settled", "_value")

    def __init__(self, flush: Callable[[], object] | None = None) -> None:
        self._flush = flush
        self._value: M | None = None
        self._settled = False
        self._error: DynamapError | None = None

    @property
    def done(self) -> bool:
        """True once the read has been answered (or has failed)."""
        return self._settled or self._error is not None

    def result(self) -> M | None:
        """The instance, or None if there is no such item.

        Sends the session's pending gets first if this one has not been read yet.
        Raises the flush error if this key could not be read.
        """
        if not self.done and self._flush is not None:
            self._flush()
        if self._error is not None:
            raise self._error
        if not self._settled:
            raise DynamapError("this read was never sent: its session closed before a flush")
        return self._value

    def __repr__(self) -> str:
        state = "pending" if not self.done else ("failed" if self._error else repr(self._value))
        return f"<Deferred {state}>"


# The session settles deferreds through these functions, keeping them off the public class.
def resolve(deferred: Deferred[M], value: M | None) -> None:
    """Settle `deferred` with a value (an instance, or None for a missing item)."""
    deferred._value = value  # pyright: ignore[reportPrivateUsage]
    deferred._settled = True  # pyright: ignore[reportPrivateUsage]
    deferred._error = None  # pyright: ignore[reportPrivateUsage]
    deferred._flush = None  # pyright: ignore[reportPrivateUsage]


def fail(deferred: Deferred[M], error: DynamapError) -> None:
    """Settle `deferred` with an error that `result()` raises."""
    deferred._error = error  # pyright: ignore[reportPrivateUsage]
