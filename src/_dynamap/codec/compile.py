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

from pydantic import BaseModel, ValidationError

from _dynamap.codec.nested import nested_codec
from _dynamap.codec.numbers import decimal_to_wire, float_to_wire
from _dynamap.codec.values import (
    AttributeValue,
    Decoder,
    Encoder,
    Item,
    decode_any,
    encode_any,
    encode_list,
    encode_map,
    encoder_for_model,
    int_av,
    map_key,
    number_wire,
    set_av,
    sized_any,
    sized_list,
    sized_map,
)
from _dynamap.declare.annotations import (
    is_union,
    literal_values,
    strip_annotated,
    strip_optional,
    type_name,
)

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
    "nested_models",
    "number_kind",
    "sized_any",
    "sized_encoder",
]


class UnsupportedTypeError(TypeError):
    """An annotation has no DynamoDB representation."""


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
            return int_av
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
            if len(args) < 2 or strip_annotated(args[1]) is Any:
                return encode_map
            value_encoder = _element_encoder(args[1])
            return lambda v: {"M": {map_key(k): value_encoder(x) for k, x in v.items()}}
        if issubclass(origin, tuple) and args and args[-1] is not Ellipsis:
            encoders = [_element_encoder(a) for a in args]
            return lambda v: {"L": [e(x) for e, x in zip(encoders, v, strict=True)]}
        if issubclass(origin, Sequence) and not issubclass(origin, str | bytes):
            element_type = strip_annotated(args[0]) if args else Any
            if element_type in (int, str, Any):
                return encode_list  # inlines int and str, and encodes None as NULL
            element = _element_encoder(element_type)
            return lambda v: {"L": [element(x) for x in v]}
    raise UnsupportedTypeError(f"{type_name(tp)} has no DynamoDB representation")


def _element_encoder(tp: Any) -> Callable[[Any], AttributeValue]:
    # Inside lists and maps a None must stay (as NULL) so the container round-trips exactly.
    inner = compile_encoder(tp)
    if inner is encode_any:
        return encode_any  # already encodes None as NULL
    if not _is_set_type(tp):
        return lambda value: {"NULL": True} if value is None else cast(AttributeValue, inner(value))

    def encode(value: Any) -> AttributeValue:
        if value is None:
            return {"NULL": True}
        av = inner(value)
        return {"L": []} if av is None else av  # an empty nested set

    return encode


def _is_set_type(tp: Any) -> bool:
    origin = get_origin(strip_optional(tp)) or strip_optional(tp)
    return isinstance(origin, type) and issubclass(origin, Set)


def _compile_set_encoder(element: Any) -> Encoder:
    element = strip_optional(element)
    if element is Any:
        return set_av
    values = literal_values(element)
    base: Any = element
    if values:
        base = type(cast(object, values[0]))
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return lambda v: set_av({m.value for m in v})
    if isinstance(base, type) and issubclass(base, str):
        return lambda v: {"SS": [str(x) for x in v]} if v else None
    if isinstance(base, type) and issubclass(base, bytes | bytearray):
        return lambda v: {"BS": [bytes(x) for x in v]} if v else None
    if number_kind(base) is not None:
        return lambda v: {"NS": [number_wire(x) for x in v]} if v else None
    raise UnsupportedTypeError(
        f"set[{type_name(element)}] has no DynamoDB representation "
        "(sets hold str, numbers or bytes)"
    )


def nested_models(tp: Any) -> list[type[BaseModel]]:
    """Every pydantic model class annotation `tp` reaches: members, elements, values."""
    tp = strip_annotated(tp)
    model = _model_class(tp)
    if model is not None:
        return [model]
    if literal_values(tp) is not None:
        return []
    return [m for arg in get_args(tp) for m in nested_models(arg)]


