"""The unit-of-work state both session facades share: identity map, pending work, snapshots.

No I/O here. A facade registers gets and writes, asks for a `FlushPlan` (the work
taken out of the session for one flush), has a driver send it, and hands the plan
back to be settled (see `flush.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from _dynamap.codec.values import Item
from _dynamap.core.engine import Ident
from _dynamap.errors import DynamapError, ModelDefinitionError
from _dynamap.model.keys import CanonicalKey, KeyValue, canonical_value, key_values_by_name
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.session.deferred import Deferred, fail, resolve

__all__ = ["Entry", "PendingGet", "PendingWrite", "UnitOfWork"]

M = TypeVar("M", bound=Model)


@dataclass(eq=False, slots=True)
class Entry:
    """An instance in the identity map; `snapshot` is its state as last read or written."""

    instance: Model
    info: ModelInfo
    ident: Ident
    snapshot: tuple[Any, ...] | None


@dataclass(eq=False, slots=True)
class PendingGet:
    """A key to read at the next flush, and the deferred result of each model asking."""

    key: Item
    consistent: bool
    readers: dict[type[Model], Deferred[Any]] = field(
        default_factory=dict[type[Model], "Deferred[Any]"]
    )


@dataclass(eq=False, slots=True)
class PendingWrite:
    """A put or delete to send at the next flush."""

    operation: Literal["put", "delete"]
    instance: Model
    info: ModelInfo
    key: Item
    snapshot: tuple[Any, ...] | None = None  # the state being written, once planned


class UnitOfWork:
    """What a session knows between flushes; the facades add only how work is sent."""

    def __init__(self, table_prefix: str = "") -> None:
        self.table_prefix = table_prefix
        self.identity: dict[tuple[type[Model], CanonicalKey], Entry] = {}
        self.deleted: set[Ident] = set()
        self.gets: dict[Ident, PendingGet] = {}
        self.writes: dict[Ident, PendingWrite] = {}
        self.table_keys: dict[str, tuple[tuple[str, ...], str]] = {}
        self.table_models: dict[str, set[type[Model]]] = {}  # every model seen per table

    # -- tables and keys --------------------------------------------------------------------

    def table(self, info: ModelInfo) -> str:
        """The (prefixed) table of `info`, checking that its models agree on the key."""
        table = self.table_prefix + info.require_table()
        keys = tuple(k.attr for k in info.key_attrs)
        known = self.table_keys.setdefault(table, (keys, info.name))
        if known[0] != keys:
            raise ModelDefinitionError(
                f"{info.name} and {known[1]} both map to table {table!r} with different keys "
                f"({', '.join(keys)} vs {', '.join(known[0])})"
            )
        self.table_models.setdefault(table, set()).add(info.model)
        return table

    def key_of(self, table: str, item: Item) -> Ident:
        """The identity of a key or item of `table`, in canonical form."""
        attrs = self.table_keys[table][0]
        return table, tuple(canonical_value(item[a]) for a in attrs)

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
        ident = (table, canonical)
        entry = self.identity.get((model, canonical))
        if entry is not None:
            return ready(cast(M, entry.instance))
        if ident in self.deleted:
            return ready(None)
        write = self.writes.get(ident)
        if write is not None and write.operation == "put":
            # Another model of the same table was put: read this one from that item.
            item = write.info.codec.encode(write.instance)
            return ready(cast(M, self.load(info, ident, item)))
        pending = self.gets.get(ident)
        if pending is None:
            pending = self.gets[ident] = PendingGet(wire_key, consistent)
        pending.consistent = pending.consistent or consistent
        deferred = pending.readers.get(model)
        if deferred is None:
            deferred = pending.readers[model] = Deferred(flush)
        return deferred

    def put(self, instance: Model) -> None:
        """Queue a whole-item put of `instance` and track it in the identity map."""
        ident, canonical = self._register_write("put", instance)
        self.deleted.discard(ident)
        slot = (type(instance), canonical)
        entry = self.identity.get(slot)
        if entry is None or entry.instance is not instance:
            info = self.writes[ident].info
            self.identity[slot] = Entry(instance, info, ident, entry.snapshot if entry else None)

    def delete(self, instance: Model) -> None:
        """Queue a delete of `instance`'s key and drop the key from the identity map."""
        ident, canonical = self._register_write("delete", instance)
        self.deleted.add(ident)
        for model in self.table_models[ident[0]]:
            self.identity.pop((model, canonical), None)

    def _register_write(
        self, operation: Literal["put", "delete"], instance: Model
    ) -> tuple[Ident, CanonicalKey]:
        """Queue a write (replacing any earlier one for the key) and return its identity."""
        info = model_info(type(instance))
        table = self.table(info)
        key, canonical = info.key_of(instance)
        ident = (table, canonical)
        self.writes[ident] = PendingWrite(operation, instance, info, key)
        return ident, canonical

    def discard_pending(self, reason: str) -> None:
        """Drop pending work unsent; its deferred reads fail with `reason`."""
        never = DynamapError(reason)
        for pending in self.gets.values():
            for deferred in pending.readers.values():
                fail(deferred, never)
        self.gets.clear()
        self.writes.clear()

    # -- the identity map -------------------------------------------------------------------

    def load(self, info: ModelInfo, ident: Ident, item: Item) -> Model:
        """Decode an item read from the table and track the instance."""
        instance: Model = info.codec.decode(item)
        snapshot = info.codec.snapshot(instance)
        self.identity[(info.model, ident[1])] = Entry(instance, info, ident, snapshot)
        return instance

    def changed(self) -> list[tuple[Entry, tuple[Any, ...]]]:
        """Loaded or written instances whose state differs from their snapshot, not yet queued."""
        found: list[tuple[Entry, tuple[Any, ...]]] = []
        for entry in self.identity.values():
            if entry.snapshot is None or entry.ident in self.deleted:
                continue
            explicit = self.writes.get(entry.ident)
            if explicit is not None and explicit.instance is entry.instance:
                continue  # already planned from put()
            snapshot = entry.info.codec.snapshot(entry.instance)
            if snapshot != entry.snapshot:
                found.append((entry, snapshot))
        return found


def ready(value: M | None) -> Deferred[M]:
    """A deferred that is already settled with `value`."""
    deferred: Deferred[M] = Deferred()
    resolve(deferred, value)
    return deferred
