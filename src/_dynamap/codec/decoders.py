"""Value decoders: DynamoDB AttributeValues to the Python values pydantic validates into
each annotation, compiled once per type. Every path to a nested model goes through
that model's own reader."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence, Set
from decimal import Decimal
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from _dynamap.codec.nested import nested_codec
from _dynamap.codec.values import (
    AttributeValue,
    Decoder,
    decode_any,
)
from _dynamap.declare.annotations import (
    is_union,
    literal_values,
    strip_annotated,
    strip_optional,
)
from _dynamap.declare.fieldnames import field_names

__all__ = ["compile_decoder", "model_class", "nested_models", "number_kind"]

_NUMBER_TYPES: tuple[type, ...] = (int, float, Decimal)


def number_kind(tp: Any) -> type | None:
    """For an int/float/Decimal annotation (or subclass), that base type; otherwise None."""
    tp = strip_annotated(tp)
    if isinstance(tp, type) and not issubclass(tp, bool | enum.Enum):
        for base in _NUMBER_TYPES:
            if issubclass(tp, base):
                return base
    return None


def model_class(tp: Any) -> type[BaseModel] | None:
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def compile_decoder(tp: Any) -> Decoder:
    """A decoder producing values pydantic validates into annotation `tp`.

    Every path to a nested model goes through that model's own `to_python`, which
    hands pydantic each field under the key pydantic reads it from.
    """
    tp = strip_optional(tp)
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if is_union(tp):
        members = [strip_annotated(a) for a in args]
        models = [m for m in map(model_class, members) if m is not None]
        if not models:
            return decode_any
        # A map member (a dict, Any) takes a map as it is, as pydantic would choose it.
        maps = any(m is Any or _is_mapping(m) for m in members)
        return _union_decoder(models, only_if_renamed=maps)
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
        model = model_class(origin)
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


def _union_decoder(models: list[type[BaseModel]], *, only_if_renamed: bool) -> Decoder:
    """A map read into whichever model member validates with the most fields set
    (pydantic's own rule for maps), each through the model's own reader, so stored
    names that differ from what pydantic reads (`Attr`) are right inside unions too.

    With `only_if_renamed` (the union also has a map member), maps are handed to
    pydantic as they are unless some model member needs its reader.
    """
    needed: list[bool] = []  # decided on first use, once every class is complete

    def decode(av: AttributeValue) -> Any:
        if "M" not in av:
            return decode_any(av)
        if not needed:
            needed.append(not only_if_renamed or any(_renames(m, set()) for m in models))
        if not needed[0]:
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


def _renames(model: type[BaseModel], seen: set[type[BaseModel]]) -> bool:
    """True if pydantic reads some field of `model`, or of a model inside it, under
    another name than it is stored under."""
    seen.add(model)
    for names in field_names(model):
        if names.attr != names.key:
            return True
        annotation = model.model_fields[names.name].annotation
        for nested in nested_models(annotation):
            if nested not in seen and _renames(nested, seen):
                return True
    return False


def _is_mapping(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, Mapping)


def nested_models(tp: Any) -> list[type[BaseModel]]:
    """Every pydantic model class annotation `tp` reaches: members, elements, values."""
    tp = strip_annotated(tp)
    model = model_class(tp)
    if model is not None:
        return [model]
    if literal_values(tp) is not None:
        return []
    return [m for arg in get_args(tp) for m in nested_models(arg)]


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
