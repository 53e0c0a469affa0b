"""What a flush did, and what it could not do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ConditionFailure", "FlushReport", "QueryReport", "Unprocessed"]


@dataclass(frozen=True)
class FlushReport:
    """Counts for one flush. `consumed_capacity` maps table name to capacity units.

    `items_not_done` counts the keys and items certainly not done, `items_unknown`
    the writes of unknown outcome and `items_failed` the writes whose condition was
    false; all are 0 unless the flush raised (the report is then the error's `report`).
    `items_written` counts puts and updates done.

    Args:
        items_read: items read and found.
        items_not_found: keys read that hold no item.
        items_written: puts and updates done.
        items_deleted: deletes done.
        requests: requests sent, retries included.
        retries: sends of a key, item or request after its first.
        consumed_capacity: capacity units consumed, by table.
        items_not_done: keys and items certainly not done.
        items_unknown: writes sent whose outcome is unknown.
        items_failed: writes whose condition was false.
    """

    items_read: int = 0
    items_not_found: int = 0
    items_written: int = 0
    items_deleted: int = 0
    requests: int = 0
    retries: int = 0
    consumed_capacity: dict[str, float] = field(default_factory=dict[str, float])
    items_not_done: int = 0
    items_unknown: int = 0
    items_failed: int = 0

    def __add__(self, other: FlushReport) -> FlushReport:
        capacity = dict(self.consumed_capacity)
        for table, units in other.consumed_capacity.items():
            capacity[table] = capacity.get(table, 0.0) + units
        return FlushReport(
            items_read=self.items_read + other.items_read,
            items_not_found=self.items_not_found + other.items_not_found,
            items_written=self.items_written + other.items_written,
            items_deleted=self.items_deleted + other.items_deleted,
            requests=self.requests + other.requests,
            retries=self.retries + other.retries,
            consumed_capacity=capacity,
            items_not_done=self.items_not_done + other.items_not_done,
            items_unknown=self.items_unknown + other.items_unknown,
            items_failed=self.items_failed + other.items_failed,
        )


@dataclass(frozen=True)
class Unprocessed:
    """A get or write that a flush did not do, or whose outcome it does not know.

    `key` is the primary key in DynamoDB's wire format; `item` is the full item
    for a put; `instance` is the model instance written, when there is one (None for
    `update_key` and `delete_key`). `condition` and `update` are the write's own
    condition and update actions, as given (a changed instance's write-back has
    `attribute_exists` of the partition key: resent, it must not recreate a deleted
    item). `resendable` is False for writes that
    must not be sent again blindly when their outcome is unknown (conditional,
    versioned and update writes): `FlushError.resend` skips those in `unknown`.

    Args:
        operation: "get", "put", "delete" or "update".
        table: the table name, prefix included.
        key: the primary key, as DynamoDB's AttributeValues.
        item: the whole item of a put.
        instance: the model instance of the write, if there is one.
        condition: the write's own condition, as given.
        update: the write's update actions, as given.
        resendable: whether `FlushError.resend` may send it again when its outcome is unknown.
        resend_as: for a delete, a copy of the instance holding the key it was made for
            (the instance's own key may have changed since): what `resend` deletes.
        baseline: for a write-back, the instance's last known stored state: `resend`
            tracks the instance with it again, so the next flush writes back the
            instance's state at that flush, not the values of the failed one.
    """

    operation: Literal["get", "put", "delete", "update"]
    table: str
    key: dict[str, Any]
    item: dict[str, Any] | None = None
    instance: Any = None
    condition: Any = None
    update: Any = None
    resendable: bool = True
    resend_as: Any = field(default=None, repr=False, compare=False)
    baseline: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ConditionFailure:
    """A conditional write DynamoDB refused: its condition was false. It is final.

    `current` is the item as stored when the write failed, decoded into the write's
    model (None if there is no such item or it does not decode); `stored` is that
    item in DynamoDB's wire format. `stale` is True for a versioned write that met
    another version (or no item) than the one it expected.
    """

    operation: Literal["put", "delete", "update"]
    table: str
    key: dict[str, Any]
    instance: Any = None
    current: Any = None
    stored: dict[str, Any] | None = None
    condition: Any = None
    stale: bool = False


@dataclass(frozen=True)
class QueryReport:
    """What one run of a query or scan did (`query.report` after iterating).

    Args:
        requests: Query or Scan requests sent, retries included.
        retries: pages sent again after throttling or a failure.
        items: items handed to the caller.
        count: items DynamoDB matched (after the filter), over the pages read.
        scanned_count: items DynamoDB read before the filter, over the pages read.
        consumed_capacity: capacity units consumed, by table.
    """

    requests: int = 0
    retries: int = 0
    items: int = 0
    count: int = 0
    scanned_count: int = 0
    consumed_capacity: dict[str, float] = field(default_factory=dict[str, float])
