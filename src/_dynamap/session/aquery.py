"""`AsyncQuery[M]` and `AsyncScan[M]`: what `AsyncSession.query` and `.scan` return.

The settings are `ReadBuilder`'s and every decision is the run's (`readrun.py`), as for
`Query` and `Scan`; only the sending is awaited: `async for`, `await q.page()`,
`await q.count()`, `await q.first()`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from typing_extensions import Self

from _dynamap.core.cursor import Cursor
from _dynamap.model.model import Model
from _dynamap.session.query import Page, ReadBuilder, page_of
from _dynamap.session.readspec import ReadConfig

if TYPE_CHECKING:
    from _dynamap.session.readrun import ReadRun

__all__ = ["AsyncQuery", "AsyncReader", "AsyncScan"]

M = TypeVar("M", bound=Model)


class AsyncReader(Protocol):
    """What an async builder needs of its session (its friends call the private methods)."""

    def _start_read(self, config: ReadConfig, after: Cursor | None, counting: bool) -> ReadRun:
        """A new run of `config` (checking `after` against it)."""
        ...

    async def _read_round(self, run: ReadRun) -> bool:
        """Read the next round of `run`; False when there is nothing more to read."""
        ...

    def _hand_out(self, run: ReadRun) -> Iterator[Any]:
        """The items of `run`'s round, each made an instance inside the session's call guard."""
        ...


class _AsyncRun(ReadBuilder[M]):
    """Running a query or scan on an `AsyncSession`."""

    __slots__ = ()
    _session: AsyncReader

    def __aiter__(self) -> AsyncIterator[M]:
        """Every item, page after page, through the session's identity map."""
        run = self._session._start_read(self._config, None, False)  # pyright: ignore[reportPrivateUsage]
        return self._iterate(run)

    async def _iterate(self, run: ReadRun) -> AsyncGenerator[M, None]:
        try:
            while True:
                for item in self._session._hand_out(run):  # pyright: ignore[reportPrivateUsage]
                    yield item
                if not await self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                    return
        finally:
            self.report = run.report()

    async def page(self, after: Cursor | str | None = None) -> Page[M]:
        """One page, as `Query.page`: one request per stream, or with `limit(n)` up to n items.

        Args:
            after: where to start: a cursor or its token; None for the first page.
        """
        cursor = Cursor.decode(after) if isinstance(after, str) else after
        run = self._session._start_read(self._config, cursor, False)  # pyright: ignore[reportPrivateUsage]
        items: list[M] = []
        try:
            while True:
                items.extend(self._session._hand_out(run))  # pyright: ignore[reportPrivateUsage]
                if self._config.limit is None and run.requests:
                    break
                if not await self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                    break
        finally:
            self.report = run.report()
        return page_of(run, items)

    async def count(self) -> int:
        """How many items match, over every page (Select=COUNT); with `limit(n)`, at most n."""
        run = self._session._start_read(self._config, None, True)  # pyright: ignore[reportPrivateUsage]
        try:
            while await self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                pass
        finally:
            self.report = run.report()
        limit = self._config.limit
        return run.count if limit is None else min(run.count, limit)

    async def first(self) -> M | None:
        """The first item, or None if there is none (reads as little as it can)."""
        one = self._with(limit=1)
        items = one._iterate(self._session._start_read(one._config, None, False))  # pyright: ignore[reportPrivateUsage]
        try:
            async for item in items:
                return item
            return None
        finally:
            await items.aclose()  # ends the run now, so that its report is complete
            self.report = one.report


class AsyncQuery(_AsyncRun[M]):
    """A query on an `AsyncSession`: `async for order in session.query(Order, "u#1"): ...`."""

    __slots__ = ()

    def reverse(self) -> Self:
        """Descending sort-key order (`ScanIndexForward=False`)."""
        return self._reversed()


class AsyncScan(_AsyncRun[M]):
    """A scan on an `AsyncSession`: `async for user in session.scan(User, segments=8): ...`."""

    __slots__ = ()
