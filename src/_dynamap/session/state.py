"""The unit-of-work state both session facades share: identity map, pending work, snapshots.

No I/O here. A facade registers gets and writes, asks for a `FlushPlan` (the work
taken out of the session for one flush), has a driver send it, and hands the plan
back to be settled (see `flush.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from _dynamap.codec.values import Item
from _dynamap.codec.wireread import DecodedItem
from _dynamap.core.engine import Ident
from _dynamap.errors import DecodeError, DynamapError, InvalidKeyError, ModelDefinitionError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.discriminator import check_kind
from _dynamap.model.keys import CanonicalKey, KeyValue, canonical_value, key_values_by_name
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.deferred import Cell, Deferred, fail, resolve
from _dynamap.session.pending import Entry, Operation, PendingGet, PendingWrite, watch

__all__ = [
    "Entry",
    "Operation",
    "check_update",
    "PendingGet",
    "PendingWrite",
    "UnitOfWork",
    "decode_error",
    "unchanged_key",
]

M = TypeVar("M", bound=Model)
Slot = tuple[type[Model], CanonicalKey]  # an identity-map slot: model class and key
# Makes the deferred results of a facade from the callback that settles one (or None).
CellFactory = Callable[[Callable[[], object] | None], Cell[Any]]


class UnitOfWork:
    """What a session knows between flushes; the facades add only how work is sent."""

    def __init__(self, table_prefix: str = "", cell: CellFactory = Cell) -> None:
        self.table_prefix = table_prefix
        self.cell = cell  # the facade's kind of deferred (the async one can be awaited)
        self.identity: dict[Slot, Entry] = {}
        self.tracked: dict[int, Entry] = {}  # id(instance) -> its entry: one key per instance
        self.deleted: set[Ident] = set()
        self.gets: dict[Ident, PendingGet] = {}
        self.writes: dict[Ident, PendingWrite] = {}
        self.table_keys: dict[str, tuple[tuple[str, ...], str]] = {}
        self.table_models: dict[str, set[type[Model]]] = {}  # every model seen per table
        self.table_of: dict[ModelInfo, str] = {}  # models already checked by table()

    # -- tables and keys --------------------------------------------------------------------

    def table(self, info: ModelInfo) -> str:
        """The (prefixed) table of `info`, checking that its models agree on the key."""
        known_table = self.table_of.get(info)
        if known_table is not None:
            return known_table  # checked and recorded when first seen
        table = self.table_prefix + info.require_table()
        keys = tuple(k.attr for k in info.key_attrs)
        known = self.table_keys.setdefault(table, (keys, info.name))
        if known[0] != keys:
            raise ModelDefinitionError(
                f"{info.name} and {known[1]} both map to table {table!r} with different keys "
                f"({', '.join(keys)} vs {', '.join(known[0])})"
            )
        self.table_models.setdefault(table, set()).add(info.model)
        self.table_of[info] = table
        return table

    def key_of(self, table: str, item: Item) -> Ident:
        """The identity of a key or item of `table`, in canonical form."""
        key: list[Any] = []
        for attr in self.table_keys[table][0]:  # a loop: twice as fast as a generator
            av = item[attr]
            key.append(av["S"] if "S" in av else canonical_value(av))
        return table, tuple(key)

    # -- registering work -------------------------------------------------------------------

    def get(
        self,
        model: type[M],
        key: tuple[KeyValue, ...],
        named: dict[str, KeyValue],
        consistent: bool,
        flush: Callable[[], object] | None,
    ) -> Deferred[M]:
        """Register a read; `flush` is what an unsettled deferred calls to settle itself.

        Key values come positionally (`key`) or by field name (`named`), not both.
        """
        info = model_info(model)
        table = self.table(info)
        if named:
            key = key_values_by_name(info.name, info.key_attrs, info.attr_by_name, key, named)
        wire_key, canonical = info.key_from_values(key)
        return self.get_key(info, (table, canonical), wire_key, consistent, flush)

    def get_key(
        self,
        info: ModelInfo,
        ident: Ident,
        wire_key: Item,
        consistent: bool,
        flush: Callable[[], object] | None,
    ) -> Deferred[Any]:
        """Register a read of an encoded key (`get` once the key values are checked)."""
        model = info.model
        canonical = ident[1]
        entry = self.identity.get((model, canonical))
        if entry is not None:
            return self.ready(entry.instance)
        write = self.writes.get(ident)
        if write is not None and write.operation == "update":
            if write.result is not None and write.info.model is model:
                return write.result  # the item as the update leaves it
        elif write is not None:  # the session's own pending write answers
            answer: Deferred[Any] = self.cell(None)
            self._answer(answer, info, ident, write)
            return answer
        if ident in self.deleted:
            return self.ready(None)
        pending = self.gets.get(ident)
        if pending is None:
            pending = self.gets[ident] = PendingGet(wire_key, consistent)
        pending.consistent = pending.consistent or consistent
        deferred = pending.readers.get(model)
        if deferred is None:
            deferred = pending.readers[model] = self.cell(flush)
        return deferred

    def put(self, instance: Model, condition: Condition | None = None) -> None:
        """Queue a whole-item put of `instance` and track it in the identity map."""
        info, ident = self._register_write("put", instance, condition)
        self.deleted.discard(ident)
        self._drop_other_models(info.model, ident)
        entry = self.identity.get((info.model, ident[1]))
        if entry is None or entry.instance is not instance:
            self._track(Entry(instance, info, ident, entry.snapshot if entry else None))
        self._answer_pending(ident)

    def delete(self, instance: Model, condition: Condition | None = None) -> None:
        """Queue a delete of `instance`'s key and drop the key from the identity map."""
        _, ident = self._register_write("delete", instance, condition)
        self._deleted(ident)

    def delete_key(
        self, model: type[Model], key: tuple[KeyValue, ...], condition: Condition | None
    ) -> None:
        """Queue a delete by key alone and drop the key from the identity map."""
        info = model_info(model)
        table = self.table(info)
        wire_key, canonical = info.key_from_values(key)
        ident = (table, canonical)
        self._queue(ident, PendingWrite("delete", None, info, wire_key, condition=condition))
        self._deleted(ident)

    def update(
        self,
        instance: Model,
        update: Update,
        condition: Condition | None,
        flush: Callable[[], object] | None,
    ) -> Deferred[Any]:
        """Queue an update of `instance`'s item; the deferred resolves to it as stored after."""
        info, ident = self._register_write("update", instance, condition, update, self.cell(flush))
        entry = self.identity.get((info.model, ident[1]))
        if entry is None or entry.instance is not instance:
            self._track(Entry(instance, info, ident, entry.snapshot if entry else None))
        self.deleted.discard(ident)
        result = self.writes[ident].result
        assert result is not None
        return result

    def update_key(
        self,
        model: type[Model],
        key: tuple[KeyValue, ...],
        update: Update,
        condition: Condition | None,
        *,
        create: bool,
        flush: Callable[[], object] | None,
    ) -> Deferred[Any]:
        """Queue an update by key alone; the deferred resolves to the item as stored after."""
        info = model_info(model)
        table = self.table(info)
        wire_key, canonical = info.key_from_values(key)
        ident = (table, canonical)
        check_update(info, update)
        write = PendingWrite(
            "update", None, info, wire_key, condition=condition, update=update, create=create
        )
        write.result = self.cell(flush)
        self._queue(ident, write)
        self.deleted.discard(ident)
        return write.result

    def ready(self, value: M | None) -> Deferred[M]:
        """A deferred of this facade's kind, already settled with `value`."""
        deferred: Deferred[M] = self.cell(None)
        resolve(deferred, value)
        return deferred

    def _deleted(self, ident: Ident) -> None:
        self.deleted.add(ident)
        for model in self.table_models[ident[0]]:
            entry = self.identity.pop((model, ident[1]), None)
            if entry is not None:
                del self.tracked[id(entry.instance)]
        self._answer_pending(ident)

    def _drop_other_models(self, model: type[Model], ident: Ident) -> None:
        """Untrack the unchanged instances of other models of a key that is being put.

        Their state is no longer what the session writes: a get would return it, and a
        later write-back would undo the put. A changed one stays, so that the flush
        refuses the two writes instead of choosing one silently.
        """
        for other in self.table_models[ident[0]]:
            if other is model:
                continue
            entry = self.identity.get((other, ident[1]))
            if entry is None or (
                entry.snapshot is not None
                and entry.info.codec.snapshot(entry.instance) != entry.snapshot
            ):
                continue
            del self.identity[(other, ident[1])]
            self.tracked.pop(id(entry.instance), None)

    def _register_write(
        self,
        operation: Operation,
        instance: Model,
        condition: Condition | None = None,
        update: Update | None = None,
        result: Deferred[Any] | None = None,
    ) -> tuple[ModelInfo, Ident]:
        """Queue a write (replacing any earlier plain one for the key); return its identity."""
        info = model_info(type(instance))
        table = self.table(info)
        key, canonical = info.key_of(instance)
        tracked = self.tracked.get(id(instance))
        if tracked is not None and tracked.ident[1] != canonical:
            raise key_changed(info, tracked.ident[1], canonical, f"{operation} refused")
        if update is not None:
            check_update(info, update)
        ident = (table, canonical)
        keyed = instance.__dict__ if operation != "delete" and watch(info)[0] else None
        write = PendingWrite(
            operation, instance, info, key, keyed=keyed, condition=condition, update=update
        )
        write.result = result
        if operation == "delete":  # to resend it by this key, whatever the instance holds then
            write.key_values = {k.name: instance.__dict__[k.name] for k in info.key_attrs}
        self._queue(ident, write)
        return info, ident

    def _queue(self, ident: Ident, write: PendingWrite) -> None:
        """Queue `write`; a conditional or update write never replaces another, nor is replaced.

        For each key one write goes per flush; replacing a plain put or delete with a
        newer one is what the caller asked for, but dropping a condition or an update
        (an increment) silently would lose it.
        """
        earlier = self.writes.get(ident)
        if earlier is not None and (earlier.special or write.special):
            raise DynamapError(
                f"{write.info.name} key {ident[1]!r} in table {ident[0]!r} already has a "
                f"pending {earlier.operation}; a conditional write or an update cannot "
                f"replace another write of its key or be replaced: flush first "
                f"(combine update actions with &)"
            )
        self.writes[ident] = write

    def _answer_pending(self, ident: Ident) -> None:
        """Settle reads queued for a key the session has just written: they see the write."""
        pending = self.gets.pop(ident, None)
        if pending is not None:
            write = self.writes[ident]
            for model, deferred in pending.readers.items():
                self._answer(deferred, model_info(model), ident, write)

    def _answer(
        self, deferred: Deferred[Any], info: ModelInfo, ident: Ident, write: PendingWrite
    ) -> None:
        """Settle a read of `info`'s model from the session's pending write of its key."""
        if write.operation == "delete" or write.instance is None:
            resolve(deferred, None)
        elif type(write.instance) is info.model:
            resolve(deferred, write.instance)
        else:  # another model of the table was put: read this one from that item
            try:
                resolve(deferred, self.load(info, ident, write.info.codec.encode(write.instance)))
            except Exception as exc:  # any failure is this read's own, as for a flushed read
                fail(deferred, decode_error(info, ident, exc))

    def discard_pending(self, reason: str) -> None:
        """Drop pending work unsent; its deferred reads fail with `reason`."""
        never = DynamapError(reason)
        for pending in self.gets.values():
            for deferred in pending.readers.values():
                fail(deferred, never)
        for write in self.writes.values():
            if write.result is not None:
                fail(write.result, never)
        self.gets.clear()
        self.writes.clear()

    # -- the identity map -------------------------------------------------------------------

    def load(self, info: ModelInfo, ident: Ident, item: Item) -> Model:
        """Decode an item read from the table and track the instance."""
        instance: Model
        if isinstance(item, DecodedItem):  # read straight into its model (wireread.py)
            instance = decoded_instance(info, item)
        else:
            check_kind(info.kind, info.name, item)
            instance = info.codec.decode(item)
        snapshot = info.codec.snapshot(instance)
        entry = Entry(instance, info, ident, snapshot)
        if watch(info)[1]:
            entry.seen, entry.seen_of = instance.__dict__, snapshot
        self._track(entry)
        return instance

    def written(self, instance: Model, info: ModelInfo, ident: Ident, snapshot: Any) -> None:
        """After a write done outside a flush (a transaction): track `instance` as stored.

        As for a flushed put: the key is no longer deleted, unchanged instances of other
        models of the key give way, and `snapshot` is the state now stored.
        """
        self.deleted.discard(ident)
        self._drop_other_models(info.model, ident)
        entry = self.identity.get((info.model, ident[1]))
        if entry is not None and entry.instance is instance:
            entry.snapshot = snapshot
            entry.seen = entry.seen_of = None  # compare it at the next flush
        else:
            self._track(Entry(instance, info, ident, snapshot))

    def _track(self, entry: Entry) -> None:
        slot = (entry.info.model, entry.ident[1])
        replaced = self.identity.get(slot)
        if replaced is not None:
            del self.tracked[id(replaced.instance)]
        self.identity[slot] = entry
        self.tracked[id(entry.instance)] = entry

    def retrack(self, instance: Model, baseline: tuple[Any, ...]) -> None:
        """Track `instance` again as changed from `baseline` (a write-back handed back).

        The next flush writes back what differs between `baseline`, the state last
        known to be stored, and the instance's state then.
        """
        info = model_info(type(instance))
        table = self.table(info)
        ident = (table, info.key_of(instance)[1])
        current = self.identity.get((info.model, ident[1]))
        if (
            current is not None
            and current.instance is not instance
            and current.snapshot is not None
            and info.codec.snapshot(current.instance) != current.snapshot
        ):
            # An unchanged instance loaded since gives way, as to a put; a changed one
            # would be a second write of the key: the caller must choose.
            raise DynamapError(
                f"{info.name} {ident[1]!r} in {table!r}: another instance of this key is "
                f"tracked and changed; resend refused, make the change on one of them"
            )
        self._track(Entry(instance, info, ident, baseline))

    def expunge(self, instance: Model) -> None:
        """Stop tracking `instance` (if tracked); its queued explicit write stays queued."""
        entry = self.tracked.pop(id(instance), None)
        if entry is not None:
            del self.identity[(entry.info.model, entry.ident[1])]

    def clear(self) -> None:
        """Forget every tracked instance and every delete already sent; keep pending work."""
        self.identity.clear()
        self.tracked.clear()
        self.deleted.clear()  # a pending delete still answers gets of its key (see get())

    def changed(self) -> list[tuple[Entry, tuple[Any, ...]]]:
        """Loaded or written instances whose state differs from their snapshot, not yet queued.

        Costs one identity check per untouched instance of an immutable-only model, and
        one snapshot per other instance: those can change in place, without assignment.
        """
        found: list[tuple[Entry, tuple[Any, ...]]] = []
        writes, deleted = self.writes, self.deleted
        for entry in self.identity.values():
            if entry.instance.__dict__ is entry.seen and entry.snapshot is entry.seen_of:
                continue  # no field assigned since it equalled this snapshot
            if entry.snapshot is None or (deleted and entry.ident in deleted):
                continue
            # Both are empty after a flush: then no key is hashed (cold, on large maps).
            explicit = writes.get(entry.ident) if writes else None
            if explicit is not None and explicit.instance is entry.instance:
                continue  # already planned from put() or update()
            snapshot = entry.info.codec.snapshot(entry.instance)
            if snapshot != entry.snapshot:
                found.append((entry, snapshot))
            elif watch(entry.info)[1]:  # assigned, but equal: skip it from now on
                entry.seen, entry.seen_of = entry.instance.__dict__, entry.snapshot
        return found


