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

from _dynamap.core.engine import (
    BatchRequest,
    FlushEngine,
    GetUnit,
    Ident,
    TableRead,
    Unit,
    WriteUnit,
)
from _dynamap.core.report import ConditionFailure, FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import (
    ConditionFailedError,
    DecodeError,
    DynamapError,
    FlushError,
    RequestRejectedError,
    StaleDataError,
    TableNotFoundError,
    UnprocessedError,
)
from _dynamap.expr.names import render_projection
from _dynamap.model.model import Model, model_info
from _dynamap.session.deferred import fail, resolve
from _dynamap.session.state import PendingGet, PendingWrite, UnitOfWork
from _dynamap.session.writes import WriteBack, plan_writes

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
        write_back: WriteBack = "update",
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
        self.writes = plan_writes(state, write_back) if include_writes else {}
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
        failures = [self._failure(unit) for unit in engine.failed]
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
            items_failed=len(failures),
        )
        if engine.fatal is None and not not_done and not unknown and not failures:
            return report
        error = self._flush_error(not_done, unknown, failures, report)
        for unit in unfinished:
            if isinstance(unit, GetUnit):
                for deferred in gets[unit.ident].readers.values():
                    fail(deferred, error)
        for unit in (*not_done, *unknown, *engine.failed):
            if isinstance(unit, WriteUnit):
                forget(self.state, unit.ident)
                result = self.writes[unit.ident][1].result
                if result is not None:
                    fail(result, error)
        raise error

    def restore(self) -> None:
        """After an exception cut the flush short: keep what was done, put back the rest.

        No FlushError hands anything back then, so each get and queued write not done
        (including plain puts and deletes of unknown outcome, which can be resent) is
        pending again, for the next flush; so is a write whose condition failed. A
        conditional, versioned or update write that may have been applied is not sent
        again: its key is forgotten and its deferred fails. Changed instances not
        written stay changed.
        """
        with contextlib.suppress(Exception):  # a decode failure is the read's own error
            self.absorb()
        done = {unit.ident for unit in self.engine.written}
        self._settle_done()
        state = self.state
        for ident, write in self.queued.items():
            if ident in done:
                continue
            unit = self.writes[ident][0]
            if unit.maybe_applied and not _resendable(unit, write):
                forget(state, ident)
                if write.result is not None:
                    fail(write.result, DynamapError(_INTERRUPTED))
                continue
            newer = state.writes.get(ident)
            if newer is None:
                state.writes[ident] = write
            elif write.result is not None:  # a write queued since is newer: it wins
                fail(write.result, DynamapError(_INTERRUPTED))
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
            stored = unit.answer.get("Attributes") if unit.answer else None
            if write.result is not None and stored is not None:
                self._refresh(unit.ident, write, stored)
                continue
            instance = write.instance
            entry = self.state.tracked.get(id(instance)) if instance is not None else None
            if entry is not None and entry.ident == unit.ident and instance is not None:
                version = write.info.version
                if version is not None and write.version is not None:
                    vars(instance)[version.name] = write.version  # advanced now it is done
                entry.snapshot = write.snapshot
        return puts, deletes

    def _refresh(self, ident: Ident, write: PendingWrite, stored: dict[str, Any]) -> None:
        """After an update: the instance (or a tracked one, or a new one) as stored now."""
        state, info = self.state, write.info
        assert write.result is not None
        instance = write.instance
        if instance is None:
            entry = state.identity.get((info.model, ident[1]))
            instance = entry.instance if entry is not None else None
        try:
            if instance is None:
                resolve(write.result, state.load(info, ident, stored))
                return
            fresh: Model = info.codec.decode(stored)
        except Exception as exc:  # done, but unreadable as the model: re-read it later
            forget(state, ident)
            cause = exc if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
            error = DecodeError(f"{info.name} item {ident[1]!r} in {ident[0]!r}: {cause}")
            error.__cause__ = exc
            fail(write.result, error)
            return
        vars(instance).update(vars(fresh))
        entry = state.tracked.get(id(instance))
        if entry is not None:
            entry.snapshot = info.codec.snapshot(instance)
            entry.seen = entry.seen_of = None  # changed in place: compare at the next flush
        resolve(write.result, instance)

    def _failure(self, unit: WriteUnit) -> ConditionFailure:
        """What a write whose condition was false met: the stored item, decoded if it can be."""
        write = self.writes[unit.ident][1]
        info, stored = write.info, unit.current
        current: Any = None
        if stored is not None:
            with contextlib.suppress(Exception):  # an item that does not decode: None
                current = info.codec.decode(stored)
        stale = False
        if write.version is not None and info.version is not None:
            found = (stored or {}).get(info.version.attr, {}).get("N")
            expected = None if write.expected is None else str(write.expected)
            stale = stored is None or found != expected
        return ConditionFailure(
            unit.kind,
            unit.table,
            write.key,
            write.instance,
            current,
            stored,
            write.condition,
            stale,
        )

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
        if unit.single:
            item = unit.request.get("Item")
        else:
            item = unit.request["PutRequest"]["Item"] if unit.kind == "put" else None
        return Unprocessed(
            unit.kind,
            unit.table,
            write.key,
            item,
            write.instance,
            write.condition,
            write.update,
            _resendable(unit, write),
        )

    def _flush_error(
        self,
        not_done: list[Unit],
        unknown: list[WriteUnit],
        failures: list[ConditionFailure],
        report: FlushReport,
    ) -> FlushError:
        """The error for the flush: a rejection first, then failed conditions, else the rest.

        Whichever class is raised, the error lists all three: `unprocessed`, `unknown`
        and `failures`.
        """
        unprocessed = [self._handed_back(unit) for unit in not_done]
        doubtful = [self._handed_back(unit) for unit in unknown]
        counts = (
            f"{len(unprocessed)} key(s)/item(s) not done, "
            f"{len(doubtful)} write(s) of unknown outcome, "
            f"{len(failures)} write(s) whose condition failed"
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
                failures=failures,
            )
            error.__cause__ = fatal
        elif failures:
            stale = all(f.stale for f in failures)
            failed: type[ConditionFailedError] = StaleDataError if stale else ConditionFailedError
            what = "; ".join(_failed(f) for f in failures[:3])
            more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
            why = self._why()
            error = failed(
                f"{counts}: {what}{more}" + (f"; {'; '.join(why)}" if why else ""),
                unprocessed=unprocessed,
                unknown=doubtful,
                failures=failures,
            )
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
        if engine.unclear:
            reasons.append(
                f"{len(engine.unclear)} conditional or update write(s) got an unclear answer "
                "and were not sent again (they may have been applied)"
            )
        if engine.unsent:
            reasons.append(f"{len(engine.unsent)} were never sent: no worker became free in time")
        if self.held:
            reasons.append(
                f"{len(self.held)} write(s) held back: a request for the same key, which an "
                "earlier flush stopped waiting for, may still be in flight"
            )
        return reasons


_INTERRUPTED = (
    "this write's flush was interrupted after it was sent without an answer: it may or "
    "may not have been applied, and is not sent again (read the item to know)"
)


def _resendable(unit: WriteUnit, write: PendingWrite) -> bool:
    """True for a write that may be sent twice: no condition of its own, no version, and
    no action that counts (ADD, arithmetic, list_append)."""
    return write.condition is None and write.version is None and unit.retry_unclear


def _failed(failure: ConditionFailure) -> str:
    state = "stale version" if failure.stale else "condition false"
    return f"{failure.operation} of {failure.key} in {failure.table!r}: {state}"


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
