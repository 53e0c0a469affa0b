"""Planning a flush's writes: which go batched, which as their own request, and with what.

A plain put or delete goes in a BatchWriteItem. A write with a condition, update
actions or a version goes as its own PutItem, DeleteItem or UpdateItem (BatchWriteItem
takes no condition). A changed instance is written back as an UpdateItem that SETs
the changed top-level attributes and REMOVEs those that became absent, unless the
session writes back whole items (`write_back="put"`). No I/O here.
"""

from __future__ import annotations

from typing import Any, Literal

from _dynamap.codec.values import Item
from _dynamap.core.engine import Ident, WriteUnit
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Compare, Condition, Function
from _dynamap.expr.context import RenderContext
from _dynamap.expr.operands import Value
from _dynamap.expr.paths import AttrPath
from _dynamap.expr.render import render_expressions
from _dynamap.expr.updates import Action, Update
from _dynamap.model.limits import check_item, encode_json
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.state import Entry, PendingWrite, UnitOfWork, unchanged_key
from _dynamap.transport.wire import RawItem, raw_item

__all__ = ["WriteBack", "is_view", "plan_writes", "queued_unit"]

WriteBack = Literal["update", "put"]
Planned = dict[Ident, tuple[WriteUnit, PendingWrite]]

_OPERATION = {"put": "PutItem", "delete": "DeleteItem", "update": "UpdateItem"}


def plan_writes(
    state: UnitOfWork, write_back: WriteBack = "update", *, raw_items: bool = False
) -> Planned:
    """Every queued write and every changed instance, encoded, keyed by identity.

    With `raw_items` (the transport sends DynamoDB's JSON itself), the item of a batched
    put is turned into its JSON (a RawItem) as soon as it is encoded.
    """
    planned: Planned = {}
    for ident, write in state.writes.items():
        planned[ident] = (_queued_unit(state, ident, write, raw_items), write)
    dirty_by: dict[Ident, str] = {}
    for entry, snapshot in state.changed():
        if entry.ident in planned:
            other = dirty_by.get(entry.ident) or planned[entry.ident][1].info.name
            raise DynamapError(
                f"{entry.info.name} and {other} instances of key {entry.ident[1]!r} in "
                f"table {entry.ident[0]!r} would both be written; put only one of them"
            )
        planned[entry.ident] = _write_back(entry, snapshot, write_back)
        dirty_by[entry.ident] = entry.info.name
    return planned


def queued_unit(state: UnitOfWork, ident: Ident, write: PendingWrite) -> WriteUnit:
    """One write queued by the caller, encoded with its condition and version (a
    transaction's actions are planned so, one by one)."""
    return _queued_unit(state, ident, write)


