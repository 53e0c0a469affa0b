"""Planning write transactions: `session.transaction()` blocks and `flush(atomic=True)`.

Actions are planned with the flush's own write planning (`writes.py`): a transaction
action is a PutItem, UpdateItem or DeleteItem's parameters (conditions, versions and
`ReturnValuesOnConditionCheckFailure=ALL_OLD` included) under a Put, Update or Delete
key, or a ConditionCheck. Limits are checked before anything is sent, and a
transaction is never split. The session's state changes only once the transaction is
applied (see `settle`). No I/O here: a facade runs the plan's engine with a driver.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from _dynamap.codec.size import item_size, value_size
from _dynamap.codec.values import Item
from _dynamap.core.engine import Ident, WriteUnit
from _dynamap.core.report import FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.transact import (
    MAX_ACTIONS,
    MAX_TRANSACTION_BYTES,
    CancellationReason,
    TransactEngine,
    TransactionCanceledError,
)
from _dynamap.errors import DynamapError, FlushError, RequestRejectedError, UnprocessedError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.context import RenderContext
from _dynamap.expr.render import render_expressions
from _dynamap.model.keys import describe_key
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.deferred import fail
from _dynamap.session.flush import forget
from _dynamap.session.handback import INTERRUPTED, handed_back
from _dynamap.session.state import PendingWrite, UnitOfWork, check_update, key_changed
from _dynamap.session.writes import WriteBack, plan_writes, queued_unit

__all__ = [
    "ActionKind",
    "Run",
    "TransactPlan",
    "TxAction",
    "WritePlan",
    "add_action",
    "atomic_flush",
    "cancellation",
    "check_action",
    "describe",
    "write_action",
]

ActionKind = Literal["put", "update", "delete", "check"]
_WIRE = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}
_NOT_SENT_PARAMS = ("ReturnValues", "ReturnConsumedCapacity")  # per-item request options
NO_VALUES = (
    "this update was applied in a transaction, and TransactWriteItems returns no item: "
    "read the item again to see it as stored"
)


@dataclass(eq=False)
class TxAction:
    """One action of a write transaction: a write (`write`) or a check (`condition`)."""

    operation: ActionKind
    info: ModelInfo
    ident: Ident
    key: Item
    write: PendingWrite | None = None
    condition: Condition | None = None
    unit: WriteUnit | None = None  # the write, once encoded


def describe(info: ModelInfo, ident: Ident, key: Item) -> str:
    """An item for messages: `Account pk='acc#1' in 'prefix-accounts'`."""
    return f"{info.name} {describe_key(key)} in {ident[0]!r}"


def write_action(
    state: UnitOfWork,
    operation: Literal["put", "update", "delete"],
    instance: Model,
    condition: Condition | None,
    update: Any = None,
) -> TxAction:
    """A write of `instance`, registered now and encoded when the transaction is sent."""
    info = model_info(type(instance))
    table = state.table(info)
    key, canonical = info.key_of(instance)
    tracked = state.tracked.get(id(instance))
    if tracked is not None and tracked.ident[1] != canonical:
        raise key_changed(info, tracked.ident[1], canonical, f"transaction {operation} refused")
    if update is not None:
        check_update(info, update)
    write = PendingWrite(operation, instance, info, key, condition=condition, update=update)
    return TxAction(operation, info, (table, canonical), key, write=write)


def check_action(
    state: UnitOfWork, model: type[Model], key: tuple[Any, ...], cond: Condition
) -> TxAction:
    """A ConditionCheck of the item of `model` with this key."""
    info = model_info(model)
    table = state.table(info)
    wire_key, canonical = info.key_from_values(key)
    return TxAction("check", info, (table, canonical), wire_key, condition=cond)


def add_action(actions: list[TxAction], action: TxAction) -> None:
    """Append `action`, refusing a 101st action and a second action on one item."""
    for other in actions:
        if other.ident == action.ident:
            raise DynamapError(
                f"transaction: {other.operation} and {action.operation} of "
                f"{describe(action.info, action.ident, action.key)}: DynamoDB refuses two "
                f"actions on one item in a transaction (a check included)"
            )
    if len(actions) >= MAX_ACTIONS:
        raise DynamapError(
            f"transaction: {action.operation} of {describe(action.info, action.ident, action.key)} "
            f"would be action {len(actions) + 1}; a transaction holds at most {MAX_ACTIONS} "
            f"actions and is never split"
        )
    actions.append(action)


def _wire(action: TxAction) -> dict[str, Any]:
    """The TransactItems entry of an action."""
    if action.operation == "check":
        assert action.condition is not None
        params = {"TableName": action.ident[0], "Key": action.key}
        params.update(render_expressions(condition=action.condition, ctx=RenderContext()))
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"ConditionCheck": params}
    unit = action.unit
    assert unit is not None
    if not unit.single:  # a plain put or delete, planned for a batch
        if "PutRequest" in unit.request:
            return {"Put": {"TableName": unit.table, "Item": unit.request["PutRequest"]["Item"]}}
        return {"Delete": {"TableName": unit.table, "Key": unit.request["DeleteRequest"]["Key"]}}
    params = {k: v for k, v in unit.request.items() if k not in _NOT_SENT_PARAMS}
    return {_WIRE[unit.single]: params}


def _size(entry: dict[str, Any]) -> int:
    """What an action adds to the transaction's size: its item, or its key and values."""
    ((_, params),) = entry.items()
    if "Item" in params:
        return item_size(params["Item"])
    values: dict[str, Any] = params.get("ExpressionAttributeValues") or {}
    return item_size(params["Key"]) + sum(value_size(v) for v in values.values())