def compile_decoder(tp: Any) -> Decoder:
    """A decoder producing values pydantic validates into annotation `tp`.

    Every path to a nested model goes through that model's own `to_python`, which
    hands pydantic each field under the key pydantic reads it from.
    """
    tp = strip_optional(tp)
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if is_union(tp):
        models = [m for m in map(_model_class, map(strip_annotated, args)) if m is not None]
        return _union_decoder(models) if models else decode_any
    if isinstance(origin, type) and issubclass(origin, tuple) and args:
        return _tuple_decoder(args)
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
            value_decoder = compile_decoder(args[1])
            if value_decoder is decode_any:
                return decode_any
            value_decoder = _null_aware(value_decoder)
            return lambda av: (
                {k: value_decoder(x) for k, x in av["M"].items()} if "M" in av else decode_any(av)
            )
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
            if strip_annotated(args[0]) is str:
                return lambda av: set(av["SS"]) if "SS" in av else decode_any(av)
        if issubclass(origin, Sequence) and not issubclass(origin, str | bytes | tuple) and args:
            if strip_annotated(args[0]) is int:
                return _decode_int_list
            element_decoder = compile_decoder(args[0])
            if element_decoder is decode_any:
                return decode_any
            element_decoder = _null_aware(element_decoder)
            return lambda av: [element_decoder(x) for x in av["L"]] if "L" in av else decode_any(av)
    return decode_any


def _union_decoder(models: list[type[BaseModel]]) -> Decoder:
    """A map read into whichever model member validates with the most fields set.

    Picking the member here, with each model's own reader, keeps stored names that
    differ from what pydantic reads (`Attr`) right inside unions too.
    """

    def decode(av: AttributeValue) -> Any:
        if "M" not in av:
            return decode_any(av)
        best: BaseModel | None = None
        for model in models:
            try:
                data = nested_codec(model).to_python(av["M"])
                instance = model.__pydantic_validator__.validate_python(data)
            except ValidationError:
                continue
            if best is None or len(instance.model_fields_set) > len(best.model_fields_set):
                best = instance
        return decode_any(av) if best is None else best  # no model: pydantic tries the rest

    return decode


def _tuple_decoder(args: tuple[Any, ...]) -> Decoder:
    if args[-1] is Ellipsis:
        element = compile_decoder(args[0])
        if element is decode_any:
            return decode_any
        element = _null_aware(element)
        return lambda av: [element(x) for x in av["L"]] if "L" in av else decode_any(av)
    decoders = [compile_decoder(a) for a in args]
    if all(d is decode_any for d in decoders):
        return decode_any
    decoders = [_null_aware(d) for d in decoders]

    def decode(av: AttributeValue) -> Any:
        if "L" not in av or len(av["L"]) != len(decoders):
            return decode_any(av)  # pydantic reports the mismatch
        return [d(x) for d, x in zip(decoders, av["L"], strict=True)]

    return decode


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
    text = av.get("N")
    if text is None:
        return decode_any(av)
    try:
        return int(text)
    except ValueError:
        return _int_from_wire(text)


def _decode_int_list(av: AttributeValue) -> Any:
    try:
        return [int(x["N"]) for x in av["L"]]
    except (KeyError, ValueError):  # NULLs, or numbers spelled as decimals by other writers
        return (
            [None if "NULL" in x else _decode_int(x) for x in av["L"]]
            if "L" in av
            else (decode_any(av))
        )


def _decode_float(av: AttributeValue) -> Any:
    return float(av["N"]) if "N" in av else decode_any(av)


def _decode_decimal(av: AttributeValue) -> Any:
    return Decimal(av["N"]) if "N" in av else decode_any(av)


def _number_set(av: AttributeValue, conv: Callable[[str], Any]) -> Any:
    if "NS" in av:
        return {conv(v) for v in av["NS"]}
    return decode_any(av)


def _model_decoder(model: type[BaseModel]) -> Decoder:
    def decode(av: AttributeValue) -> Any:
        if "M" not in av:
            return decode_any(av)
        return nested_codec(model).to_python(av["M"])

    return decode


def sized_encoder(encoder: Encoder) -> Callable[[Any], tuple[AttributeValue | None, int]] | None:
    """A size-returning twin of a compiled encoder, when one exists (Any, lists, maps)."""
    if encoder is encode_any:
        return sized_any
    if encoder is encode_list:
        return sized_list
    if encoder is encode_map:
        return sized_map
    return None