def _queued_unit(
    state: UnitOfWork, ident: Ident, write: PendingWrite, raw_items: bool = False
) -> WriteUnit:
    info, instance, table = write.info, write.instance, ident[0]
    conditions: list[Condition] = [write.condition] if write.condition is not None else []
    if (
        instance is not None
        and write.operation != "delete"
        and instance.__dict__ is not write.keyed
    ):
        unchanged_key(info, instance, ident)  # assigned since queued: recheck the key
    if write.operation == "delete":
        if instance is not None and info.version is not None:
            conditions.append(_expect(info, write, _loaded_version(state, ident, info, instance)))
        if not conditions:
            return WriteUnit(table, {"DeleteRequest": {"Key": write.key}}, ident)
        params = {"TableName": table, "Key": write.key}
        return _single(table, ident, write, params, _all(conditions))
    if write.operation == "put":
        assert instance is not None
        if raw_items and info.version is None and not conditions:
            # A plain batched put: its JSON straight from the values, if they are plainly
            # valid; anything else takes the checked encoder below.
            raw = encode_json(info, instance)
            if raw is not None:
                write.snapshot = info.codec.snapshot(instance)
                return WriteUnit(table, {"PutRequest": {"Item": RawItem(raw)}}, ident)
        item = encode(info, instance, write.key)
        write.snapshot = info.codec.snapshot(instance)
        if info.version is not None:
            conditions.append(_expect(info, write, _loaded_version(state, ident, info, instance)))
            _advance(info, write, item)
        if not conditions:
            batched = raw_item(item) if raw_items else item  # its JSON while it is hot
            return WriteUnit(table, {"PutRequest": {"Item": batched}}, ident)
        params = {"TableName": table, "Item": item}
        return _single(table, ident, write, params, _all(conditions))
    # An update: the caller's actions, the instance's own unsaved changes, the version.
    assert write.update is not None
    actions = list(write.update.actions)
    if instance is not None:
        entry = state.tracked.get(id(instance))
        snapshot = info.codec.snapshot(instance)
        if entry is not None and entry.snapshot is not None and entry.snapshot != snapshot:
            item = encode(info, instance, write.key)
            # The instance's unsaved changes go along; the caller's own actions win.
            touched = {a.path.parts[0] for a in actions}
            diff = _diff_actions(info, entry.snapshot, snapshot, item)
            actions += [a for a in diff if a.path.parts[0] not in touched]
        write.snapshot = snapshot
        if info.version is not None:
            conditions.append(_expect(info, write, _loaded_version(state, ident, info, instance)))
            actions.append(_set_version(info, write))
    elif info.version is not None:  # by key: no version known, but others must see a change
        actions.append(Action("ADD", _attr(info.version.attr), Value({"N": "1"})))
    if not write.create:
        conditions.append(Function("attribute_exists", _key_path(info)))
    params = {"TableName": table, "Key": write.key, "ReturnValues": "ALL_NEW"}
    cond = _all(conditions) if conditions else None
    return _single(table, ident, write, params, cond, update=Update(actions))


def _write_back(
    entry: Entry, snapshot: tuple[Any, ...], write_back: WriteBack
) -> tuple[WriteUnit, PendingWrite]:
    """A changed instance: an UpdateItem of what changed, or (opted in) a whole-item put."""
    info, instance, ident = entry.info, entry.instance, entry.ident
    key = unchanged_key(info, instance, ident)
    item = encode(info, instance, key)
    write = PendingWrite("put", instance, info, key, snapshot, write_back=True)
    if write_back == "put" and info.version is None:
        view = is_view(info)
        if view is not None:
            raise DynamapError(
                f'write_back="put" refused for {info.name}: {view.name} maps to the same '
                f"table and stores attributes {info.name} lacks, which a whole-item put "
                f'would delete; use the default write_back="update"'
            )
        return WriteUnit(ident[0], {"PutRequest": {"Item": item}}, ident), write
    assert entry.snapshot is not None
    write.baseline = entry.snapshot  # what `FlushError.resend` tracks the instance with again
    write.operation = "update"
    actions = _diff_actions(info, entry.snapshot, snapshot, item)
    write.update = Update(actions)  # what `FlushError.resend` sends again if not done
    # The item must still exist: an update of a deleted item would create a fragment.
    conditions: list[Condition] = [Function("attribute_exists", _key_path(info))]
    if info.version is not None:
        conditions.append(_expect(info, write, entry.snapshot[_version_index(info)]))
        actions.append(_set_version(info, write))
    params = {"TableName": ident[0], "Key": key}
    unit = _single(ident[0], ident, write, params, _all(conditions), update=Update(actions))
    return unit, write


def _diff_actions(
    info: ModelInfo, old: tuple[Any, ...], new: tuple[Any, ...], item: Item
) -> list[Action]:
    """SET each changed top-level attribute that is stored, REMOVE each that became absent."""
    actions: list[Action] = []
    for field, before, after in zip(info.codec.fields, old, new, strict=True):
        if before is after or (before == after and type(before) is type(after)):
            continue
        path = _attr(field.attr)
        value = item.get(field.attr)
        actions.append(
            Action("REMOVE", path) if value is None else Action("SET", path, Value(value))
        )
    return actions


