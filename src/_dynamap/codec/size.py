"""Item size as DynamoDB counts it: attribute names plus values, with a 400 KB limit.

Measured byte for byte on DynamoDB Local 3.3.1: S is its UTF-8 bytes, B its raw bytes,
BOOL and NULL 1; a set is the sum of its members; L is 3 + sum(1 + element); M is
3 + sum(1 + UTF-8 key bytes + value); an item is sum(UTF-8 name bytes + value). Numbers
are stored in base-100 pairs of digits (see `number_size`).

Sizing walks every value, so it also refuses what only a walk sees: maps and lists
nested deeper than DynamoDB allows, number sets holding one number twice, and text
with no UTF-8 form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from _dynamap.codec.numbers import canonical_number
from _dynamap.errors import EncodeError, ItemTooLargeError

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEM_BYTES",
    "item_size",
    "number_size",
    "text_error",
    "text_size",
    "too_deep",
    "too_large",
    "value_size",
]

MAX_ITEM_BYTES = 400 * 1024  # inclusive
# Maps and lists chained inside one attribute, the attribute's own map or list included.
MAX_DEPTH = 31


def text_error(exc: UnicodeEncodeError) -> EncodeError:
    """The error for text that has no UTF-8 form (only a lone surrogate has none)."""
    text = exc.object
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    return EncodeError(
        f"text {shown} holds a lone surrogate ({text[exc.start : exc.end]!r} at index "
        f"{exc.start}), which has no UTF-8 form: DynamoDB cannot store it"
    )


def text_size(text: str) -> int:
    """UTF-8 bytes of `text`; EncodeError if it has none (a lone surrogate)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode())
    except UnicodeEncodeError as exc:
        raise text_error(exc) from None


def too_deep() -> EncodeError:
    """The error for maps and lists nested deeper than DynamoDB allows."""
    return EncodeError(
        f"maps and lists are nested more than {MAX_DEPTH} deep; DynamoDB allows at most "
        f"{MAX_DEPTH} in one attribute (counting the attribute's own map or list)"
    )


def number_size(text: str) -> int:
    """The bytes DynamoDB counts for the number spelled `text` (any spelling it accepts).

    Digits are stored in base-100 pairs aligned on the decimal point, leading and
    trailing all-zero pairs dropped: one byte per pair, one exponent byte, and one more
    for a negative number, at most 21 bytes in all. Zero is 1 byte.
    """
    # The spellings our encoders produce come first, inlined: this runs for every number.
    if text.isdigit() and text[0] != "0":  # str() of a positive int
        if text[-1] != "0":
            return (len(text) + 3) // 2  # ceil(digits / 2) pairs + the exponent byte
        return (len(text) + 3) // 2 - (len(text) - len(text.rstrip("0"))) // 2
    whole, _, fraction = text.partition(".")
    if fraction.isdigit() and fraction[-1] != "0":
        if whole.isdigit():
            if whole[0] != "0":  # 12.345: the whole part's pairs, then the fraction's
                size = (len(whole) + 1) // 2 + (len(fraction) + 3) // 2
                return size if size < 21 else 21
            if whole == "0":  # 0.00123: less the fraction's leading "00" pairs
                n = len(fraction)
                return (n + 3) // 2 - (n - len(fraction.lstrip("0"))) // 2
        elif whole[:1] == "-" and whole[1:].isdigit() and whole[1] != "0":  # -12.345
            size = len(whole) // 2 + (len(fraction) + 5) // 2  # one more, for the sign
            return size if size < 21 else 21
    return _number_size(text)


def _number_size(text: str) -> int:
    negative = text[0] == "-"
    if negative and text[1:].isdigit() and text[1] != "0":  # str() of a negative int
        n = len(text) - 1
        size = (n + 5) // 2 - (n + 1 - len(text.rstrip("0"))) // 2
        return size if size < 21 else 21
    return _any_number_size(text[1:] if negative or text[0] == "+" else text, negative)


