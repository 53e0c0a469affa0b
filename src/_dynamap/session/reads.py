"""`Session.query` and `Session.scan`, and running their pages on the session's pool."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, overload

from _dynamap.core.pager import PageRequest
from _dynamap.core.retry import RetryPolicy
from _dynamap.drivers.threads import Stragglers, drive
from _dynamap.errors import FlushError
from _dynamap.expr.sortkeys import SortCondition
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.model.target import IndexRef
from _dynamap.session.hydrate import hydration_reads, hydration_results
from _dynamap.session.query import Query, Scan
from _dynamap.session.readrun import ReadRun
from _dynamap.session.readspec import (
    Unknown,
    query_config,
    scan_config,
)
from _dynamap.session.state import UnitOfWork
from _dynamap.transport.base import Transport

__all__ = ["SyncReads"]

M = TypeVar("M", bound=Model)
M2 = TypeVar("M2", bound=Model)
M3 = TypeVar("M3", bound=Model)
M4 = TypeVar("M4", bound=Model)

Sort = SortCondition | KeyValue | None


class SyncReads:
    """The read side of `Session`: queries and scans (a mixin; the session has the state)."""

    # Provided by Session.
    transport: Transport
    concurrency: int
    retry: RetryPolicy
    _state: UnitOfWork
    _rng: random.Random
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]

    if TYPE_CHECKING:

        def _enter(self, call: str, *, closing: bool = False) -> None: ...
        def _leave(self) -> None: ...
        def _worker_pool(self) -> ThreadPoolExecutor | None: ...
        def _flush_gets(self) -> None: ...
        def _linger(self) -> float: ...

    # -- queries ----------------------------------------------------------------------------

    @overload
    def query(
        self,
        model: type[M],
        partition: KeyValue,
        sort: Sort = None,
        /,
        *,
        index: IndexRef | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Query[M]: ...
    @overload
    def query(
        self,
        model: tuple[type[M], type[M2]],
        partition: KeyValue,
        sort: Sort = None,
        /,
        *,
        index: IndexRef | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Query[M | M2]: ...
    @overload
    def query(
        self,
        model: tuple[type[M], type[M2], type[M3]],
        partition: KeyValue,
        sort: Sort = None,
        /,
        *,
        index: IndexRef | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Query[M | M2 | M3]: ...
    @overload
    def query(
        self,
        model: tuple[type[M], type[M2], type[M3], type[M4]],
        partition: KeyValue,
        sort: Sort = None,
        /,
        *,
        index: IndexRef | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Query[M | M2 | M3 | M4]: ...
    def query(
        self,
        model: type[Model] | tuple[type[Model], ...],
        partition: KeyValue,
        sort: Sort = None,
        /,
        *,
        index: IndexRef | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Query[Any]:
        """The items of one partition, in sort-key order: `session.query(Order, "u#1")`.

        Nothing is sent until the query is iterated (or asked for a page, a count or
        the first item). Key values are checked now, against the key types of the
        table or index.

        Args:
            model: the model items decode into; or a tuple of models sharing the table,
                each item decoded into the one its `Discriminator()` value names.
            partition: the partition key value.
            sort: a sort-key condition (`begins_with`, `between`, `gt`, `ge`, `lt`,
                `le`), or a bare value for equality.
            index: a secondary index to query, as its declaration or its name.
            hydrate: query a KEYS_ONLY or INCLUDE index for keys, then read the full
                items by key (BatchGetItem through the session).
            unknown: with several models, "error" (DecodeError naming the value) or
                "skip" for items whose discriminator names none of them.
        """
        self._enter("query")
        try:
            config = query_config(
                model, partition, sort, index=index, hydrate=hydrate, unknown=unknown
            )
        finally:
            self._leave()
        return Query(self, config)

    @overload
    def scan(
        self,
        model: type[M],
        /,
        *,
        index: IndexRef | None = None,
        segments: int | None = None,
        segment: tuple[int, int] | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Scan[M]: ...
    @overload
    def scan(
        self,
        model: tuple[type[M], type[M2]],
        /,
        *,
        index: IndexRef | None = None,
        segments: int | None = None,
        segment: tuple[int, int] | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Scan[M | M2]: ...
    @overload
    def scan(
        self,
        model: tuple[type[M], type[M2], type[M3]],
        /,
        *,
        index: IndexRef | None = None,
        segments: int | None = None,
        segment: tuple[int, int] | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Scan[M | M2 | M3]: ...
    def scan(
        self,
        model: type[Model] | tuple[type[Model], ...],
        /,
        *,
        index: IndexRef | None = None,
        segments: int | None = None,
        segment: tuple[int, int] | None = None,
        hydrate: bool = False,
        unknown: Unknown = "error",
    ) -> Scan[Any]:
        """Every item of the table (or an index) that is of `model`'s kind.

        Args:
            model: the model items decode into, or a tuple of models sharing the table.
            index: a secondary index to scan, as its declaration or its name.
            segments: scan in this many parallel segments, concurrently on the
                session's pool (up to its `concurrency` at once).
            segment: `(i, total)`: scan only segment i of total (for distributed workers).
            hydrate: scan a KEYS_ONLY or INCLUDE index, then read full items by key.
            unknown: with several models, "error" or "skip" for items of other kinds.
        """
        self._enter("scan")
        try:
            config = scan_config(
                model,
                index=index,
                segments=segments,
                segment=segment,
                hydrate=hydrate,
                unknown=unknown,
            )
        finally:
            self._leave()
        return Scan(self, config)

    # -- running them -----------------------------------------------------------------------

    def _read_round(self, run: ReadRun) -> bool:
        pager = run.plan(self.retry, self._rng, self._clock())
        if pager is None:
            return False
        self._enter(run.spec.config.operation.lower())
        try:
            stragglers: Stragglers[PageRequest] = {}  # reads: nothing to hold back later
            drive(
                pager,
                self.transport,
                pool=self._worker_pool() if run.spec.config.streams[0] is not None else None,
                concurrency=self.concurrency,
                absorb=_nothing,
                clock=self._clock,
                sleep=self._sleep,
                linger=self._linger(),
                stragglers=stragglers,
            )
        finally:
            self._leave()
        run.absorb(pager)
        if run.spec.target.hydrate:
            self._hydrate(run)
        return True

    def _hydrate(self, run: ReadRun) -> None:
        """Read the full items of the keys an index query returned, through the session."""
        self._enter("query (hydrate)")
        try:
            reads = hydration_reads(self._state, run)
        finally:
            self._leave()
        if not reads:
            return
        # A failed read fails its own deferred: a key of this page that could not be read
        # ends the run (with a cursor) in hydration_results; another pending get's
        # failure is that get's own business.
        with contextlib.suppress(FlushError):
            self._flush_gets()
        hydration_results(run, reads)


def _nothing() -> None:
    return None
