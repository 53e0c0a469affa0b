"""Runtime-typed values: encoding by a value's own type (for `Any`, unions and container
contents), decoding to plain Python, and encoders that also return DynamoDB's size."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping, Set
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from _dynamap.codec.nested import nested_codec
from _dynamap.codec.numbers import decimal_to_wire, float_to_wire, int_to_wire
from _dynamap.codec.size import MAX_DEPTH, number_size, text_error, text_size, too_deep, value_size
from _dynamap.errors import EncodeError

__all__ = [
    "NULL",
    "AttributeValue",
    "Decoder",
    "Encoder",
    "INT_FAST",
    "Item",
    "decode_any",
    "encode_any",
    "encode_list",
    "encode_map",
    "encoder_for_model",
    "int_av",
    "map_key",
    "number_from_wire",
    "number_wire",
    "set_av",
    "sized_any",
    "sized_list",
    "sized_map",
]

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
Encoder = Callable[[Any], "AttributeValue | None"]  # None means "omit this attribute"
Decoder = Callable[[AttributeValue], Any]


NULL: AttributeValue = {"NULL": True}
INT_FAST = 10**38


# --- dynamic (runtime-typed) values: Any, unions, list/dict contents ----------------------


def number_wire(value: Any) -> str:
    if isinstance(value, bool):
        raise EncodeError("bool is not a number")
    if isinstance(value, int):
        return int_to_wire(value)
    if isinstance(value, float):
        return float_to_wire(value)
    return decimal_to_wire(value)


def set_av(values: Set[Any]) -> AttributeValue | None:
    if not values:
        return None
    sample = next(iter(values))
    conv: Callable[[Any], Any]
    if isinstance(sample, str):
        kind, conv = "SS", str_value
    elif isinstance(sample, bytes | bytearray):
        kind, conv = "BS", bytes
    elif isinstance(sample, int | float | Decimal) and not isinstance(sample, bool):
        kind, conv = "NS", number_wire
    else:
        raise EncodeError(f"cannot store a set of {type(sample).__name__} in DynamoDB")
    try:
        return {kind: [conv(v) for v in values]}
    except (TypeError, AttributeError):
        raise EncodeError(f"a DynamoDB set must hold one type, got {values!r}") from None


def str_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if not isinstance(value, str):
        raise TypeError(value)
    return str(value)


def int_av(value: Any) -> AttributeValue:
    # str() of a plain int is exact and needs no range check below 10**38.
    if value.__class__ is int and -INT_FAST < value < INT_FAST:
        return {"N": str(value)}
    return {"N": number_wire(value)}


def sized_any(value: Any, depth: int = 1) -> tuple[AttributeValue, int]:
    """Encode by runtime type, also returning the value's DynamoDB size in bytes.

    Sizing while encoding saves a second walk over nested data for the 400 KB check.
    `depth` is the nesting level `value` has if it is a map or list (1 for an
    attribute's own); deeper than DynamoDB allows is an EncodeError, never a
    RecursionError.
    """
    cls = value.__class__
    if cls is str:
        return {"S": value}, len(value) if value.isascii() else text_size(value)
    if cls is bool:
        return {"BOOL": value}, 1
    if cls is int and -INT_FAST < value < INT_FAST:
        text = str(value)
        if value > 0:  # ceil(digits / 2) pairs + the exponent byte, less trailing "00" pairs
            if value % 100:
                return {"N": text}, (len(text) + 3) // 2
            return {"N": text}, (len(text) + 3) // 2 - (len(text) - len(text.rstrip("0"))) // 2
        return {"N": text}, number_size(text)  # zero, or a sign byte
    if cls is dict:
        return sized_map(value, depth)
    if cls is list or cls is tuple:
        return sized_list(value, depth)
    av = encode_any(value)
    return av, value_size(av, depth)  # nested models and other maps: sized at their depth


def sized_map(value: Any, depth: int = 1) -> tuple[AttributeValue, int]:
    if depth > MAX_DEPTH:
        raise too_deep()
    out: dict[str, AttributeValue] = {}
    size = 3
    inner = depth + 1
    try:
        for key, v in value.items():
            k = key if key.__class__ is str and key else map_key(key)
            # map keys count UTF-8 bytes, as attribute names do
            size += 1 + (len(k) if k.isascii() else len(k.encode()))
            cls = v.__class__
            if cls is str:  # the commonest leaves, inlined (as in sized_any)
                out[k] = {"S": v}
                size += len(v) if v.isascii() else len(v.encode())
            elif cls is bool:
                out[k] = {"BOOL": v}
                size += 1
            elif cls is int and -INT_FAST < v < INT_FAST:
                text = str(v)
                out[k] = {"N": text}
                size += (len(text) + 3) // 2 if v > 0 and v % 100 else number_size(text)
            elif cls is dict:
                av, n = sized_map(v, inner)
                out[k] = av
                size += n
            else:
                av, n = sized_any(v, inner)
                out[k] = av
                size += n
    except UnicodeEncodeError as exc:  # a lone surrogate; costs nothing until raised
        raise text_error(exc) from None
    return {"M": out}, size


def sized_list(value: Any, depth: int = 1) -> tuple[AttributeValue, int]:
    if depth > MAX_DEPTH:
        raise too_deep()
    out: list[AttributeValue] = []
    append = out.append
    size = 3
    inner = depth + 1
    try:
        for v in value:
            cls = v.__class__
            if cls is str:
                append({"S": v})
                size += 1 + (len(v) if v.isascii() else len(v.encode()))
            elif cls is int and -INT_FAST < v < INT_FAST:
                text = str(v)
                append({"N": text})
                # as in sized_any: the common positive int needs no number_size call
                size += 1 + ((len(text) + 3) // 2 if v > 0 and v % 100 else number_size(text))
            else:
                av, n = sized_any(v, inner)
                append(av)
                size += 1 + n
    except UnicodeEncodeError as exc:
        raise text_error(exc) from None
    return {"L": out}, size


def encode_map(value: Any) -> AttributeValue:
    return sized_map(value)[0]


def encode_list(value: Any) -> AttributeValue:
    return sized_list(value)[0]


# Exact-class dispatch for the common cases; subclasses and the rest take the slow path.
_ANY_ENCODERS: dict[type, Callable[[Any], AttributeValue]] = {
    str: lambda v: {"S": v},
    bool: lambda v: {"BOOL": v},
    int: int_av,
    float: lambda v: {"N": float_to_wire(v)},
    Decimal: lambda v: {"N": decimal_to_wire(v)},
    type(None): lambda v: {"NULL": True},
    dict: encode_map,
    list: encode_list,
    tuple: encode_list,
    set: lambda v: set_av(v) or {"L": []},
    frozenset: lambda v: set_av(v) or {"L": []},
    bytes: lambda v: {"B": v},
}


def encode_any(value: Any) -> AttributeValue:
    """Encode a value by its runtime type (used for `Any`, unions and container contents)."""
    encoder = _ANY_ENCODERS.get(value.__class__)
    if encoder is not None:
        return encoder(value)
    return _encode_other(value)


def _encode_other(value: Any) -> AttributeValue:
    if isinstance(value, enum.Enum):
        return encode_any(value.value)
    if isinstance(value, str):
        return {"S": str(value)}
    if isinstance(value, bool):
        return {"BOOL": bool(value)}
    if isinstance(value, int | float | Decimal):
        return {"N": number_wire(value)}
    # isinstance() on an Any leaves pyright with Unknown element types; the values are Any.
    if isinstance(value, bytes | bytearray | memoryview):
        return {"B": bytes(value)}  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, BaseModel):
        return {"M": encoder_for_model(type(value))(value)}
    if isinstance(value, Mapping):
        return encode_map(value)
    if isinstance(value, Set):
        members: Set[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return set_av(members) or {"L": []}
    if isinstance(value, list | tuple):
        return encode_list(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return {"S": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"S": str(value)}
    raise EncodeError(f"cannot store a value of type {type(value).__qualname__} in DynamoDB")


def map_key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if not isinstance(key, str):
        raise EncodeError(f"DynamoDB map keys must be strings, got {key!r}")
    if not key:
        raise EncodeError("DynamoDB map keys cannot be empty strings")
    return str(key)


def number_from_wire(text: str) -> int | Decimal:
    # Integral spellings come back as int, everything else as an exact Decimal.
    if "." in text or "e" in text or "E" in text:
        return Decimal(text)
    return int(text)


def decode_any(av: AttributeValue) -> Any:
    """Decode an AttributeValue to plain Python (N -> int or Decimal, SS -> set, M -> dict...)."""
    if "S" in av:
        return av["S"]
    if "N" in av:
        return number_from_wire(av["N"])
    if "M" in av:
        return _decode_map(av["M"])
    if "L" in av:
        return [v["S"] if "S" in v else decode_any(v) for v in av["L"]]
    if "BOOL" in av:
        return av["BOOL"]
    if "NULL" in av:
        return None
    if "B" in av:
        return bytes(av["B"])
    if "SS" in av:
        return set(av["SS"])
    if "NS" in av:
        return {number_from_wire(v) for v in av["NS"]}
    if "BS" in av:
        return {bytes(v) for v in av["BS"]}
    raise EncodeError(f"not a DynamoDB AttributeValue: {av!r}")


def _decode_map(entries: dict[str, AttributeValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in entries.items():  # the commonest values inlined: this is the hot loop
        if "S" in v:
            out[k] = v["S"]
        elif "BOOL" in v:
            out[k] = v["BOOL"]
        elif "N" in v and v["N"].isdigit():
            out[k] = int(v["N"])
        elif "M" in v:
            out[k] = _decode_map(v["M"])
        else:
            out[k] = decode_any(v)
    return out


def encoder_for_model(model: type[BaseModel]) -> Callable[[Any], Item]:
    """Encode a pydantic model instance as the attribute map of an M value."""

    def encode(value: Any) -> Item:
        try:
            return nested_codec(model).encode(value)
        except RecursionError:
            # Models nested in models deeper than the stack allows (a few hundred levels,
            # each a map) are far deeper than DynamoDB's 31: say so, not RecursionError.
            # Free until raised; an outer frame with more room answers if this one can't.
            raise too_deep() from None

    return encode
