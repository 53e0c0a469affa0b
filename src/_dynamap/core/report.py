"""What a flush did, and what it could not do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FlushReport", "Unprocessed"]


@dataclass(frozen=True)
class FlushReport:
    """Counts for one flush. `consumed_capacity` maps table name to capacity units.

    `items_not_done` counts the keys and items certainly not done, and `items_unknown`
    the writes of unknown outcome; both are 0 unless the flush raised (the report is
    then the error's `report`).

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
        )


@dataclass(frozen=True)
class Unprocessed:
    """A get, put or delete that a flush did not do, or whose outcome it does not know.

    `key` is the primary key in DynamoDB's wire format; `item` is the full item
    for a put; `instance` is the model instance written, when there is one.

    Args:
        operation: "get", "put" or "delete".
        table: the table name, prefix included.
        key: the primary key, as DynamoDB's AttributeValues.
        item: the whole item of a put.
        instance: the model instance of a put or delete.
    """

    operation: Literal["get", "put", "delete"]
    table: str
    key: dict[str, Any]
    item: dict[str, Any] | None = None
    instance: Any = None
