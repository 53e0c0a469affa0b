"""Item size as DynamoDB counts it: attribute names plus values, with a 400 KB limit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from _dynamap.errors import ItemTooLargeError

__all__ = [
    "MAX_ITEM_BYTES",
    "item_size",
    "number_size",
    "too_large",
    "value_size",
]

MAX_ITEM_BYTES = 400 * 1024


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def number_size(text: str) -> int:
    # About one byte per two significant digits, plus one (measured against DynamoDB Local).
    if text.isdigit():
        digits = len(text.strip("0"))
    else:
        mantissa = text.lstrip("-").split("e")[0].split("E")[0]
        digits = len(mantissa.replace(".", "").strip("0"))
    return (digits + 1) // 2 + 1


def value_size(av: dict[str, Any]) -> int:
    # Membership tests in order of how common each type is.
    if "S" in av:
        return _text_size(av["S"])
    if "N" in av:
        return number_size(av["N"])
    if "BOOL" in av or "NULL" in av:
        return 1
    if "M" in av:
        entries = av["M"]
        keys = sum(len(k) if k.isascii() else len(k.encode()) for k in entries)
        return 3 + len(entries) + keys + _values_size(entries.values())
    if "L" in av:
        elements = av["L"]
        return 3 + len(elements) + _values_size(elements)
    if "B" in av:
        return len(av["B"])
    if "SS" in av:
        return sum(_text_size(v) for v in av["SS"])
    if "NS" in av:
        return sum(number_size(v) for v in av["NS"])
    if "BS" in av:
        return sum(len(v) for v in av["BS"])
    return 0


def _values_size(values: Iterable[dict[str, Any]]) -> int:
    # The leaf cases are inlined: this loop is the hot part of sizing nested data.
    total = 0
    for av in values:
        text = av.get("S")
        if text is not None:
            total += len(text) if text.isascii() else len(text.encode("utf-8"))
        elif "BOOL" in av:
            total += 1
        else:
            total += value_size(av)
    return total


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB charges for `item`: every attribute's name plus its value."""
    names = sum(len(k) if k.isascii() else len(k.encode()) for k in item)
    return names + _values_size(item.values())


def too_large(size: int, what: str) -> ItemTooLargeError:
    """The error for an item of `size` bytes."""
    return ItemTooLargeError(
        f"{what} is {size:,} bytes; DynamoDB items are limited to {MAX_ITEM_BYTES:,} bytes "
        f"(attribute names plus values)",
        size=size,
        limit=MAX_ITEM_BYTES,
    )
