"""The flush engine: plans requests, reads their answers and decides retries.

Gets go in BatchGetItem, plain puts and deletes in BatchWriteItem; conditional,
versioned and update writes each go as their own PutItem, DeleteItem or UpdateItem,
through the same pool and on the same retry budget. A failed condition is final.

Pure code with no I/O: a driver asks `next_request(now)` for work, sends it however
it likes (threads, asyncio), and feeds back `on_response` or `on_error`. Time and
randomness come from the caller, so tests can run it with a fake clock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from _dynamap.codec.wireread import BatchGetReader
from _dynamap.core.retry import RetryPolicy, is_retryable, outcome_unknown
from _dynamap.core.units import (
    MAX_GET_KEYS,
    MAX_WRITE_ITEMS,
    NO_ANSWER,
    BatchRequest,
    GetUnit,
    Ident,
    KeyOf,
    Operation,
    TableRead,
    Unit,
    WriteUnit,
)
from _dynamap.errors import TransportError

__all__ = [
    "BatchRequest",
    "FlushEngine",
    "GetUnit",
    "TableRead",
    "WriteUnit",
    "MAX_GET_KEYS",
    "MAX_WRITE_ITEMS",
    "CONDITION_FAILED",
    "Ident",
    "Unit",
]

CONDITION_FAILED = "ConditionalCheckFailedException"

log = logging.getLogger("dynamap")

_OPERATIONS: dict[str, Operation] = {
    "PutItem": "PutItem",
    "DeleteItem": "DeleteItem",
    "UpdateItem": "UpdateItem",
}
_SINGLE = frozenset(_OPERATIONS)


@dataclass
class EngineStats:
    """What happened during a flush, for the report."""

    requests: int = 0
    retries: int = 0
    found: int = 0
    missing: int = 0
    capacity: dict[str, float] = field(default_factory=dict[str, float])


class _Queue:
    """Units waiting to be sent, ordered by the time they may go (then FIFO)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Unit]] = []
        self._seq = itertools.count()

    def push(self, unit: Unit, ready_at: float = 0.0) -> None:
        heapq.heappush(self._heap, (ready_at, next(self._seq), unit))

    def extend(self, units: Iterable[Unit]) -> None:
        """Queue fresh units, ready now, in order."""
        if self._heap:
            for unit in units:
                self.push(unit)
            return
        # Equal times and rising sequence numbers: the list is already a valid heap.
        self._heap = [(0.0, next(self._seq), unit) for unit in units]

    def take(self, now: float, limit: int) -> list[Unit]:
        taken: list[Unit] = []
        heap = self._heap
        while heap and len(taken) < limit and heap[0][0] <= now:
            taken.append(heapq.heappop(heap)[2])
        return taken

    def next_ready(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def drain(self) -> list[Unit]:
        units = [entry[2] for entry in sorted(self._heap)]
        self._heap.clear()
        return units

    def __len__(self) -> int:
        return len(self._heap)


class FlushEngine:
    """Schedules the gets and writes of one flush and tracks what became of each."""

    def __init__(
        self,
        *,
        gets: Iterable[GetUnit] = (),
        writes: Iterable[WriteUnit] = (),
        reads: dict[str, TableRead] | None = None,
        key_of: KeyOf,
        policy: RetryPolicy,
        rng: random.Random,
        start: float,
    ) -> None:
        self.reads = reads or {}
        self.key_of = key_of
        self.policy = policy
        self.rng = rng
        self.deadline = start + policy.deadline
        self.stats = EngineStats()
        self._gets = _Queue()
        self._writes = _Queue()
        self._singles = _Queue()
        self._gets.extend(gets)
        writes = list(writes)
        self._writes.extend(w for w in writes if not w.single)
        self._singles.extend(w for w in writes if w.single)
        # Items read and not yet taken by the driver (it drains them after each answer,
        # so a large flush never holds every raw item at once).
        self.found: dict[Ident, dict[str, Any]] = {}
        self.missing: set[Ident] = set()
        self.written: list[WriteUnit] = []
        # What was not done, by why: used all attempts; the deadline passed while waiting
        # (to be sent or retried); in flight when the driver stopped waiting; in the request
        # DynamoDB rejected; never sent because the flush stopped (rejection, interrupt).
        self.exhausted: list[Unit] = []
        self.expired: list[Unit] = []
        self.abandoned: list[Unit] = []
        self.rejected: list[Unit] = []
        self.unsent: list[Unit] = []
        # Single writes whose condition was false (final), and those left of unknown
        # outcome without a retry: a condition failing after an unclear attempt may have
        # failed against that very attempt, and an increment must not be sent twice.
        self.failed: list[WriteUnit] = []
        self.unclear: list[WriteUnit] = []
        self.fatal: TransportError | None = None
        self.fatal_request: BatchRequest | None = None
        self.stopped = False
        self._in_flight = 0

    # -- planning ---------------------------------------------------------------------------

    def next_request(self, now: float) -> BatchRequest | None:
        """The next request to send at time `now`, or None if nothing is ready."""
        if self.fatal is not None or self.stopped:
            return None
        if now >= self.deadline:
            self._expire()
            return None
        units = self._gets.take(now, MAX_GET_KEYS)
        if units:
            request = self._get_request(units)
        elif units := self._writes.take(now, MAX_WRITE_ITEMS):
            request = self._write_request(units)
        elif units := self._singles.take(now, 1):
            unit = units[0]
            assert isinstance(unit, WriteUnit)
            request = BatchRequest(_OPERATIONS[unit.single], unit.request, units)
        else:
            return None
        for unit in units:
            unit.attempts += 1
            if unit.attempts > 1:
                self.stats.retries += 1
        self.stats.requests += 1
        self._in_flight += 1
        log.debug(
            "%s: %d %s over %d table(s)",
            request.operation,
            len(units),
            "keys" if request.operation == "BatchGetItem" else "items",
            len(request.tables),
        )
        return request

    def _get_request(self, units: list[Unit]) -> BatchRequest:
        items: dict[str, dict[str, Any]] = {}
        for unit in units:
            entry = items.get(unit.table)
            if entry is None:
                read = self.reads.get(unit.table, TableRead(None, False))
                entry = items[unit.table] = {"Keys": []}
                if read.projection is not None:
                    entry.update(read.projection.request_params())
                if read.consistent:
                    entry["ConsistentRead"] = True
            assert isinstance(unit, GetUnit)
            entry["Keys"].append(unit.key)
        params = {"RequestItems": items, "ReturnConsumedCapacity": "TOTAL"}
        request = BatchRequest("BatchGetItem", params, units)
        readers = {t: r.reader if (r := self.reads.get(t)) else None for t in items}
        if any(readers.values()):
            request.reader = BatchGetReader(readers)
        return request

    def _write_request(self, units: list[Unit]) -> BatchRequest:
        items: dict[str, list[dict[str, Any]]] = {}
        for unit in units:
            assert isinstance(unit, WriteUnit)
            items.setdefault(unit.table, []).append(unit.request)
        params = {"RequestItems": items, "ReturnConsumedCapacity": "TOTAL"}
        return BatchRequest("BatchWriteItem", params, units)

    def next_wakeup(self) -> float | None:
        """When waiting work becomes ready; None if there is none (or nothing more will go)."""
        if self.fatal is not None or self.stopped:
            return None
        queues = (self._gets, self._writes, self._singles)
        times = [t for t in (q.next_ready() for q in queues) if t is not None]
        return min(times) if times else None

    @property
    def idle(self) -> bool:
        """True when nothing is in flight and nothing more will be sent."""
        return self._in_flight == 0 and self.next_wakeup() is None

    # -- answers ----------------------------------------------------------------------------

    def on_response(self, request: BatchRequest, response: dict[str, Any], now: float) -> None:
        """Account for a successful answer: results, unprocessed work, consumed capacity."""
        if request.settled:
            return
        request.settled = True
        self._in_flight -= 1
        capacity: list[dict[str, Any]] | dict[str, Any] = response.get("ConsumedCapacity") or []
        for cap in [capacity] if isinstance(capacity, dict) else capacity:
            table = cap.get("TableName", "?")
            self.stats.capacity[table] = self.stats.capacity.get(table, 0.0) + float(
                cap.get("CapacityUnits", 0.0)
            )
        if request.operation == "BatchWriteItem" and not response.get("UnprocessedItems"):
            self.written.extend(u for u in request.units if isinstance(u, WriteUnit))
            return  # all done: no need to match anything by key
        pending = {unit.ident: unit for unit in request.units}
        if request.operation in _SINGLE:
            single = request.units[0]
            assert isinstance(single, WriteUnit)
            single.answer = response
            self.written.append(single)
        elif request.operation == "BatchGetItem":
            unprocessed: dict[str, dict[str, Any]] = response.get("UnprocessedKeys") or {}
            responses: dict[str, list[dict[str, Any]]] = response.get("Responses") or {}
            for table, entry in unprocessed.items():
                for key in entry.get("Keys", ()):
                    self._retry(pending.pop(self.key_of(table, key), None), now, "UnprocessedKeys")
            for table, found in responses.items():
                for item in found:
                    ident = self.key_of(table, item)
                    if pending.pop(ident, None) is not None:
                        self.found[ident] = item
                        self.stats.found += 1
            self.missing.update(pending)  # asked, answered, and absent
            self.stats.missing += len(pending)
        else:
            undone: dict[str, list[dict[str, Any]]] = response.get("UnprocessedItems") or {}
            for table, requests in undone.items():
                for write in requests:
                    body = write.get("PutRequest", {}).get("Item") or write["DeleteRequest"]["Key"]
                    unit = pending.pop(self.key_of(table, body), None)
                    self._retry(unit, now, "UnprocessedItems")
            self.written.extend(u for u in pending.values() if isinstance(u, WriteUnit))

    def on_error(self, request: BatchRequest, error: TransportError, now: float) -> None:
        """Account for a failed call: retry its units, or stop the flush on a fatal error."""
        if request.settled:
            return
        request.settled = True
        self._in_flight -= 1
        if outcome_unknown(error.code, error.status):
            for unit in request.units:
                if isinstance(unit, WriteUnit):
                    unit.maybe_applied = True
        if error.code == CONDITION_FAILED and request.operation in _SINGLE:
            single = request.units[0]
            assert isinstance(single, WriteUnit)
            single.error = error.code
            if single.maybe_applied:  # it may have failed against our own earlier attempt
                self.unclear.append(single)
            else:
                single.current = error.details.get("Item")
                self.failed.append(single)
            return
        if is_retryable(error.code, error.status):
            log.debug("%s failed with %s; retrying its units", request.operation, error.code)
            for unit in request.units:
                if isinstance(unit, WriteUnit) and unit.maybe_applied and not unit.retry_unclear:
                    unit.error = error.code
                    self.unclear.append(unit)  # an increment must not be sent twice
                else:
                    self._retry(unit, now, error.code)
            return
        log.debug("%s failed with %s; stopping the flush", request.operation, error.code)
        if self.fatal is None:
            self.fatal, self.fatal_request = error, request
        for unit in request.units:
            unit.error = error.code
        self.rejected.extend(request.units)

    def abandon(self, request: BatchRequest) -> None:
        """Give up on a request still in flight: its writes may or may not be applied."""
        if request.settled:
            return
        request.settled = True
        self._in_flight -= 1
        for unit in request.units:
            unit.error = NO_ANSWER
            if isinstance(unit, WriteUnit):
                unit.maybe_applied = True
        self.abandoned.extend(request.units)

    def withdraw(self, request: BatchRequest) -> None:
        """Take back a request that was never sent: its units are not done (as yet)."""
        if request.settled:
            return
        request.settled = True
        self._in_flight -= 1
        for unit in request.units:
            unit.attempts -= 1
        self.unsent.extend(request.units)

    def stop(self) -> None:
        """Send nothing more (the flush is interrupted); answers in flight still count."""
        self.stopped = True

    def may_send(self, now: float) -> bool:
        """Whether a request taken earlier may still go out at `now`: not after a fatal
        error, a stop, or the deadline (`next_request` would give nothing then)."""
        return self.fatal is None and not self.stopped and now < self.deadline

    def requeue(self, request: BatchRequest) -> None:
        """Take back a request the driver took ahead but never sent: its units wait in
        the queue again as if it had never been taken (the deadline, a stop or a fatal
        error then deals with them as with any waiting unit)."""
        if request.settled:
            return
        request.settled = True
        self._in_flight -= 1
        self.stats.requests -= 1
        for unit in request.units:
            unit.attempts -= 1
            if unit.attempts > 0:
                self.stats.retries -= 1
            if isinstance(unit, GetUnit):
                self._gets.push(unit)
            else:
                (self._singles if unit.single else self._writes).push(unit)

    def _retry(self, unit: Unit | None, now: float, error: str) -> None:
        if unit is None:
            return  # an answer about something we did not ask for
        unit.error = error
        delay = self.policy.delay(unit.attempts, self.rng)
        if unit.attempts >= self.policy.max_attempts:
            self.exhausted.append(unit)
        elif now + delay >= self.deadline:
            self.expired.append(unit)
        else:
            if isinstance(unit, GetUnit):
                queue = self._gets
            else:
                queue = self._singles if unit.single else self._writes
            queue.push(unit, now + delay)

    def _expire(self) -> None:
        for queue in (self._gets, self._writes, self._singles):
            self.expired.extend(queue.drain())

    def unfinished(self) -> list[Unit]:
        """Everything not done: given up on, rejected, unclear, or never sent.

        Writes whose condition failed are not in it: they are `failed`, and final.
        """
        left = [*self._gets.drain(), *self._writes.drain(), *self._singles.drain()]
        (self.unsent if self.fatal is not None or self.stopped else self.expired).extend(left)
        return [
            *self.exhausted,
            *self.expired,
            *self.abandoned,
            *self.rejected,
            *self.unclear,
            *self.unsent,
        ]
