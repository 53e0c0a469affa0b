"""`Query[M]` and `Scan[M]`: the builders `session.query` and `session.scan` return.

Builder methods return a new builder, so one query can be refined several ways.
Nothing is sent until the builder is iterated, or asked for a `page()`, a `count()`
or the `first()` item; each of these is one run (see `readrun.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from typing_extensions import Self

from _dynamap.core.cursor import Cursor
from _dynamap.core.report import QueryReport
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Condition
from _dynamap.model.model import Model
from _dynamap.session.readspec import ReadConfig

if TYPE_CHECKING:
    from _dynamap.session.readrun import ReadRun

__all__ = ["Page", "Query", "ReadBuilder", "Reader", "Scan", "page_of"]

M = TypeVar("M", bound=Model)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a query or scan, for paginated APIs: `query.limit(25).page(after=token)`.

    Args:
        items: the items, as instances through the session's identity map.
        cursor: where the next page starts, or None when there is no more;
            `cursor.encode()` makes a url-safe token for an API.
        count: items DynamoDB matched over the requests of this page (after the filter).
        scanned_count: items DynamoDB read over the requests of this page.
        consumed: capacity units consumed.
        report: requests, retries and counts of this page.
    """

    items: list[T]
    cursor: Cursor | None
    count: int
    scanned_count: int
    consumed: float
    report: QueryReport


class Reader(Protocol):
    """What a builder needs of its session: start a run, and read one round of pages.

    The methods are private to keep them out of the session's completions; builders
    are the session's friends and call them.
    """

    def _start_read(self, config: ReadConfig, after: Cursor | None, counting: bool) -> ReadRun:
        """A new run of `config` (checking `after` against it)."""
        ...

    def _read_round(self, run: ReadRun) -> bool:
        """Read the next round of `run`; False when there is nothing more to read."""
        ...

    def _hand_out(self, run: ReadRun) -> Iterator[Any]:
        """The items of `run`'s round, each made an instance inside the session's call guard."""
        ...


class ReadBuilder(Generic[M]):
    """What queries and scans, sync and async, share: the settings.

    Subclasses add how a run is sent (`_SyncRun` here, the async one in `aquery.py`).
    """

    __slots__ = ("_config", "_session", "report")

    def __init__(self, session: Any, config: ReadConfig) -> None:
        self._session = session
        self._config = config
        self.report: QueryReport | None = None
        """What the last run (iteration, page, count or first) did."""

    def _with(self, **changes: Any) -> Self:
        copy = type(self)(self._session, dataclasses.replace(self._config, **changes))
        return copy

    def filter(self, condition: Condition) -> Self:
        """Only items meeting `condition` (a FilterExpression; ANDed with earlier filters).

        DynamoDB applies it after reading, so filtered-out items still consume capacity
        and a page can come back empty: iteration goes on past empty pages.

        Args:
            condition: e.g. `Order.path(lambda o: o.total).gt(Decimal(100))`.
        """
        if self._config.operation == "Query":
            self._config.target.check_filter(condition)  # DynamoDB would reject it
        earlier = self._config.filter
        return self._with(filter=condition if earlier is None else earlier & condition)

    def limit(self, n: int) -> Self:
        """Hand out at most `n` items in all, over as many requests as that takes.

        Args:
            n: the most items to return (at least 1).
        """
        if n < 1:
            raise ValueError("limit must be at least 1")
        return self._with(limit=n)

    def page_size(self, n: int) -> Self:
        """Read at most `n` items per request (DynamoDB's `Limit`, counted before the filter).

        Args:
            n: items per request (at least 1).
        """
        if n < 1:
            raise ValueError("page_size must be at least 1")
        return self._with(page_size=n)

    def consistent(self, on: bool = True) -> Self:
        """Read with strong consistency (tables and local indexes only).

        Args:
            on: False to read eventually consistent again.
        """
        index = self._config.target.index
        if on and index is not None and index.kind == "global":
            raise DynamapError(
                f"{self._config.target.where()}: a global secondary index cannot be read "
                f"with strong consistency"
            )
        return self._with(consistent=on)

    def _reversed(self) -> Self:
        return self._with(reverse=not self._config.reverse)


def page_of(run: ReadRun, items: list[T]) -> Page[T]:
    """The page a run of `page()` made of `items`."""
    report = run.report()
    return Page(
        items,
        run.cursor(),
        report.count,
        report.scanned_count,
        sum(report.consumed_capacity.values()),
        report,
    )


class _SyncRun(ReadBuilder[M]):
    """Running a query or scan on a `Session`: iteration, pages, counts, first."""

    __slots__ = ()
    _session: Reader

    def __iter__(self) -> Iterator[M]:
        """Every item, page after page, through the session's identity map."""
        run = self._session._start_read(self._config, None, False)  # pyright: ignore[reportPrivateUsage]
        return self._iterate(run)

    def _iterate(self, run: ReadRun) -> Generator[M, None, None]:
        try:
            while True:
                yield from self._session._hand_out(run)  # pyright: ignore[reportPrivateUsage]
                if not self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                    return
        finally:
            self.report = run.report()

    def page(self, after: Cursor | str | None = None) -> Page[M]:
        """One page: what one request per stream returns, or with `limit(n)` up to n items.

        Args:
            after: where to start: a cursor or its token from an earlier page; None for
                the first page. A cursor of another table, index, partition or scan is
                refused (InvalidCursorError).
        """
        cursor = Cursor.decode(after) if isinstance(after, str) else after
        run = self._session._start_read(self._config, cursor, False)  # pyright: ignore[reportPrivateUsage]
        items: list[M] = []
        try:
            while True:
                items.extend(self._session._hand_out(run))  # pyright: ignore[reportPrivateUsage]
                if self._config.limit is None and run.requests:
                    break
                if not self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                    break
        finally:
            self.report = run.report()
        return page_of(run, items)

    def count(self) -> int:
        """How many items match, over every page (Select=COUNT), with every condition applied.

        Reads no item data. With `limit(n)`, at most n.
        """
        run = self._session._start_read(self._config, None, True)  # pyright: ignore[reportPrivateUsage]
        try:
            while self._session._read_round(run):  # pyright: ignore[reportPrivateUsage]
                pass
        finally:
            self.report = run.report()
        limit = self._config.limit
        return run.count if limit is None else min(run.count, limit)

    def first(self) -> M | None:
        """The first item, or None if there is none (reads as little as it can)."""
        one = self._with(limit=1)
        items = one._iterate(self._session._start_read(one._config, None, False))  # pyright: ignore[reportPrivateUsage]
        try:
            return next(items, None)
        finally:
            items.close()  # ends the run now, so that its report is complete
            self.report = one.report


class Query(_SyncRun[M]):
    """A query: the items of one partition, of the table or of an index, in sort-key order.

    ```python
    for order in session.query(Order, "u#1", begins_with("order#")).reverse().limit(10):
        ...
    ```
    """

    __slots__ = ()

    def reverse(self) -> Self:
        """Descending sort-key order (`ScanIndexForward=False`)."""
        return self._reversed()


class Scan(_SyncRun[M]):
    """A scan: every item of a table or index, optionally in parallel segments.

    ```python
    for user in session.scan(User, segments=8):
        ...
    ```
    """

    __slots__ = ()
