"""What a flush did, and what it could not do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FlushReport", "Unprocessed"]


@dataclass(frozen=True)
class FlushReport:
    """Counts for one flush. `consumed_capacity` maps table name to capacity units."""

    items_read: int = 0
    items_not_found: int = 0
    items_written: int = 0
    items_deleted: int = 0
    requests: int = 0
    retries: int = 0
    consumed_capacity: dict[str, float] = field(default_factory=dict[str, float])

    def __add__(self, other: FlushReport) -> FlushReport:
        capacity = dict(self.consumed_capacity)
        for table, units in other.consumed_capacity.items():
            capacity[table] = capacity.get(table, 0.0) + units
        return FlushReport(
            self.items_read + other.items_read,
            self.items_not_found + other.items_not_found,
            self.items_written + other.items_written,
            self.items_deleted + other.items_deleted,
            self.requests + other.requests,
            self.retries + other.retries,
            capacity,
        )


@dataclass(frozen=True)
class Unprocessed:
    """A get, put or delete that a flush could not complete.

    `key` is the primary key in DynamoDB's wire format; `item` is the full item
    for a put; `instance` is the model instance written, when there is one.
    """

    operation: Literal["get", "put", "delete"]
    table: str
    key: dict[str, Any]
    item: dict[str, Any] | None = None
    instance: Any = None
