"""Value codecs: Python values to DynamoDB AttributeValues and back, compiled once per type.

Never goes through boto3's TypeSerializer/TypeDeserializer: each field gets an
encoder and a decoder chosen from its annotation when the model class is built.
Encoders are strict (see `scalars` and `containers`); decoders are in `decoders`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from decimal import Decimal
from typing import Any, cast, get_args, get_origin

from _dynamap.codec.containers import (
    element_encoder,
    encode_any_list,
    encode_any_map,
    list_encoder,
    map_encoder,
    set_encoder,
    tuple_encoder,
)
from _dynamap.codec.decoders import compile_decoder, model_class, nested_models, number_kind
from _dynamap.codec.scalars import (
    as_bytes,
    as_str,
    decimal_text,
    encode_bool,
    encode_bytes,
    encode_decimal,
    encode_float,
    encode_int,
    encode_str,
    encode_uuid,
    enum_encoder,
    float_text,
    int_text,
    literal_encoder,
    model_encoder,
    temporal_encoder,
    union_encoder,
)
from _dynamap.codec.twins import sized_twin, walks
from _dynamap.codec.values import (
    AttributeValue,
    Decoder,
    Encoder,
    Item,
    decode_any,
    encode_any,
)
from _dynamap.declare.annotations import (
    is_optional,
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
    "encode_any_list",
    "encode_any_map",
    "nested_models",
    "number_kind",
    "sized_twin",
    "walks",
]


class UnsupportedTypeError(TypeError):
    """An annotation has no DynamoDB representation."""


def compile_encoder(tp: Any) -> Encoder:
    """A strict encoder for values of annotation `tp` (a value of another type is an
    EncodeError); raises UnsupportedTypeError if the type cannot be stored."""
    tp = strip_optional(tp)
    if tp is Any or tp is object:
        return encode_any
    if is_union(tp):
        # Compiling every member also rejects a union with an unsupported member up front.
        members = [compile_encoder(m) for m in get_args(tp)]
        return union_encoder(members, " | ".join(type_name(m) for m in get_args(tp)))
    values = literal_values(tp)
    if values is not None:
        for v in values:
            encode_any(v)
        return literal_encoder(values)
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if isinstance(origin, type):
        if issubclass(origin, enum.Enum):
            return enum_encoder(origin)
        if issubclass(origin, bool):
            return encode_bool
        if issubclass(origin, str):
            return encode_str
        kind = number_kind(origin)
        if kind is not None:
            return {int: encode_int, float: encode_float, Decimal: encode_decimal}[kind]
        if issubclass(origin, bytes | bytearray):
            return encode_bytes
        if issubclass(origin, dt.datetime | dt.date | dt.time):
            return temporal_encoder(origin)
        if issubclass(origin, uuid.UUID):
            return encode_uuid
        nested = model_class(origin)
        if nested is not None:
            return model_encoder(nested)
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
            value_type = args[1] if len(args) == 2 else Any
            return map_encoder(_element_encoder(value_type), type_name(tp))
        if issubclass(origin, tuple) and args and args[-1] is not Ellipsis:
            return tuple_encoder([_element_encoder(a) for a in args], type_name(tp))
        if issubclass(origin, Sequence) and not issubclass(origin, str | bytes):
            return list_encoder(_element_encoder(args[0] if args else Any), type_name(tp))
    raise UnsupportedTypeError(f"{type_name(tp)} has no DynamoDB representation")


def _element_encoder(tp: Any) -> Encoder:
    # Inside lists and maps a None stays (as NULL) where the type allows it, so the
    # container round-trips exactly; elsewhere None is a wrong value.
    nullable = is_optional(tp) or None in (literal_values(strip_optional(tp)) or ())
    return element_encoder(compile_encoder(tp), nullable=nullable, is_set=_is_set_type(tp))


def _is_set_type(tp: Any) -> bool:
    origin = get_origin(strip_optional(tp)) or strip_optional(tp)
    return isinstance(origin, type) and issubclass(origin, Set)


_SET_MEMBERS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    str: ("SS", as_str),
    bytes: ("BS", as_bytes),
    int: ("NS", int_text),
    float: ("NS", float_text),
    Decimal: ("NS", decimal_text),
}


def _compile_set_encoder(element: Any) -> Encoder:
    element = strip_optional(element)
    name = f"set[{type_name(element)}]"
    if element is Any:
        return set_encoder("", None, name)
    base: Any = element
    check: Encoder | None = None
    values = literal_values(element)
    if values:
        kinds = {type(cast(object, v)) for v in values}
        if len(kinds) != 1:
            raise _unsupported_set(element)
        base, check = kinds.pop(), literal_encoder(values)  # check raises outside the Literal
    if isinstance(base, type) and issubclass(base, enum.Enum):
        member = check or enum_encoder(base)

        def enum_value(x: Any) -> Any:
            member(x)
            return x.value

        return set_encoder("", enum_value, name)  # stored by the values' runtime type
    kind, to_wire = _set_members(base, element)
    if check is None:
        return set_encoder(kind, to_wire, name)
    literal = check

    def checked(x: Any) -> Any:
        literal(x)
        return to_wire(x)

    return set_encoder(kind, checked, name)


def _set_members(base: Any, element: Any) -> tuple[str, Callable[[Any], Any]]:
    if isinstance(base, type) and not issubclass(base, bool):
        for cls, found in _SET_MEMBERS.items():
            if issubclass(base, cls if cls is not bytes else bytes | bytearray):
                return found
    raise _unsupported_set(element)


def _unsupported_set(element: Any) -> UnsupportedTypeError:
    return UnsupportedTypeError(
        f"set[{type_name(element)}] has no DynamoDB representation "
        "(sets hold str, numbers or bytes)"
    )
