"""Value codecs: Python values to DynamoDB AttributeValues and back, compiled once per type.

Never goes through boto3's TypeSerializer/TypeDeserializer: each field gets an
encoder and a decoder chosen from its annotation when the model class is built.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from decimal import Decimal
from typing import Any, cast, get_args, get_origin

from pydantic import BaseModel

from ._errors import EncodeError
from ._numbers import decimal_to_wire, float_to_wire, int_to_wire
from ._types import is_union, literal_values, strip_annotated, strip_optional, type_name

__all__ = [
    "AttributeValue",
    "Decoder",
    "Encoder",
    "Item",
    "UnsupportedTypeError",
    "compile_decoder",
    "compile_encoder",
    "decode_any",
    "encode_any",
    "number_kind",
]

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
Encoder = Callable[[Any], "AttributeValue | None"]  # None means "omit this attribute"
Decoder = Callable[[AttributeValue], Any]


class UnsupportedTypeError(TypeError):
    """An annotation has no DynamoDB representation."""


_NULL: AttributeValue = {"NULL": True}


# --- dynamic (runtime-typed) values: Any, unions, list/dict contents ----------------------


def _number_wire(value: Any) -> str:
    if isinstance(value, bool):
        raise EncodeError("bool is not a number")
    if isinstance(value, int):
        return int_to_wire(value)
    if isinstance(value, float):
        return float_to_wire(value)
    return decimal_to_wire(value)


def _set_av(values: Set[Any]) -> AttributeValue | None:
    if not values:
        return None
    sample = next(iter(values))
    conv: Callable[[Any], Any]
    if isinstance(sample, str):
        kind, conv = "SS", _str_value
    elif isinstance(sample, bytes | bytearray):
        kind, conv = "BS", bytes
    elif isinstance(sample, int | float | Decimal) and not isinstance(sample, bool):
        kind, conv = "NS", _number_wire
    else:
        raise EncodeError(f"cannot store a set of {type(sample).__name__} in DynamoDB")
    try:
        return {kind: [conv(v) for v in values]}
    except (TypeError, AttributeError):
        raise EncodeError(f"a DynamoDB set must hold one type, got {values!r}") from None


def _str_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if not isinstance(value, str):
        raise TypeError(value)
    return str(value)


def encode_any(value: Any) -> AttributeValue:
    """Encode a value by its runtime type (used for `Any`, unions and container contents)."""
    if value is None:
        return _NULL
    cls = value.__class__
    if cls is str:
        return {"S": value}
    if cls is bool:
        return {"BOOL": value}
    if cls is int or cls is float or cls is Decimal:
        return {"N": _number_wire(value)}
    if isinstance(value, enum.Enum):
        return encode_any(value.value)
    if isinstance(value, str):
        return {"S": str(value)}
    if isinstance(value, int | float | Decimal):
        return {"N": _number_wire(value)}
    # isinstance() on an Any leaves pyright with Unknown element types; the values are Any.
    if isinstance(value, bytes | bytearray | memoryview):
        return {"B": bytes(value)}  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, BaseModel):
        return {"M": encoder_for_model(type(value))(value)}
    if isinstance(value, Mapping):
        mapping: Mapping[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return {"M": {_map_key(k): encode_any(v) for k, v in mapping.items()}}
    if isinstance(value, Set):
        members: Set[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return _set_av(members) or {"L": []}
    if isinstance(value, list | tuple):
        elements: Sequence[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return {"L": [encode_any(v) for v in elements]}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return {"S": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"S": str(value)}
    raise EncodeError(f"cannot store a value of type {cls.__qualname__} in DynamoDB")


def _map_key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if not isinstance(key, str):
        raise EncodeError(f"DynamoDB map keys must be strings, got {key!r}")
    if not key:
        raise EncodeError("DynamoDB map keys cannot be empty strings")
    return str(key)


def _number_from_wire(text: str) -> int | Decimal:
    # Integral spellings come back as int, everything else as an exact Decimal.
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def decode_any(av: AttributeValue) -> Any:
    """Decode an AttributeValue to plain Python (N -> int or Decimal, SS -> set, M -> dict...)."""
    for tag, value in av.items():
        if tag in {"S", "BOOL"}:
            return value
        if tag == "N":
            return _number_from_wire(value)
        if tag == "M":
            return {k: decode_any(v) for k, v in value.items()}
        if tag == "L":
            return [decode_any(v) for v in value]
        if tag == "NULL":
            return None
        if tag == "B":
            return bytes(value)
        if tag == "SS":
            return set(value)
        if tag == "NS":
            return {_number_from_wire(v) for v in value}
        if tag == "BS":
            return {bytes(v) for v in value}
    raise EncodeError(f"not a DynamoDB AttributeValue: {av!r}")


# --- compiled, annotation-driven codecs ----------------------------------------------------

_NUMBER_TYPES: tuple[type, ...] = (int, float, Decimal)


def number_kind(tp: Any) -> type | None:
    """For an int/float/Decimal annotation (or subclass), that base type; otherwise None."""
    tp = strip_annotated(tp)
    if isinstance(tp, type) and not issubclass(tp, bool | enum.Enum):
        for base in _NUMBER_TYPES:
            if issubclass(tp, base):
                return base
    return None


def _model_class(tp: Any) -> type[BaseModel] | None:
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def compile_encoder(tp: Any) -> Encoder:
    """An encoder for values of annotation `tp`; raises UnsupportedTypeError if impossible."""
    tp = strip_optional(tp)
    if tp is Any or tp is object:
        return encode_any
    if is_union(tp):
        for member in get_args(tp):
            compile_encoder(member)  # reject unions with an unsupported member up front
        return encode_any
    values = literal_values(tp)
    if values is not None:
        for v in values:
            encode_any(v)
        return encode_any
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if isinstance(origin, type):
        if issubclass(origin, enum.Enum):
            return lambda v: encode_any(v.value)
        if issubclass(origin, bool):
            return lambda v: {"BOOL": bool(v)}
        if issubclass(origin, str):
            return lambda v: {"S": str(v)}
        kind = number_kind(origin)
        if kind is int:
            return lambda v: {"N": int_to_wire(v)}
        if kind is float:
            return lambda v: {"N": float_to_wire(v)}
        if kind is Decimal:
            return lambda v: {"N": decimal_to_wire(v)}
        if issubclass(origin, bytes | bytearray):
            return lambda v: {"B": bytes(v)}
        if issubclass(origin, dt.datetime | dt.date | dt.time):
            return lambda v: {"S": v.isoformat()}
        if issubclass(origin, uuid.UUID):
            return lambda v: {"S": str(v)}
        nested = _model_class(origin)
        if nested is not None:
            model_encoder = encoder_for_model(nested)
            return lambda v: {"M": model_encoder(v)}
        if issubclass(origin, Set):
            return _compile_set_encoder(args[0] if args else Any)
        if issubclass(origin, Mapping):
            if (
                args
                and strip_annotated(args[0]) not in (str, Any)
                and not (isinstance(strip_annotated(args[0]), type) and issubclass(args[0], str))
            ):
                raise UnsupportedTypeError(
                    f"DynamoDB map keys must be str, not {type_name(args[0])}"
                )
            value_encoder = _element_encoder(args[1] if len(args) > 1 else Any)
            return lambda v: {"M": {_map_key(k): value_encoder(x) for k, x in v.items()}}
        if issubclass(origin, tuple) and args and args[-1] is not Ellipsis:
            encoders = [_element_encoder(a) for a in args]
            return lambda v: {"L": [e(x) for e, x in zip(encoders, v, strict=True)]}
        if issubclass(origin, Sequence) and not issubclass(origin, str | bytes):
            element = _element_encoder(args[0] if args else Any)
            return lambda v: {"L": [element(x) for x in v]}
    raise UnsupportedTypeError(f"{type_name(tp)} has no DynamoDB representation")


def _element_encoder(tp: Any) -> Callable[[Any], AttributeValue]:
    # Inside lists and maps a None must stay (as NULL) so the container round-trips exactly.
    inner = compile_encoder(tp)

    def encode(value: Any) -> AttributeValue:
        if value is None:
            return _NULL
        av = inner(value)
        return {"L": []} if av is None else av  # an empty nested set

    return encode


def _compile_set_encoder(element: Any) -> Encoder:
    element = strip_optional(element)
    if element is Any:
        return _set_av
    values = literal_values(element)
    base: Any = element
    if values:
        base = type(cast(object, values[0]))
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return lambda v: _set_av({m.value for m in v})
    if isinstance(base, type) and issubclass(base, str):
        return lambda v: {"SS": [str(x) for x in v]} if v else None
    if isinstance(base, type) and issubclass(base, bytes | bytearray):
        return lambda v: {"BS": [bytes(x) for x in v]} if v else None
    if number_kind(base) is not None:
        return lambda v: {"NS": [_number_wire(x) for x in v]} if v else None
    raise UnsupportedTypeError(
        f"set[{type_name(element)}] has no DynamoDB representation "
        "(sets hold str, numbers or bytes)"
    )


def compile_decoder(tp: Any) -> Decoder:
    """A decoder producing values pydantic validates into annotation `tp`."""
    tp = strip_optional(tp)
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if isinstance(origin, type) and not issubclass(origin, enum.Enum | bool):
        kind = number_kind(origin)
        if kind is int:
            return _decode_int
        if kind is float:
            return _decode_float
        if kind is Decimal:
            return _decode_decimal
        model = _model_class(origin)
        if model is not None:
            return _model_decoder(model)
        if issubclass(origin, Mapping) and len(args) == 2:
            value_decoder = _null_aware(compile_decoder(args[1]))
            return lambda av: {k: value_decoder(x) for k, x in av["M"].items()}
        if issubclass(origin, Set) and args:
            element = number_kind(strip_optional(args[0]))
            if element is not None:
                converters: dict[type, Callable[[str], Any]] = {
                    int: _int_from_wire,
                    float: float,
                    Decimal: Decimal,
                }
                conv = converters[element]
                return lambda av: _number_set(av, conv)
        if (
            issubclass(origin, Sequence)
            and not issubclass(origin, str | bytes | tuple)
            and args
            and _model_class(strip_optional(args[0])) is not None
        ):
            element_decoder = _null_aware(compile_decoder(args[0]))
            return lambda av: [element_decoder(x) for x in av["L"]]
    return decode_any


def _null_aware(decoder: Decoder) -> Decoder:
    return lambda av: None if "NULL" in av else decoder(av)


def _int_from_wire(text: str) -> int | Decimal:
    try:
        return int(text)
    except ValueError:
        value = Decimal(text)
        # A non-integral value is handed on as Decimal so pydantic reports it precisely.
        return int(value) if value == value.to_integral_value() else value


def _decode_int(av: AttributeValue) -> Any:
    return _int_from_wire(av["N"]) if "N" in av else decode_any(av)


def _decode_float(av: AttributeValue) -> Any:
    return float(av["N"]) if "N" in av else decode_any(av)


def _decode_decimal(av: AttributeValue) -> Any:
    return Decimal(av["N"]) if "N" in av else decode_any(av)


def _number_set(av: AttributeValue, conv: Callable[[str], Any]) -> Any:
    if "NS" in av:
        return {conv(v) for v in av["NS"]}
    return decode_any(av)


def _model_decoder(model: type[BaseModel]) -> Decoder:
    from ._modelcodec import codec_for

    def decode(av: AttributeValue) -> Any:
        if "M" not in av:
            return decode_any(av)
        return codec_for(model).to_python(av["M"])

    return decode


def encoder_for_model(model: type[BaseModel]) -> Callable[[Any], Item]:
    """Encode a pydantic model instance as the attribute map of an M value."""
    from ._modelcodec import codec_for

    return lambda value: codec_for(model).encode(value)
