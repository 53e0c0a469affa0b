"""One flush of a unit of work: the plan taken out of the session, and settling its outcome.

No I/O here either: a facade builds a `FlushPlan`, a driver runs `plan.engine`, and
`absorb`/`settle` hand the results back to the session's state.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Mapping
from typing import Any

from _dynamap.core.engine import (
    BatchRequest,
    FlushEngine,
    GetUnit,
    Ident,
    TableRead,
    Unit,
    WriteUnit,
)
from _dynamap.core.report import FlushReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import DynamapError, FlushError
from _dynamap.expr.names import render_projection
from _dynamap.model.model import Model, model_info
from _dynamap.session.deferred import fail, resolve
from _dynamap.session.handback import (
    INTERRUPTED,
    condition_failure,
    flush_error,
    handed_back,
    resendable,
)
from _dynamap.session.state import PendingGet, PendingWrite, UnitOfWork, decode_error
from _dynamap.session.writes import WriteBack, plan_writes
from _dynamap.transport.wire import RawItem, raw_item

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
        raw_items: bool = False,
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
        self.writes = plan_writes(state, write_back, raw_items=raw_items) if include_writes else {}
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
        try:
            for ident in self.gets:
                del state.gets[ident]
            for ident in self.writes:
                state.writes.pop(ident, None)
        except BaseException:  # an interrupt: no plan to restore yet, so put all back
            for ident, pending in self.gets.items():
                state.gets.setdefault(ident, pending)
            for ident, write in self.queued.items():
                state.writes.setdefault(ident, write)
            raise

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
                    fail(deferred, decode_error(info, ident, exc))

    def conclude(self) -> FlushReport:
        """After the driver returned: `settle`, or `restore` if something cuts that short.

        Settling hands work back only through the FlushError it raises; any other
        exception on the way (an interrupt) would drop the writes taken out of the
        session and not yet handed back, so those go back to being pending.
        """
        try:
            return self.settle()
        except FlushError:
            raise
        except BaseException:
            self.restore()
            raise

    def settle(self) -> FlushReport:
        """Hand results to deferreds and the identity map; raise for what was not done.

        A write not done or of unknown outcome is handed back in the error, and the
        session forgets its key (no instance tracked, not marked deleted), so that a
        later get reads what is stored rather than what failed to be.
        """
        engine, gets = self.engine, self.gets
        self.absorb()
        puts, deletes = self._settle_done()
        failures = [condition_failure(u, self.writes[u.ident][1]) for u in engine.failed]
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
        handed = [handed_back(unit, self.writes) for unit in (*not_done, *unknown)]
        unprocessed, doubtful = handed[: len(not_done)], handed[len(not_done) :]
        error = flush_error(
            engine,
            self.policy,
            held=len(self.held),
            report=report,
            unprocessed=unprocessed,
            doubtful=doubtful,
            failures=failures,
        )
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
        again: its key is forgotten and its deferred fails; so is the key of a versioned
        write-back. Other changed instances not written stay changed.
        """
        with contextlib.suppress(Exception):  # a decode failure is the read's own error
            self.absorb()
        done = {unit.ident for unit in self.engine.written}
        self._settle_done()
        state = self.state
        for ident, (unit, write) in self.writes.items():
            # A versioned write-back that may have landed would expect a stale version.
            maybe = unit.maybe_applied and ident not in done
            if write.write_back and maybe and not resendable(unit, write):
                forget(state, ident)
        for ident, write in self.queued.items():
            if ident in done:
                continue
            unit = self.writes[ident][0]
            if unit.maybe_applied and not resendable(unit, write):
                forget(state, ident)
                if write.result is not None:
                    fail(write.result, DynamapError(INTERRUPTED))
                continue
            newer = state.writes.get(ident)
            if newer is None:
                state.writes[ident] = write
            elif write.result is not None:  # a write queued since is newer: it wins
                fail(write.result, DynamapError(INTERRUPTED))
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
            fail(write.result, decode_error(info, ident, exc))
            return
        vars(instance).update(vars(fresh))
        entry = state.tracked.get(id(instance))
        if entry is not None:
            entry.snapshot = info.codec.snapshot(instance)
            entry.seen = entry.seen_of = None  # changed in place: compare at the next flush
        resolve(write.result, instance)

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
            (unknown if _same_request(unit.request, late.request) else not_done).append(unit)
        return not_done, unknown


def _same_request(request: dict[str, Any], late: dict[str, Any]) -> bool:
    """Whether two write requests are the same, a batched put's item raw or not (a late
    transaction's units carry item dicts, a fast transport's flush RawItems)."""
    if request == late:
        return True
    mine, theirs = request.get("PutRequest"), late.get("PutRequest")
    if mine is None or theirs is None:
        return False
    return _json(mine["Item"]) == _json(theirs["Item"])


def _json(item: Any) -> bytes:
    return item.json if isinstance(item, RawItem) else raw_item(item).json


def forget(state: UnitOfWork, ident: Ident) -> None:
    """Stop tracking the key `ident`: no instance of any model, and not deleted."""
    state.deleted.discard(ident)
    for model in state.table_models.get(ident[0], ()):
        entry = state.identity.pop((model, ident[1]), None)
        if entry is not None:  # untracked for every call (expunge, put under a new key)
            state.tracked.pop(id(entry.instance), None)


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
        # One model read from the table: its items can be read straight into it.
        reader = model_info(next(iter(readers))).item_reader if len(readers) == 1 else None
        reads[table] = TableRead(None if too_long else projection, consistent[table], reader)
    return reads