def _single(
    table: str,
    ident: Ident,
    write: PendingWrite,
    params: dict[str, Any],
    condition: Condition | None,
    *,
    update: Update | None = None,
) -> WriteUnit:
    """A write sent on its own, with its expressions rendered into one placeholder set."""
    params.update(render_expressions(condition=condition, update=update, ctx=RenderContext()))
    if condition is not None:
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    params["ReturnConsumedCapacity"] = "TOTAL"
    retry_unclear = update is None or all(_idempotent(a) for a in update.actions)
    unit = WriteUnit(table, params, ident, single=_OPERATION[write.operation])
    unit.retry_unclear = retry_unclear
    return unit


def _idempotent(action: Action) -> bool:
    """True for an action that does the same when applied twice: SET a value, REMOVE."""
    if action.clause == "REMOVE":
        return True
    return action.clause == "SET" and isinstance(action.value, Value)


def _all(conditions: list[Condition]) -> Condition:
    result = conditions[0]
    for condition in conditions[1:]:
        result = result & condition
    return result


def _key_path(info: ModelInfo) -> AttrPath[Any]:
    return _attr(info.key_attrs[0].attr)


def _attr(name: str) -> AttrPath[Any]:
    """The path of a top-level attribute by its stored name."""
    path: AttrPath[Any] = AttrPath(name)
    return path


# -- versions ---------------------------------------------------------------------------------


def _version_index(info: ModelInfo) -> int:
    assert info.version is not None
    return info.codec.fields.index(info.version)


def _loaded_version(
    state: UnitOfWork, ident: Ident, info: ModelInfo, instance: Model
) -> int | None:
    """The version the item should have: as loaded or last written; None for a new item.

    An instance the session never loaded nor wrote expects its own version number,
    or (at 0) no item at all: a new instance is created only if its key is free.
    """
    assert info.version is not None
    entry = state.tracked.get(id(instance))
    if entry is not None and entry.snapshot is not None and entry.ident == ident:
        loaded: int = entry.snapshot[_version_index(info)]
        return loaded
    own: int = instance.__dict__[info.version.name]
    return own or None


def _expect(info: ModelInfo, write: PendingWrite, expected: int | None) -> Condition:
    """`version = :expected`, or for a new item `attribute_not_exists(<partition key>)`."""
    assert info.version is not None
    write.expected = expected
    write.version = (expected or 0) + 1
    if expected is None:
        return Function("attribute_not_exists", _key_path(info))
    return Compare(_attr(info.version.attr), "=", Value({"N": str(expected)}))


def _set_version(info: ModelInfo, write: PendingWrite) -> Action:
    """SET version = the number the write stores (and the snapshot it leaves, with it)."""
    assert info.version is not None and write.version is not None
    if write.snapshot is not None:
        write.snapshot = _with_version(info, write.snapshot, write.version)
    return Action("SET", _attr(info.version.attr), Value({"N": str(write.version)}))


def _advance(info: ModelInfo, write: PendingWrite, item: Item) -> None:
    """Store the next version in a put's item (the instance keeps its own until done)."""
    assert info.version is not None and write.version is not None
    item[info.version.attr] = {"N": str(write.version)}
    if write.snapshot is not None:
        write.snapshot = _with_version(info, write.snapshot, write.version)


def _with_version(info: ModelInfo, snapshot: tuple[Any, ...], version: int) -> tuple[Any, ...]:
    index = _version_index(info)
    return (*snapshot[:index], version, *snapshot[index + 1 :])


def is_view(info: ModelInfo) -> ModelInfo | None:
    """Another model of `info`'s table storing attributes `info` lacks, if there is one.

    Every Model subclass defined so far in the process counts (whatever session saw
    it): a model is a view when another model of its table is wider.
    """
    mine = {f.attr for f in info.codec.fields} | {k.attr for k in info.key_attrs}
    stack: list[type[Model]] = list(Model.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if model is info.model or model.__dynamap_table__ != info.table:
            continue
        if not model.__pydantic_complete__:
            continue
        other = model_info(model)
        if {f.attr for f in other.codec.fields} - mine:
            return other
    return None


def encode(info: ModelInfo, instance: Model, key: Item) -> Item:
    """Encode a write: errors name the model, the field path and the key; keys and
    index keys are checked against DynamoDB's limits."""
    return check_item(info, info.encode_item(instance, key), key)