class WritePlan:
    """One write transaction: its actions, its engine, and settling the session after.

    `atomic` is True for `flush(atomic=True)`: the actions are the session's pending
    writes and changed instances, which stay pending unless the transaction was applied
    (or may have been).
    """

    def __init__(
        self, state: UnitOfWork, actions: list[TxAction], *, atomic: bool, token: str | None = None
    ) -> None:
        self.state = state
        self.actions = actions
        self.atomic = atomic
        self.token = token or str(uuid.uuid4())
        self.engine: TransactEngine | None = None

    def start(self, policy: RetryPolicy, rng: Any, now: float) -> TransactEngine | None:
        """Encode every action and check the limits; the engine, or None if there is nothing."""
        if not self.actions:
            return None
        if len(self.actions) > MAX_ACTIONS:
            raise DynamapError(
                f"a transaction holds at most {MAX_ACTIONS} actions and is never split; this "
                f"one has {len(self.actions)} (first: "
                f"{describe(self.actions[0].info, self.actions[0].ident, self.actions[0].key)})"
            )
        items: list[dict[str, Any]] = []
        sizes: list[int] = []
        for action in self.actions:
            if action.unit is None and action.write is not None:
                action.unit = queued_unit(self.state, action.ident, action.write)
            entry = _wire(action)
            items.append(entry)
            sizes.append(_size(entry))
        if sum(sizes) > MAX_TRANSACTION_BYTES:
            big = self.actions[max(range(len(sizes)), key=sizes.__getitem__)]
            raise DynamapError(
                f"transaction of {len(items)} actions is {sum(sizes):,} bytes, over DynamoDB's "
                f"{MAX_TRANSACTION_BYTES:,}-byte (4 MB) limit; it is never split. The largest "
                f"action is the {big.operation} of {describe(big.info, big.ident, big.key)} "
                f"({max(sizes):,} bytes)"
            )
        self.engine = TransactEngine(
            "TransactWriteItems", items, token=self.token, policy=policy, rng=rng, start=now
        )
        return self.engine

    # -- after sending ----------------------------------------------------------------------

    def settle(self) -> FlushReport:
        """After the driver returned: update the session if applied, else raise."""
        engine = self.engine
        if engine is None:
            return FlushReport()
        outcome = engine.outcome
        if outcome == "done":
            try:
                return self._done()
            except BaseException:
                # An interrupt while recording an applied transaction: record the rest
                # (each step can be repeated), or a write done would stay pending and be
                # sent again (an increment twice). The interrupt then propagates.
                with contextlib.suppress(BaseException):
                    self._done()
                raise
        report = self._report(0, 0)
        if outcome == "cancelled":
            error: FlushError = cancellation(self.actions, engine.reasons or [])
        elif outcome == "unknown":
            error = self._unknown(engine.why)
        else:
            error = self._not_done(outcome)
        error.report = report
        raise error

    def interrupted(self) -> None:
        """An exception cut the sending short: settle what is known, hand nothing back."""
        engine = self.engine
        if engine is None:
            return
        if engine.outcome == "done":
            self._done()
        elif engine.outcome == "unknown":
            with contextlib.suppress(DynamapError):
                self._forget_all(DynamapError(INTERRUPTED))

    def _done(self) -> FlushReport:
        state = self.state
        puts = deletes = 0
        for action in self.actions:
            write = action.write
            if write is None:
                continue
            if self.atomic and state.writes.get(action.ident) is write:
                del state.writes[action.ident]
            if write.operation == "delete":
                deletes += 1
                if not self.atomic:  # a flush's delete was marked when queued
                    forget(state, action.ident)
                    state.deleted.add(action.ident)
                continue
            puts += 1
            instance = write.instance
            if instance is not None:
                version = write.info.version
                if version is not None and write.version is not None:
                    vars(instance)[version.name] = write.version  # advanced now it is done
                if not self.atomic:
                    state.written(instance, write.info, action.ident, write.snapshot)
                else:
                    entry = state.tracked.get(id(instance))
                    if entry is not None and entry.ident == action.ident:
                        entry.snapshot = write.snapshot
                        entry.seen = entry.seen_of = None
            if write.result is not None:
                fail(write.result, DynamapError(NO_VALUES))
        return self._report(puts, deletes)

    def _report(self, puts: int, deletes: int) -> FlushReport:
        engine = self.engine
        assert engine is not None
        return FlushReport(
            items_written=puts,
            items_deleted=deletes,
            requests=engine.stats.requests,
            retries=engine.stats.retries,
            consumed_capacity=dict(engine.stats.capacity),
            items_not_done=len(self.actions) if engine.outcome in ("not_done", "rejected") else 0,
            items_unknown=len(self._writes()) if engine.outcome == "unknown" else 0,
            items_failed=len(self.actions) if engine.outcome == "cancelled" else 0,
        )

    def _writes(self) -> list[TxAction]:
        return [a for a in self.actions if a.write is not None and a.unit is not None]

    def _handed(self) -> list[Unprocessed]:
        writes: dict[Ident, tuple[WriteUnit, PendingWrite]] = {}
        for action in self._writes():
            assert action.unit is not None and action.write is not None
            writes[action.ident] = (action.unit, action.write)
        return [handed_back(unit, writes) for unit, _ in writes.values()]

    def _forget_all(self, error: DynamapError) -> list[Unprocessed]:
        """The writes of unknown outcome leave the session: its keys are read afresh."""
        handed = self._handed()
        for action in self._writes():
            assert action.write is not None
            if self.atomic and self.state.writes.get(action.ident) is action.write:
                del self.state.writes[action.ident]
            forget(self.state, action.ident)
            if action.write.result is not None:
                fail(action.write.result, error)
        return handed

    def _unknown(self, why: str) -> UnprocessedError:
        engine = self.engine
        assert engine is not None
        error = UnprocessedError(
            f"transaction of {len(self.actions)} actions: outcome unknown, it may or may not "
            f"have been applied ({why}); its {len(self._writes())} write(s) are in `unknown`, "
            f"and the session no longer tracks their keys"
        )
        error.unknown = self._forget_all(error)
        return error

    def _not_done(self, outcome: str) -> FlushError:
        engine = self.engine
        assert engine is not None
        if self.atomic:
            where = "its writes stay pending in the session (a later flush sends them)"
            handed: list[Unprocessed] = []
        else:
            where = "its writes are in `unprocessed`"
            handed = self._handed()
        fatal = engine.error
        if outcome == "rejected" and fatal is not None:
            tables = sorted({a.ident[0] for a in self.actions})
            error: FlushError = RequestRejectedError(
                f"TransactWriteItems on {', '.join(map(repr, tables))} was rejected: "
                f"{fatal.code}: {fatal.message}; nothing was applied, {where}",
                operation="TransactWriteItems",
                tables=tables,
                code=fatal.code,
                unprocessed=handed,
            )
            error.__cause__ = fatal
            return error
        return UnprocessedError(
            f"transaction of {len(self.actions)} actions not applied: {engine.why}; {where}",
            unprocessed=handed,
        )


