"""Checking a cursor's resume key (an `ExclusiveStartKey`) against what is read. Pure code.

A cursor token comes from a client, so its key is untrusted: each value must have the
type and size of its key attribute, be a number DynamoDB can hold, and lie within the
query's sort-key condition. DynamoDB rejects anything else with a ValidationException
after a round trip; checking first makes it an `InvalidCursorError` that names the key.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from _dynamap.codec.numbers import decimal_to_wire
from _dynamap.errors import EncodeError, InvalidCursorError
from _dynamap.expr.sortkeys import SortCondition
from _dynamap.model.keys import KeyAttr
from _dynamap.model.target import ReadTarget, sort_order

__all__ = ["check_start_key"]

# The spellings of a number in DynamoDB's wire format (no spaces, '_', '+', NaN or Infinity).
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def check_start_key(
    target: ReadTarget, position: dict[str, dict[str, Any]], sort: Any, what: str
) -> None:
    """Refuse a resume key whose values this read could never have produced.

    Args:
        target: the table or index read (its key attributes and types).
        position: the key to resume after, as a cursor holds it.
        sort: the query's sort condition (a SortCondition, a bare value, or None).
        what: the read, for messages ("query of Order").
    """
    keys = {k.attr: k for k in target.info.key_attrs}
    if target.index is not None:
        for key in (target.index.partition_key, target.index.sort_key):
            if key is not None:
                keys[key.attr] = key
    for attr, av in position.items():
        key = keys.get(attr)
        if key is not None:
            _check_value(key, av, what)
    if sort is None or target.sort is None:
        return
    cond = sort if isinstance(sort, SortCondition) else SortCondition("=", (sort,))
    key = target.sort
    held = sort_order(position[key.attr])
    bounds = [sort_order(key.encode(v, target.info.name)) for v in cond.values]
    if not _meets(cond, held, bounds):
        raise InvalidCursorError(
            f"this cursor's key ({key.attr}={_show(position[key.attr])}) lies outside the "
            f"sort-key condition {cond!r} of this {what}"
        )


def _check_value(key: KeyAttr, av: dict[str, Any], what: str) -> None:
    ((tag, value),) = av.items()
    if tag != key.type:
        raise InvalidCursorError(
            f"this cursor's key gives {key.attr} as a {tag} value; it is a key of type "
            f"{key.type} in this {what}"
        )
    if tag == "N":
        try:
            if not _NUMBER.fullmatch(value):
                raise EncodeError("not a number")
            decimal_to_wire(Decimal(value))
        except (EncodeError, InvalidOperation) as exc:
            raise InvalidCursorError(
                f"this cursor's key gives {key.attr}={_show(av)}, not a number DynamoDB can "
                f"hold ({exc})"
            ) from None
        return
    fault = key.fault(av)
    if fault is not None:
        raise InvalidCursorError(f"this cursor's key value of {key.attr} {fault}")


def _meets(cond: SortCondition, held: Any, bounds: list[Any]) -> bool:
    # `held` and `bounds` are all Decimal or all bytes: their types were checked.
    op, first = cond.op, bounds[0]
    if op == "begins_with":
        return bool(held.startswith(first))
    if op == "BETWEEN":
        return bool(first <= held <= bounds[1])
    if op == "=":
        return bool(held == first)
    if op == "<":
        return bool(held < first)
    if op == "<=":
        return bool(held <= first)
    if op == ">":
        return bool(held > first)
    return bool(held >= first)


def _show(av: dict[str, Any]) -> str:
    ((_, value),) = av.items()
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"
