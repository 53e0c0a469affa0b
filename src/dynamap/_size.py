"""Item size as DynamoDB counts it: attribute names plus values, with a 400 KB limit."""

from __future__ import annotations

from typing import Any

from ._errors import ItemTooLargeError

__all__ = ["MAX_ITEM_BYTES", "check_item_size", "item_size"]

MAX_ITEM_BYTES = 400 * 1024


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _number_size(text: str) -> int:
    # About one byte per two significant digits, plus one.
    digits = text.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _value_size(av: dict[str, Any]) -> int:
    for tag, value in av.items():
        if tag == "S":
            return _text_size(value)
        if tag == "N":
            return _number_size(value)
        if tag == "B":
            return len(value)
        if tag in {"BOOL", "NULL"}:
            return 1
        if tag == "SS":
            return sum(_text_size(v) for v in value)
        if tag == "NS":
            return sum(_number_size(v) for v in value)
        if tag == "BS":
            return sum(len(v) for v in value)
        if tag == "L":
            return 3 + sum(1 + _value_size(v) for v in value)
        if tag == "M":
            return 3 + sum(1 + _text_size(k) + _value_size(v) for k, v in value.items())
    return 0


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB charges for `item`: every attribute's name plus its value."""
    return sum(_text_size(name) + _value_size(av) for name, av in item.items())


def check_item_size(item: dict[str, dict[str, Any]], what: str) -> None:
    """Raise ItemTooLargeError if `item` is over DynamoDB's 400 KB limit."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise ItemTooLargeError(
            f"{what} is {size:,} bytes; DynamoDB items are limited to {MAX_ITEM_BYTES:,} bytes "
            f"(attribute names plus values)",
            size=size,
            limit=MAX_ITEM_BYTES,
        )
