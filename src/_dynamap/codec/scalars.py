"""Strict scalar encoders: each checks the type it encodes, exact class first and
isinstance after, so a value that skipped pydantic's validation (a plain nested model
assigned to, `model_construct`) is refused or converted as validation would, never
stored as something the model cannot read back. Also enums, Literals, unions and
nested models."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from pydantic import BaseModel

from _dynamap.codec.located import (
    WrongTypeError,
    wrong_type,
)
from _dynamap.codec.nested import NestedCodec, nested_codec
from _dynamap.codec.numbers import decimal_to_wire, float_to_wire, int_to_wire
from _dynamap.codec.size import number_size
from _dynamap.codec.twins import pair, sized_twin, text_size
from _dynamap.codec.values import (
    INT_FAST,
    AttributeValue,
    Encoder,
    encode_any,
    sized_any,
)
from _dynamap.errors import EncodeError

__all__ = [
    "as_bytes",
    "as_str",
    "decimal_text",
    "encode_bool",
    "encode_bytes",
    "encode_decimal",
    "encode_float",
    "encode_int",
    "encode_str",
    "encode_uuid",
    "enum_encoder",
    "float_text",
    "int_text",
    "literal_encoder",
    "model_encoder",
    "temporal_encoder",
    "union_encoder",
]


def as_str(value: Any) -> str:
    """A str value, or a WrongTypeError; a str subclass (a str enum) gives its plain str."""
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise wrong_type("str", value)


def int_text(value: Any) -> str:
    """The wire text of an int value (not a bool), or a WrongTypeError."""
    if value.__class__ is int and -INT_FAST < value < INT_FAST:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int_to_wire(int(value))  # int(): an int enum's str() is its name on 3.10
    raise wrong_type("int", value)


def float_text(value: Any) -> str:
    """The wire text of a float value; ints and Decimals are taken as pydantic takes them."""
    if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        return float_to_wire(float(value))
    raise wrong_type("float", value)


def decimal_text(value: Any) -> str:
    """The wire text of a Decimal value; ints and floats are taken as pydantic takes them."""
    if isinstance(value, Decimal):
        return decimal_to_wire(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int_to_wire(int(value))
    if isinstance(value, float):
        return float_to_wire(value)
    raise wrong_type("Decimal", value)


def as_bytes(value: Any) -> bytes:
    """A bytes value (from bytes, bytearray or memoryview), or a WrongTypeError."""
    if value.__class__ is bytes:
        return value
    # isinstance() on an Any leaves pyright with Unknown element types; the values are Any.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)  # pyright: ignore[reportUnknownArgumentType]
    raise wrong_type("bytes", value)


def _text(convert: Callable[[Any], str]) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        return {"S": convert(value)}

    def sized(value: Any) -> tuple[AttributeValue, int]:
        text = convert(value)
        return {"S": text}, text_size(text)

    return pair(encode, sized)


def _number(convert: Callable[[Any], str]) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        return {"N": convert(value)}

    def sized(value: Any) -> tuple[AttributeValue, int]:
        text = convert(value)
        return {"N": text}, number_size(text)

    return pair(encode, sized)


def _bool(value: Any) -> AttributeValue:
    if value is True or value is False:
        return {"BOOL": value}
    raise wrong_type("bool", value)


def _bytes(value: Any) -> AttributeValue:
    return {"B": as_bytes(value)}


def _sized_bytes(value: Any) -> tuple[AttributeValue, int]:
    data = as_bytes(value)
    return {"B": data}, len(data)


encode_str = _text(as_str)
encode_int = _number(int_text)
encode_float = _number(float_text)
encode_decimal = _number(decimal_text)
encode_bool = pair(_bool, lambda value: (_bool(value), 1))
encode_bytes = pair(_bytes, _sized_bytes)


def _uuid_text(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    raise wrong_type("UUID", value)


encode_uuid = _text(_uuid_text)


def temporal_encoder(cls: type) -> Encoder:
    """datetime, date and time, as ISO-8601 text."""
    base: Any = next(t for t in (dt.datetime, dt.date, dt.time) if issubclass(cls, t))
    name = base.__name__

    def convert(value: Any) -> str:
        # A datetime is a date, but a date field cannot read one back.
        if isinstance(value, base) and not (base is dt.date and isinstance(value, dt.datetime)):
            return value.isoformat()  # type: ignore[no-any-return]
        raise wrong_type(name, value)

    return _text(convert)


def enum_encoder(cls: type[enum.Enum]) -> Encoder:
    """Members of an Enum class, stored as their values."""

    def encode(value: Any) -> AttributeValue:
        if isinstance(value, cls):
            return encode_any(value.value)
        raise wrong_type(cls.__qualname__, value)

    def sized(value: Any) -> tuple[AttributeValue, int]:
        if isinstance(value, cls):
            return sized_any(value.value)
        raise wrong_type(cls.__qualname__, value)

    return pair(encode, sized)


def literal_encoder(values: tuple[Any, ...]) -> Encoder:
    """One of the values of a `Literal[...]` (of the same type: `True` is not `1`)."""
    allowed: set[tuple[type, Any]] = {(type(cast(object, v)), v) for v in values}
    expected = "one of " + ", ".join(map(repr, values))

    def check(value: Any) -> Any:
        try:
            ok = (value.__class__, value) in allowed
        except TypeError:  # unhashable
            ok = False
        if not ok:
            raise wrong_type(expected, value)
        return value

    return pair(lambda v: encode_any(check(v)), lambda v: sized_any(check(v)))


def union_encoder(members: list[Encoder], name: str) -> Encoder:
    """The first member encoder that takes the value (`int | str`, `A | B`)."""
    sized_members = [sized_twin(m) for m in members]

    def attempt(encoders: list[Any], value: Any) -> Any:
        errors: list[EncodeError] = []
        for encode in encoders:
            try:
                return encode(value)
            except EncodeError as exc:
                errors.append(exc)
        # A member that took the value's type but not its contents says most.
        for error in errors:
            if not (isinstance(error, WrongTypeError) and not error.steps):
                raise error
        raise wrong_type(name, value)

    return pair(lambda v: attempt(members, v), lambda v: attempt(sized_members, v))


def model_encoder(model: type[BaseModel]) -> Encoder:
    """Instances of a pydantic model class, as M maps of their stored attributes."""
    codecs: list[NestedCodec] = []  # the model's codec, looked up on first use

    def codec() -> NestedCodec:
        if not codecs:
            codecs.append(nested_codec(model))
        return codecs[0]

    def encode(value: Any) -> AttributeValue:
        if isinstance(value, model):
            return {"M": codec().encode(value)}
        raise wrong_type(model.__qualname__, value)

    def sized(value: Any) -> tuple[AttributeValue, int]:
        if isinstance(value, model):
            item, size = codec().encode_sized(value)
            return {"M": item}, 3 + len(item) + size
        raise wrong_type(model.__qualname__, value)

    return pair(encode, sized)
