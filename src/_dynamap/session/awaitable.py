"""`AsyncDeferred[M]`: the deferred results of an `AsyncSession`, settled by awaiting them."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

from _dynamap.errors import DynamapError
from _dynamap.session.deferred import Cell, Deferred

__all__ = ["AsyncCell", "AsyncDeferred"]

M = TypeVar("M")

UNSETTLED = (
    "this result is not known yet, and an AsyncSession never blocks the event loop to "
    "get it: await it, or await session.flush()"
)


class AsyncDeferred(Deferred[M]):
    """A read (or update) of an `AsyncSession`: `await` it for the instance or None.

    Awaiting an unsettled read sends the session's pending gets, together with those
    awaited by other tasks in the same tick of the event loop (one BatchGetItem for up
    to 100 keys); awaiting an update flushes the session. `result()` does no I/O: once
    settled it returns the value, before that it raises DynamapError.
    """

    __slots__ = ()

    @abstractmethod
    def __await__(self) -> Generator[Any, None, M | None]:
        """Wait for the result: the instance, or None if there is no such item."""


class AsyncCell(Cell[M], AsyncDeferred[M]):
    """The session's side of an AsyncDeferred; `flush` is a coroutine function here."""

    __slots__ = ()

    def __init__(self, flush: Callable[[], object] | None = None) -> None:
        super().__init__(flush)

    def result(self) -> M | None:
        if not self.done and self.flush is not None:
            raise DynamapError(UNSETTLED)
        return super().result()

    def __await__(self) -> Generator[Any, None, M | None]:
        return self._wait().__await__()

    async def _wait(self) -> M | None:
        # A read registered while a flush was in flight missed it: the next one takes it.
        while not self.done and self.flush is not None:
            await cast(Awaitable[object], self.flush())
        return super().result()