def cancellation(
    actions: list[TxAction], reasons: list[dict[str, Any]], *, kind: str = "transaction"
) -> TransactionCanceledError:
    """The error for a cancelled transaction: one reason per action, in order."""
    entries: list[CancellationReason[Model]] = []
    for i, action in enumerate(actions):
        raw = reasons[i] if i < len(reasons) else {}
        stored: Item | None = raw.get("Item")
        current: Model | None = None
        if stored:
            with contextlib.suppress(Exception):  # an item that does not decode: None
                current = action.info.codec.decode(stored)
        instance = action.write.instance if action.write is not None else None
        entries.append(
            CancellationReason(
                "get" if kind == "read transaction" else action.operation,
                action.ident[0],
                action.key,
                str(raw.get("Code") or "None"),
                str(raw.get("Message") or ""),
                instance,
                current,
                stored,
                action.info.model,
            )
        )
    failed = [(a, r) for a, r in zip(actions, entries, strict=True) if r.failed]
    what = "; ".join(
        f"action {actions.index(a) + 1} ({r.operation} of {describe(a.info, a.ident, a.key)}): "
        f"{r.code}"
        for a, r in failed[:3]
    )
    more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    return TransactionCanceledError(
        f"{kind} of {len(actions)} actions cancelled, nothing applied: {what}{more}",
        reasons=entries,
    )


def atomic_flush(state: UnitOfWork, write_back: WriteBack) -> WritePlan:
    """Every pending write and changed instance, encoded now, as one transaction."""
    actions: list[TxAction] = []
    for ident, (unit, write) in plan_writes(state, write_back).items():
        actions.append(TxAction(write.operation, write.info, ident, write.key, write, unit=unit))
    return WritePlan(state, actions, atomic=True)


class TransactPlan(Protocol):
    """What a facade runs: encode and check (`start`), then `settle`, or `interrupted`."""

    def start(self, policy: RetryPolicy, rng: Any, now: float) -> TransactEngine | None: ...

    def settle(self) -> FlushReport: ...

    def interrupted(self) -> None: ...


Run = Callable[[str, TransactPlan], FlushReport]  # the facade's way to run a plan
