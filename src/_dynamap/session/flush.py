"""One flush of a unit of work: the plan taken out of the session, and settling its outcome.

No I/O here either: a facade builds a `FlushPlan`, a driver runs `plan.engine`, and
`absorb`/`settle` hand the results back to the session's state.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import ValidationError

from _dynamap.codec.size import too_large
from _dynamap.codec.values import Item
from _dynamap.core.engine import FlushEngine, GetUnit, Ident, TableRead, Unit, WriteUnit
from _dynamap.core.report import FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import (
    DecodeError,
    DynamapError,
    FlushError,
    ItemTooLargeError,
    RequestRejectedError,
    TableNotFoundError,
    UnprocessedError,
)
from _dynamap.expr.names import render_projection
from _dynamap.model.limits import check_item
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.deferred import fail, resolve
from _dynamap.session.state import PendingGet, PendingWrite, UnitOfWork

__all__ = ["FlushPlan"]

_MAX_EXPRESSION = 4096  # DynamoDB's limit on any expression string, in bytes


class FlushPlan:
    """The gets and writes one flush took out of the session, and the engine sending them."""

    def __init__(
        self,
        state: UnitOfWork,
        *,
        include_writes: bool,
        policy: RetryPolicy,
        rng: random.Random,
        start: float,
    ) -> None:
        self.state = state
        self.policy = policy
        # Encode every write before anything is sent, so bad data fails the flush early.
        self.writes = plan_writes(state) if include_writes else {}
        self.gets = dict(state.gets)
        self.engine = FlushEngine(
            gets=[GetUnit(ident[0], p.key, ident) for ident, p in self.gets.items()],
            writes=[unit for unit, _ in self.writes.values()],
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
        """Decode the items read so far into instances and settle their deferreds."""
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
                except ValidationError as exc:
                    fail(
                        deferred,
                        DecodeError(f"{info.name} item {ident[1]!r} in {ident[0]!r}: {exc}"),
                    )

    def settle(self) -> FlushReport:
        """Hand results to deferreds and the identity map; raise for what was not done."""
        engine, gets, writes = self.engine, self.gets, self.writes
        self.absorb()
        for ident in engine.missing:
            for deferred in gets[ident].readers.values():
                resolve(deferred, None)
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
        report = FlushReport(
            items_read=engine.stats.found,
            items_not_found=engine.stats.missing,
            items_written=puts,
            items_deleted=deletes,
            requests=engine.stats.requests,
            retries=engine.stats.retries,
            consumed_capacity=dict(engine.stats.capacity),
        )
        unfinished = engine.unfinished()
        if engine.fatal is None and not unfinished:
            return report
        error = self._flush_error(unfinished, report)
        for undone in unfinished:
            if isinstance(undone, GetUnit):
                for deferred in gets[undone.ident].readers.values():
                    fail(deferred, error)
        raise error

    def _flush_error(self, unfinished: list[Unit], report: FlushReport) -> FlushError:
        unprocessed: list[Unprocessed] = []
        for unit in unfinished:
            if isinstance(unit, GetUnit):
                unprocessed.append(Unprocessed("get", unit.table, unit.key))
                continue
            write = self.writes[unit.ident][1]
            item = unit.request["PutRequest"]["Item"] if unit.kind == "put" else None
            unprocessed.append(Unprocessed(unit.kind, unit.table, write.key, item, write.instance))
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
                f"{fatal.code}: {fatal.message} ({len(unprocessed)} key(s)/item(s) not done)",
                operation=request.operation,
                tables=tables,
                code=fatal.code,
                unprocessed=unprocessed,
            )
            error.__cause__ = fatal
        else:
            error = UnprocessedError(
                f"{len(unprocessed)} key(s)/item(s) were still unprocessed when the retry "
                f"budget ran out ({self.policy.max_attempts} attempts, "
                f"{self.policy.deadline:g}s deadline)",
                unprocessed=unprocessed,
            )
        error.report = report
        return error


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
        key, _ = entry.info.key_of(entry.instance)
        item = _encode(entry.info, entry.instance, key)
        write = PendingWrite("put", entry.instance, entry.info, key, snapshot)
        unit = WriteUnit(entry.ident[0], {"PutRequest": {"Item": item}}, entry.ident)
        planned[entry.ident] = (unit, write)
        dirty_by[entry.ident] = entry.info.name
    return planned


def _encode(info: ModelInfo, instance: Model, key: Item) -> Item:
    """Encode a write, naming its key in the error when the item is too large."""
    try:
        return check_item(info, info.codec.encode_checked(instance), key)
    except ItemTooLargeError as exc:
        raise too_large(exc.size, f"{info.name} item {key}") from None
