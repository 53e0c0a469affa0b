"""One run of a query or scan: which pages to read next, and the items they hold.

Sans-I/O like the flush plan: a facade asks `plan()` for a `Pager` (the next page of
every stream still open), has a driver send it, hands it to `absorb()`, and takes the
items with `drain()`. Items become instances through the session's identity map as
they are handed out, and the position of each stream advances item by item, so that
`cursor()` always resumes right after the last item handed out: nothing is skipped
or repeated, whether a limit stops a page half-way or the caller stops iterating.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from _dynamap.core.cursor import DONE, Cursor, Position, QueryError
from _dynamap.core.pager import Pager, PageRequest, RawPage
from _dynamap.core.report import QueryReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import DecodeError
from _dynamap.model.discriminator import KindMismatch, kind_of
from _dynamap.model.model import Model, ModelInfo
from _dynamap.session.readspec import ReadSpec, check_cursor
from _dynamap.session.state import UnitOfWork, decode_error

__all__ = ["Hydrate", "ReadRun"]

# Reads full items for the keys an index gave: (model, [(table identity, key)...]) ->
# per key, the instance, None (no such item, or of another kind), or the read's error.
Hydrate = Callable[
    [ModelInfo, list[tuple[tuple[str, tuple[Any, ...]], dict[str, Any]]]],
    list["Model | Exception | None"],
]
_SKIP = object()


class ReadRun:
    """The state of one iteration, page or count of a query or scan."""

    def __init__(
        self, spec: ReadSpec, state: UnitOfWork, *, after: Cursor | None, counting: bool = False
    ) -> None:
        self.spec = spec
        self.state = state
        self.counting = counting
        streams = spec.config.streams
        if after is not None:
            check_cursor(spec, after)
            self.positions: list[Position] = list(after.positions)
        else:
            self.positions = [None] * len(streams)
        # The pages of the last round not yet handed out, per stream: (page, next index).
        self._pages: dict[int, tuple[RawPage, int]] = {}
        self._hydrated: dict[int, list[Model | Exception | None]] = {}
        self.handed = 0  # items handed out (for the limit)
        self.requests = self.retries = self.count = self.scanned = 0
        self.capacity: dict[str, float] = {}
        self._by_kind = {i.kind.value: i for i in spec.infos if i.kind is not None}

    # -- what to read next ------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True when the limit is reached or every stream has been read to its end."""
        limit = self.spec.config.limit
        return (limit is not None and self.handed >= limit) or all(
            p == DONE for p in self.positions
        )

    def plan(self, policy: RetryPolicy, rng: random.Random, start: float) -> Pager | None:
        """The next round (one page per open stream), or None when the read is over."""
        if self.finished or self._pages:
            return None
        config = self.spec.config
        base = self.spec.count_params if self.counting else self.spec.params
        size = config.page_size
        if config.limit is not None and not self.spec.filtered and not self.counting:
            remaining = config.limit - self.handed  # no filter: ask for no more than needed
            size = remaining if size is None else min(size, remaining)
        requests: list[PageRequest] = []
        pairs = zip(config.streams, self.positions, strict=True)
        for stream, (segment, position) in enumerate(pairs):
            if position == DONE:
                continue
            params = dict(base)
            if isinstance(position, dict):
                params["ExclusiveStartKey"] = position
            if size is not None:
                params["Limit"] = size
            if segment is not None:
                params["Segment"], params["TotalSegments"] = segment
            requests.append(PageRequest(config.operation, params, stream))
        return Pager(requests, policy=policy, rng=rng, start=start)

    def absorb(self, pager: Pager) -> None:
        """Take a round's pages; raise QueryError (with a cursor) if one could not be read.

        A failed round hands out nothing of it: every stream resumes where it was.
        """
        self.requests += pager.stats.requests
        self.retries += pager.stats.retries
        for table, units in pager.stats.capacity.items():
            self.capacity[table] = self.capacity.get(table, 0.0) + units
        if pager.failed:
            stream, error = next(iter(sorted(pager.failed.items())))
            why = "rejected" if pager.fatal is error else "could not be read"
            raise QueryError(
                f"{self.spec.config.operation} of {self.spec.target.where()}: a page {why} "
                f"({error.code}: {error.message}); resume with the error's cursor",
                code=error.code,
                cursor=self.cursor(),
            )
        for stream in sorted(pager.pages):
            page = pager.pages[stream]
            self.count += page.count
            self.scanned += page.scanned
            if self.counting:
                self._end_page(stream, page)
                self.handed += page.count
            elif page.items:
                self._pages[stream] = (page, 0)
            else:  # empty (e.g. all filtered out): go on from its LastEvaluatedKey
                self._end_page(stream, page)

    def hydration(self) -> list[tuple[tuple[str, tuple[Any, ...]], dict[str, Any]]]:
        """The keys of the round's items, to read in full (hydrated index queries)."""
        info = self.spec.target.info
        keys = [k.attr for k in info.key_attrs]
        wanted: list[tuple[tuple[str, tuple[Any, ...]], dict[str, Any]]] = []
        for stream in sorted(self._pages):
            for item in self._pages[stream][0].items:
                wanted.append(((self.spec.table, info.canonical(item)), {a: item[a] for a in keys}))
        return wanted

    def hydrated(self, results: list[Model | Exception | None]) -> None:
        """The full items for `hydration()`'s keys, in the same order."""
        at = 0
        for stream in sorted(self._pages):
            n = len(self._pages[stream][0].items)
            self._hydrated[stream] = results[at : at + n]
            at += n

    # -- handing items out ------------------------------------------------------------------

    def drain(self) -> Iterator[Any]:
        """Hand out the round's items in order (stream by stream), up to the limit."""
        limit = self.spec.config.limit
        for stream in sorted(self._pages):
            page, index = self._pages[stream]
            while index < len(page.items):
                if limit is not None and self.handed >= limit:
                    self._pages.clear()
                    return
                raw = page.items[index]
                instance = self._instance(stream, index, raw)
                index += 1
                if index == len(page.items):
                    del self._pages[stream]
                    self._end_page(stream, page)
                else:
                    self._pages[stream] = (page, index)
                    self.positions[stream] = self._key(raw)
                if instance is not _SKIP:
                    self.handed += 1
                    yield instance
        self._pages.clear()
        self._hydrated.clear()

    def _end_page(self, stream: int, page: RawPage) -> None:
        self.positions[stream] = DONE if page.last_key is None else page.last_key

    def _key(self, item: dict[str, Any]) -> dict[str, Any]:
        # What DynamoDB would give as LastEvaluatedKey after this item.
        return {a: item[a] for a in self.spec.target.cursor_attrs}

    def _instance(self, stream: int, index: int, item: dict[str, Any]) -> Any:
        hydrated = self._hydrated.get(stream)
        if hydrated is not None:
            found = hydrated[index]
            if isinstance(found, DecodeError) and isinstance(found.__cause__, KindMismatch):
                return _SKIP  # the index holds other kinds than this model's
            if isinstance(found, Exception):
                raise found
            return _SKIP if found is None else found
        info = self._model_for(item)
        if info is None:
            return _SKIP
        ident = (self.spec.table, info.canonical(item))
        state = self.state
        if ident in state.deleted:
            return _SKIP  # deleted in this session
        entry = state.identity.get((info.model, ident[1]))
        if entry is not None:
            return entry.instance  # loaded already: its local changes survive
        try:
            return state.load(info, ident, item)
        except Exception as exc:
            raise decode_error(info, ident, exc) from exc

    def _model_for(self, item: dict[str, Any]) -> ModelInfo | None:
        infos = self.spec.infos
        if len(infos) == 1:
            return infos[0]
        attr = infos[0].kind.attr if infos[0].kind is not None else ""
        value = kind_of(item, attr)
        info = self._by_kind.get(value) if value is not None else None
        if info is None:
            if self.spec.config.unknown == "skip":
                return None
            names = ", ".join(i.name for i in infos)
            raise DecodeError(
                f"an item of {self.spec.table!r} with key "
                f"{ {a: item.get(a) for a in self.spec.target.cursor_attrs} } holds "
                f"{attr}={value!r}, which none of {names} is for; pass unknown='skip' to "
                f"skip such items"
            )
        return info

    # -- where it stands ---------------------------------------------------------------------

    def cursor(self) -> Cursor | None:
        """Where to resume: right after the last item handed out; None when all is read."""
        if all(p == DONE for p in self.positions):
            return None
        spec = self.spec
        return Cursor(
            spec.table,
            spec.target.index_name,
            spec.scope,
            spec.config.streams,
            tuple(self.positions),
        )

    def report(self) -> QueryReport:
        """What the run did so far."""
        return QueryReport(
            requests=self.requests,
            retries=self.retries,
            items=self.handed,
            count=self.count,
            scanned_count=self.scanned,
            consumed_capacity=dict(self.capacity),
        )
