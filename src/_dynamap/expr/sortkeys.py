"""Sort-key conditions of a query: `begins_with("order#")`, `between(a, b)`, `gt(x)`...

They hold the caller's values only; the query checks and encodes them against the
sort key of the table or index it reads (see `model/keycondition.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["SortCondition", "SortOp", "begins_with", "between", "ge", "gt", "le", "lt"]

SortOp = Literal["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"]
SortValue = str | int | Decimal | bytes


@dataclass(frozen=True)
class SortCondition:
    """A condition on the sort key of a query (a bare value means equality).

    Args:
        op: the comparison.
        values: its operands (two for BETWEEN, else one).
    """

    op: SortOp
    values: tuple[SortValue, ...]

    def __repr__(self) -> str:
        if self.op == "BETWEEN":
            return f"between({self.values[0]!r}, {self.values[1]!r})"
        if self.op == "begins_with":
            return f"begins_with({self.values[0]!r})"
        return f"sort key {self.op} {self.values[0]!r}"


def begins_with(prefix: str | bytes) -> SortCondition:
    """Sort keys starting with `prefix` (string and binary sort keys only).

    Args:
        prefix: the leading characters or bytes.
    """
    return SortCondition("begins_with", (prefix,))


def between(low: SortValue, high: SortValue) -> SortCondition:
    """Sort keys from `low` to `high`, both included.

    Args:
        low: the smallest sort key matched.
        high: the largest sort key matched.
    """
    return SortCondition("BETWEEN", (low, high))


def gt(value: SortValue) -> SortCondition:
    """Sort keys greater than `value`.

    Args:
        value: the bound, excluded.
    """
    return SortCondition(">", (value,))


def ge(value: SortValue) -> SortCondition:
    """Sort keys greater than or equal to `value`.

    Args:
        value: the bound, included.
    """
    return SortCondition(">=", (value,))


def lt(value: SortValue) -> SortCondition:
    """Sort keys less than `value`.

    Args:
        value: the bound, excluded.
    """
    return SortCondition("<", (value,))


def le(value: SortValue) -> SortCondition:
    """Sort keys less than or equal to `value`.

    Args:
        value: the bound, included.
    """
    return SortCondition("<=", (value,))
