"""One flush of a unit of work: the plan taken out of the session, and settling its outcome.

No I/O here either: a facade builds a `FlushPlan`, a driver runs `plan.engine`, and
`absorb`/`settle` hand the results back to the session's state.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from _dynamap.codec.values import Item
from _dynamap.core.engine import (
    BatchRequest,
    FlushEngine,
    GetUnit,
    Ident,
    TableRead,
    Unit,
    WriteUnit,
)
from _dynamap.core.report import FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import (
    DecodeError,
    DynamapError,
    FlushError,
    RequestRejectedError,
    TableNotFoundError,
    UnprocessedError,
)
from _dynamap.expr.names import render_projection
from _dynamap.model.limits import check_item
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.deferred import fail, resolve
from _dynamap.session.state import PendingGet, PendingWrite, UnitOfWork, unchanged_key

__all__ = ["FlushPlan", "forget", "in_flight_writes"]

_MAX_EXPRESSION = 4096  # DynamoDB's limit on any expression string, in bytes


class FlushPlan:
    """The gets and writes one flush took out of the session, and the engine sending them.

    How it ends: `settle` after the driver returned (raising a FlushError for what
    was not done), or `restore` when an exception cut the flush short.
    """

    def __init__(
        self,
        state: UnitOfWork,
        *,
        include_writes: bool,
        policy: RetryPolicy,
        rng: random.Random,
        start: float,
        in_flight: Mapping[Ident, WriteUnit] | None = None,
    ) -> None:
        """Take the session's pending work (encoding every write first).

        `in_flight` maps keys to writes an earlier flush gave up on while their request
        was in flight: writes of those keys are held back, so that no late request can
        overtake them.
        """
        self.state = state
        self.policy = policy
        # Encode every write before anything is sent, so bad data fails the flush early
        # (and then nothing is taken out of the session).
        self.writes = plan_writes(state) if include_writes else {}
        self.gets = dict(state.gets)
        # The queued writes (not write-backs), to put back if the flush is interrupted.
        self.queued = dict(state.writes) if include_writes else {}
        self.held: dict[Ident, WriteUnit] = {}
        sending = [unit for unit, _ in self.writes.values()]
        if in_flight:
            self.held = {i: in_flight[i] for i in self.writes if i in in_flight}
            sending = [unit for unit in sending if unit.ident not in self.held]
        self.engine = FlushEngine(
            gets=[GetUnit(ident[0], p.key, ident) for ident, p in self.gets.items()],
            writes=sending,
            reads=plan_reads(state, self.gets),
            key_of=state.key_of,
            policy=policy,
            rng=rng,
            start=start,
        )
        for ident in self.gets:
            del state.gets[ident]
        for ident in self.writes:
            state.writes.pop(ident, None)

    @property
    def empty(self) -> bool:
        """True when there is nothing to send."""
        return not self.gets and not self.writes

    def absorb(self) -> None:
        """Decode the items read so far into instances and settle their deferreds.

        An item that does not decode (any exception, e.g. from a validator meeting a value
        another client wrote) fails its own read with a DecodeError; the flush goes on.
        """
        state = self.state
        found, self.engine.found = self.engine.found, {}
        for ident, item in found.items():
            for model, deferred in self.gets[ident].readers.items():
                existing = state.identity.get((model, ident[1]))
                if existing is not None:
                    resolve(deferred, existing.instance)
                    continue
                info = model_info(model)
                try:
                    resolve(deferred, state.load(info, ident, item))
                except Exception as exc:
                    cause = (
                        exc if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
                    )
                    error = DecodeError(f"{info.name} item {ident[1]!r} in {ident[0]!r}: {cause}")
                    error.__cause__ = exc
                    fail(deferred, error)

    def settle(self) -> FlushReport:
        """Hand results to deferreds and the identity map; raise for what was not done.

        A write not done or of unknown outcome is handed back in the error, and the
        session forgets its key (no instance tracked, not marked deleted), so that a
        later get reads what is stored rather than what failed to be.
        """
        engine, gets = self.engine, self.gets
        self.absorb()
        puts, deletes = self._settle_done()
        unfinished = engine.unfinished()
        not_done, unknown = self._split(unfinished)
        report = FlushReport(
            items_read=engine.stats.found,
            items_not_found=engine.stats.missing,
            items_written=puts,
            items_deleted=deletes,
            requests=engine.stats.requests,
            retries=engine.stats.retries,
            consumed_capacity=dict(engine.stats.capacity),
            items_not_done=len(not_done),
            items_unknown=len(unknown),
        )
        if engine.fatal is None and not not_done and not unknown:
            return report
        error = self._flush_error(not_done, unknown, report)
        for unit in unfinished:
            if isinstance(unit, GetUnit):
                for deferred in gets[unit.ident].readers.values():
                    fail(deferred, error)
        for unit in (*not_done, *unknown):
            if isinstance(unit, WriteUnit):
                forget(self.state, unit.ident)
        raise error

    def restore(self) -> None:
        """After an exception cut the flush short: keep what was done, put back the rest.

        No FlushError hands anything back then, so each get and queued write not done
        (including those of unknown outcome: puts and deletes can be resent) is pending
        again, for the next flush. Changed instances not written stay changed.
        """
        with contextlib.suppress(Exception):  # a decode failure is the read's own error
            self.absorb()
        self._settle_done()
        state = self.state
        done = {unit.ident for unit in self.engine.written}
        for ident, write in self.queued.items():
            if ident not in done:
                state.writes.setdefault(ident, write)  # a write queued since is newer
        for ident, pending in self.gets.items():
            waiting = {m: d for m, d in pending.readers.items() if not d.done}
            if not waiting:
                continue
            current = state.gets.setdefault(ident, PendingGet(pending.key, pending.consistent))
            current.consistent = current.consistent or pending.consistent
            for model, deferred in waiting.items():
                current.readers.setdefault(model, deferred)

    def _settle_done(self) -> tuple[int, int]:
        """Resolve the absent keys and record the writes done; count puts and deletes."""
        engine, writes = self.engine, self.writes
        for ident in engine.missing:
            for deferred in self.gets[ident].readers.values():
                resolve(deferred, None)
        engine.missing = set()
        puts = deletes = 0
        for unit in engine.written:
            if unit.kind == "delete":
                deletes += 1
                continue
            puts += 1
            write = writes[unit.ident][1]
            entry = self.state.identity.get((type(write.instance), unit.ident[1]))
            if entry is not None and entry.instance is write.instance:
                entry.snapshot = write.snapshot
        return puts, deletes

    def _split(self, unfinished: list[Unit]) -> tuple[list[Unit], list[WriteUnit]]:
        """What was certainly not done, and the writes that may have been applied."""
        not_done: list[Unit] = []
        unknown: list[WriteUnit] = []
        for unit in unfinished:
            if isinstance(unit, WriteUnit) and unit.maybe_applied:
                unknown.append(unit)
            else:
                not_done.append(unit)
        for ident, late in self.held.items():
            unit = self.writes[ident][0]
            # If the late request carries this very write, it may land: unknown outcome.
            (unknown if unit.request == late.request else not_done).append(unit)
        return not_done, unknown

    def _handed_back(self, unit: Unit) -> Unprocessed:
        if isinstance(unit, GetUnit):
            return Unprocessed("get", unit.table, unit.key)
        write = self.writes[unit.ident][1]
        item = unit.request["PutRequest"]["Item"] if unit.kind == "put" else None
        return Unprocessed(unit.kind, unit.table, write.key, item, write.instance)

    def _flush_error(
        self, not_done: list[Unit], unknown: list[WriteUnit], report: FlushReport
    ) -> FlushError:
        unprocessed = [self._handed_back(unit) for unit in not_done]
        doubtful = [self._handed_back(unit) for unit in unknown]
        counts = (
            f"{len(unprocessed)} key(s)/item(s) not done, "
            f"{len(doubtful)} write(s) of unknown outcome"
        )
        fatal, request = self.engine.fatal, self.engine.fatal_request
        if fatal is not None and request is not None:
            cls = (
                TableNotFoundError
                if fatal.code == "ResourceNotFoundException"
                else RequestRejectedError
            )
            tables = request.tables
            error: FlushError = cls(
                f"{request.operation} on table {', '.join(map(repr, tables))} was rejected: "
                f"{fatal.code}: {fatal.message} ({counts})",
                operation=request.operation,
                tables=tables,
                code=fatal.code,
                unprocessed=unprocessed,
                unknown=doubtful,
            )
            error.__cause__ = fatal
        else:
            error = UnprocessedError(
                f"{counts}: {'; '.join(self._why())}",
                unprocessed=unprocessed,
                unknown=doubtful,
            )
        error.report = report
        return error

    def _why(self) -> list[str]:
        """Why units were given up on, one clause per reason, for the error message."""
        engine, policy = self.engine, self.policy
        reasons: list[str] = []
        if engine.exhausted:
            reasons.append(
                f"{len(engine.exhausted)} used all {policy.max_attempts} attempts "
                f"(last error: {_errors(engine.exhausted)})"
            )
        if engine.expired:
            never = sum(1 for unit in engine.expired if unit.attempts == 0)
            tried = [unit for unit in engine.expired if unit.attempts > 0]
            clause = (
                f"{len(engine.expired)} were waiting when the {policy.deadline:g}s deadline passed"
            )
            if tried:
                most = max(unit.attempts for unit in tried)
                clause += f" after at most {most} attempt(s) (last error: {_errors(tried)})"
            if never:
                clause += f"; {never} of them were never sent"
            reasons.append(clause)
        if engine.abandoned:
            reasons.append(
                f"{len(engine.abandoned)} got no answer: their request was still in flight "
                "when the flush stopped waiting"
            )
        if engine.unsent:
            reasons.append(f"{len(engine.unsent)} were never sent: no worker became free in time")
        if self.held:
            reasons.append(
                f"{len(self.held)} write(s) held back: a request for the same key, which an "
                "earlier flush stopped waiting for, may still be in flight"
            )
        return reasons


def _errors(units: list[Unit]) -> str:
    """The last errors of `units`, most frequent first."""
    counts = Counter(unit.error or "none" for unit in units)
    return ", ".join(error for error, _ in counts.most_common(3))


def forget(state: UnitOfWork, ident: Ident) -> None:
    """Stop tracking the key `ident`: no instance of any model, and not deleted."""
    state.deleted.discard(ident)
    for model in state.table_models.get(ident[0], ()):
        state.identity.pop((model, ident[1]), None)


def in_flight_writes(requests: Iterable[BatchRequest]) -> dict[Ident, WriteUnit]:
    """The writes of requests still in flight, by key (what a new flush must hold back)."""
    return {
        unit.ident: unit
        for request in requests
        for unit in request.units
        if isinstance(unit, WriteUnit)
    }


def plan_reads(state: UnitOfWork, gets: dict[Ident, PendingGet]) -> dict[str, TableRead]:
    """Per table: the merged projection of every model read, and the consistency."""
    models: dict[str, dict[type[Model], None]] = {}
    consistent: dict[str, bool] = {}
    for (table, _), pending in gets.items():
        models.setdefault(table, {}).update(dict.fromkeys(pending.readers))
        consistent[table] = consistent.get(table, False) or pending.consistent
    reads: dict[str, TableRead] = {}
    for table, readers in models.items():
        names = dict.fromkeys(state.table_keys[table][0])
        for model in readers:
            names.update(dict.fromkeys(model_info(model).attributes))
        projection = render_projection(names)
        # Too long to send (several wide views of one table): read whole items.
        too_long = len(projection.expression.encode()) > _MAX_EXPRESSION
        reads[table] = TableRead(None if too_long else projection, consistent[table])
    return reads


def plan_writes(state: UnitOfWork) -> dict[Ident, tuple[WriteUnit, PendingWrite]]:
    """Every queued write and every changed instance, encoded, keyed by identity."""
    planned: dict[Ident, tuple[WriteUnit, PendingWrite]] = {}
    for ident, write in state.writes.items():
        if write.operation == "delete":
            request: dict[str, Any] = {"DeleteRequest": {"Key": write.key}}
        else:
            if write.instance.__dict__ is not write.keyed:  # assigned since put(): recheck
                unchanged_key(write.info, write.instance, ident)
            item = _encode(write.info, write.instance, write.key)
            write.snapshot = write.info.codec.snapshot(write.instance)
            request = {"PutRequest": {"Item": item}}
        planned[ident] = (WriteUnit(ident[0], request, ident), write)
    dirty_by: dict[Ident, str] = {}
    for entry, snapshot in state.changed():
        if entry.ident in planned:
            other = dirty_by.get(entry.ident) or planned[entry.ident][1].info.name
            raise DynamapError(
                f"{entry.info.name} and {other} instances of key {entry.ident[1]!r} in "
                f"table {entry.ident[0]!r} would both be written; put only one of them"
            )
        key = unchanged_key(entry.info, entry.instance, entry.ident)
        item = _encode(entry.info, entry.instance, key)
        write = PendingWrite("put", entry.instance, entry.info, key, snapshot)
        unit = WriteUnit(entry.ident[0], {"PutRequest": {"Item": item}}, entry.ident)
        planned[entry.ident] = (unit, write)
        dirty_by[entry.ident] = entry.info.name
    return planned


def _encode(info: ModelInfo, instance: Model, key: Item) -> Item:
    """Encode a write: errors name the model, the field path and the key; keys and
    index keys are checked against DynamoDB's limits."""
    return check_item(info, info.encode_item(instance, key), key)