def _any_number_size(body: str, negative: bool) -> int:
    # Any spelling: leading and trailing zeros, ".5", "5.", an exponent (e/E, signed).
    exponent = 0
    if "e" in body or "E" in body:
        body, _, power = body.replace("E", "e").partition("e")
        exponent = int(power)
    whole, _, fraction = body.partition(".")
    digits = (whole + fraction).lstrip("0")
    significant = digits.rstrip("0")
    if not significant:
        return 1  # zero, however spelled (-0, 0.000, 0E+99), has no sign byte
    # Powers of ten of the last and the first significant digit; digit 10**p is in pair p // 2.
    low = exponent - len(fraction) + len(digits) - len(significant)
    high = low + len(significant) - 1
    size = high // 2 - low // 2 + 2 + negative
    return size if size < 21 else 21  # a negative number of 20 pairs has no sign byte


def _number_set_size(members: list[str]) -> int:
    if len(members) > 1 and len({canonical_number(n) for n in members}) < len(members):
        _duplicate(members)
    return sum(number_size(n) for n in members)


def _duplicate(members: list[str]) -> None:
    # Python keeps 0.1 and Decimal("0.1") apart in a set; both are stored as 0.1.
    seen: dict[str, int] = {}
    for i, n in enumerate(members):
        canonical = canonical_number(n)
        first = seen.setdefault(canonical, i)
        if first != i:
            raise EncodeError(
                f"a number set holds {members[first]!r} and {n!r}, which DynamoDB stores as "
                f"the same number {canonical}; it refuses sets with duplicate members "
                f"(e.g. 0.1 and Decimal('0.1') in one set)"
            )


def value_size(av: dict[str, Any], depth: int = 1) -> int:
    """The size of one AttributeValue; `depth` is the nesting level of a map or list `av`."""
    # Membership tests in order of how common each type is.
    if "S" in av:
        return text_size(av["S"])
    if "N" in av:
        return number_size(av["N"])
    if "BOOL" in av or "NULL" in av:
        return 1
    if "M" in av:
        if depth > MAX_DEPTH:
            raise too_deep()
        entries = av["M"]
        keys = sum(len(k) if k.isascii() else text_size(k) for k in entries)
        return 3 + len(entries) + keys + _values_size(entries.values(), depth + 1)
    if "L" in av:
        if depth > MAX_DEPTH:
            raise too_deep()
        elements = av["L"]
        return 3 + len(elements) + _values_size(elements, depth + 1)
    if "B" in av:
        return len(av["B"])
    if "SS" in av:
        check_distinct(av["SS"], "string")
        return sum(text_size(v) for v in av["SS"])
    if "NS" in av:
        return _number_set_size(av["NS"])
    if "BS" in av:
        check_distinct(av["BS"], "binary")
        return sum(len(v) for v in av["BS"])
    return 0


def check_distinct(members: list[Any], kind: str) -> None:
    """EncodeError if a string or binary set's encoded members repeat one.

    Members of a Python set can still encode alike: an enum member and its value
    (`Color.RED` and "red" hash apart), or a str subclass with its own hash and its
    text. DynamoDB refuses the set, and with it the item's whole batch.
    """
    if len(members) > 1 and len(set(members)) < len(members):
        seen: set[Any] = set()
        for member in members:
            if member in seen:
                shown = repr(member)
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise EncodeError(
                    f"a {kind} set holds {shown} twice once encoded; DynamoDB "
                    f"refuses sets with duplicate members (e.g. an enum member and its "
                    f"value in one set)"
                )
            seen.add(member)


def _values_size(values: Iterable[dict[str, Any]], depth: int) -> int:
    # The leaf cases are inlined: this loop is the hot part of sizing nested data.
    total = 0
    for av in values:
        text = av.get("S")
        if text is not None:
            total += len(text) if text.isascii() else text_size(text)
        elif "BOOL" in av:
            total += 1
        else:
            total += value_size(av, depth)
    return total


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB charges for `item`: every attribute's name plus its value."""
    names = sum(len(k) if k.isascii() else text_size(k) for k in item)
    return names + _values_size(item.values(), 1)


def too_large(size: int, what: str) -> ItemTooLargeError:
    """The error for an item of `size` bytes."""
    return ItemTooLargeError(
        f"{what} is {size:,} bytes; DynamoDB items are limited to {MAX_ITEM_BYTES:,} bytes "
        f"(attribute names plus values)",
        size=size,
        limit=MAX_ITEM_BYTES,
    )