def decoded_instance(info: ModelInfo, item: DecodedItem) -> Model:
    """The instance of an item read straight into its model, which must be `info`'s: the
    flush reads a table that way only when one model reads it."""
    reader = item.reader
    if reader.model is not info.model:  # not a whole item: it cannot be read otherwise
        raise DynamapError(
            f"{info.name}: an item read as {reader.model.__qualname__} cannot be read as "
            f"another model"
        )
    instance: Model = reader.instance(item)
    return instance


def check_update(info: ModelInfo, update: Update) -> None:
    """Refuse update actions on the version attribute (the session maintains it)."""
    version = info.version
    if version is not None and any(a.path.parts[0] == version.attr for a in update.actions):
        raise DynamapError(
            f"{info.name}.{version.name} is the Version() field: the session sets it on "
            f"every write; do not update it yourself"
        )


def unchanged_key(info: ModelInfo, instance: Model, ident: Ident) -> Item:
    """`instance`'s key as an item, refusing a key that is no longer the one of `ident`."""
    key, canonical = info.key_of(instance)
    if canonical != ident[1]:
        raise key_changed(info, ident[1], canonical, "nothing was sent")
    return key


def key_changed(info: ModelInfo, old: CanonicalKey, new: CanonicalKey, what: str) -> DynamapError:
    """The error for a tracked instance whose key attributes were assigned new values."""
    attrs = info.key_attrs
    fields = [k.name for k, a, b in zip(attrs, old, new, strict=True) if a != b]
    before = {k.name: v for k, v in zip(attrs, old, strict=True)}
    after = {k.name: v for k, v in zip(attrs, new, strict=True)}
    return InvalidKeyError(
        f"{' and '.join(f'{info.name}.{f}' for f in fields)} of an instance tracked under key "
        f"{before} was changed: its key is now {after}; {what}. The key of a loaded or put "
        f"instance cannot change: set it back, or expunge the instance from the session. "
        f"To move an item, delete it and put a copy with the new key"
    )


def decode_error(info: ModelInfo, ident: Ident, exc: Exception) -> DecodeError:
    """The error for an item that does not decode as the model it is read into.

    Any exception counts (a validator meeting a value another client wrote, too):
    it names the model, the key and the cause.
    """
    cause = exc if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
    error = DecodeError(f"{info.name} item {ident[1]!r} in {ident[0]!r}: {cause}")
    error.__cause__ = exc
    return error


def ready(value: M | None) -> Deferred[M]:
    """A deferred that is already settled with `value`."""
    deferred: Deferred[M] = Cell()
    resolve(deferred, value)
    return deferred
