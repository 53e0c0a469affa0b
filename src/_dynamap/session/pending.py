"""The records a unit of work keeps: tracked instances, pending gets and pending writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from _dynamap.codec.values import Item
from _dynamap.core.engine import Ident
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.model import Model, ModelInfo
from _dynamap.session.deferred import Deferred

__all__ = ["Entry", "Operation", "PendingGet", "PendingWrite", "watch"]


@dataclass(eq=False, slots=True)
class Entry:
    """An instance in the identity map; `snapshot` is its state as last read or written.

    For models whose instances change by assignment alone (see `_watch`), `seen` is
    the instance's `__dict__` when its state was found equal to the snapshot `seen_of`:
    while the instance has that very dict and the entry that very snapshot, it is
    unchanged and not snapshotted again. Both are compared by identity only.
    """

    instance: Model
    info: ModelInfo
    ident: Ident
    snapshot: tuple[Any, ...] | None
    seen: object = None
    seen_of: object = None


@dataclass(eq=False, slots=True)
class PendingGet:
    """A key to read at the next flush, and the deferred result of each model asking."""

    key: Item
    consistent: bool
    readers: dict[type[Model], Deferred[Any]] = field(
        default_factory=dict[type[Model], "Deferred[Any]"]
    )


Operation = Literal["put", "delete", "update"]


@dataclass(eq=False, slots=True)
class PendingWrite:
    """A put, delete or update to send at the next flush.

    `keyed` is the instance's `__dict__` when `key` was taken from it, for models whose
    assignments replace it: the same dict at flush means the same key, unchecked.
    `instance` is None for writes by key (`update_key`, `delete_key`). `condition` and
    `update` are the caller's; `create` is False for an `update_key` that must find the
    item; `result` is the deferred an update resolves. `version` is the version number
    the write stores, once planned (None for unversioned writes); `write_back` marks a
    changed instance written back (not queued by the caller).
    """

    operation: Operation
    instance: Model | None
    info: ModelInfo
    key: Item
    snapshot: tuple[Any, ...] | None = None  # the state being written, once planned
    keyed: object = None  # compared by identity only
    condition: Condition | None = None
    update: Update | None = None
    create: bool = True
    result: Deferred[Any] | None = None
    version: int | None = None
    expected: int | None = None  # the version it expects to find; None: create-only
    write_back: bool = False
    key_values: dict[str, Any] | None = None  # a delete's key fields, as when queued
    baseline: tuple[Any, ...] | None = None  # a write-back's last known stored state

    @property
    def special(self) -> bool:
        """True when it cannot share a flush with another write of its key (nor be replaced)."""
        return self.operation == "update" or self.condition is not None


# Per model class: (assignment replaces __dict__, and nothing else can change an instance).
_WATCH: dict[type[Model], tuple[bool, bool]] = {}


def watch(info: ModelInfo) -> tuple[bool, bool]:
    watch = _WATCH.get(info.model)
    if watch is None:
        # pydantic validates an assignment into a new __dict__ and swaps it in, so the
        # same dict object means no field was assigned. Without validate_assignment it
        # writes into the dict in place; a frozen model refuses assignment altogether.
        config = info.model.model_config
        visible = bool(config.get("validate_assignment") or config.get("frozen"))
        watch = _WATCH[info.model] = (visible, visible and info.codec.immutable)
    return watch
