"""Per-class codecs for pydantic models, generated as straight-line Python once per class."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from _dynamap.codec.compile import (
    Encoder,
    Item,
    UnsupportedTypeError,
    compile_decoder,
    compile_encoder,
    encode_any_list,
    encode_any_map,
    nested_models,
    sized_twin,
    walks,
)
from _dynamap.codec.freeze import is_immutable
from _dynamap.codec.generate import (
    FieldCodec,
    generate_encoder,
    generate_snapshot,
    generate_to_python,
)
from _dynamap.codec.nested import register
from _dynamap.declare.annotations import is_optional, literal_values, strip_optional
from _dynamap.declare.fieldnames import field_names
from _dynamap.errors import ModelDefinitionError

__all__ = ["FieldCodec", "ModelCodec", "check_nested", "codec_for"]


def _wire_kind(annotation: Any, encode: Encoder) -> str:
    """How a field is written and read inline, for the commonest types ("" if not)."""
    if encode is encode_any_map:
        return "M_ANY"
    if encode is encode_any_list:
        return "L_ANY"
    tp = strip_optional(annotation)
    if tp is str:
        return "S"
    if tp in (dt.datetime, dt.date, dt.time):
        return "S_TEXT"  # ISO-8601 text: written inline, read as text pydantic parses
    if tp is uuid.UUID:
        return "S_UUID"
    if tp is bool:
        return "BOOL"
    if tp is int:
        return "N_INT"
    if tp is float:
        return "N_FLOAT"
    if tp is Decimal:
        return "N_DECIMAL"
    return ""


class ModelCodec:
    """Encodes instances of one pydantic model to an attribute map and decodes them back."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        fields: list[FieldCodec] = []
        for names in field_names(model):
            info = model.model_fields[names.name]
            annotation = info.annotation
            try:
                encode = compile_encoder(annotation)
                decode = compile_decoder(annotation)
            except UnsupportedTypeError as exc:
                raise ModelDefinitionError(
                    f"{model.__qualname__}.{names.name}: unsupported type: {exc}"
                ) from None
            fields.append(
                FieldCodec(
                    name=names.name,
                    attr=names.attr,
                    key=names.key,
                    annotation=annotation,
                    encode=encode,
                    sized=sized_twin(encode),
                    walk=walks(encode),
                    decode=decode,
                    wire=_wire_kind(annotation, encode),
                    nullable=_nullable(annotation, info.default),
                )
            )
        self.fields: tuple[FieldCodec, ...] = tuple(fields)
        self.by_name = {f.name: f for f in fields}
        self.encode: Callable[[Any], Item] = generate_encoder(model, self.fields, "encode")
        self.encode_sized: Callable[[Any], tuple[Item, int]] = generate_encoder(
            model, self.fields, "encode_sized"
        )
        self.encode_checked: Callable[[Any], Item] = generate_encoder(
            model, self.fields, "encode_checked"
        )
        self.to_python: Callable[[Item], dict[str, Any]] = generate_to_python(
            model, self.fields, None
        )
        self.snapshot: Callable[[Any], tuple[Any, ...]] = generate_snapshot(model, self.fields)
        # Every field immutable: an instance changes by assignment only, never in place.
        self.immutable: bool = all(is_immutable(f.annotation) for f in self.fields)
        # decode(item): a validated instance; to_python inlined into one function.
        self.decode: Callable[[Item], Any] = generate_to_python(
            model, self.fields, model.__pydantic_validator__.validate_python
        )


def _nullable(annotation: Any, default: Any) -> bool:
    """True if None is a valid value of the field: Optional, `Any`, or None by default."""
    tp = strip_optional(annotation)
    return (
        is_optional(annotation)
        or default is None
        or tp is Any
        or tp is object
        or None in (literal_values(tp) or ())
    )


_CODECS: dict[type[BaseModel], ModelCodec] = {}
_LOCK = threading.Lock()


def check_nested(model: type[BaseModel]) -> None:
    """Build the codec of `model` and of every model class its fields reach.

    Nested codecs are otherwise built on first use; building them now makes a
    mistake in a nested declaration an error at class creation.
    """
    seen = {model}
    todo = [model]
    while todo:
        for f in codec_for(todo.pop()).fields:
            for nested in nested_models(f.annotation):
                # A class pydantic has not completed yet is checked when first used.
                if nested not in seen and nested.__pydantic_complete__:
                    seen.add(nested)
                    todo.append(nested)


def codec_for(model: type[BaseModel]) -> ModelCodec:
    """The codec of `model`, built on first use and cached for the life of the class."""
    codec = _CODECS.get(model)
    if codec is None:
        with _LOCK:
            codec = _CODECS.get(model)
            if codec is None:
                codec = ModelCodec(model)
                _CODECS[model] = codec
    return codec


register(codec_for)
