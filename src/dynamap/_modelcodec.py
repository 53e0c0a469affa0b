"""Per-class codecs for pydantic models, generated as straight-line Python once per class."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ._codec import (
    Decoder,
    Encoder,
    Item,
    UnsupportedTypeError,
    compile_decoder,
    compile_encoder,
)
from ._errors import EncodeError, ModelDefinitionError
from ._numbers import int_to_wire
from ._types import strip_optional

__all__ = ["FieldCodec", "ModelCodec", "codec_for"]


@dataclass(frozen=True)
class FieldCodec:
    """How one field is stored: Python name, DynamoDB attribute name, encoder and decoder."""

    name: str
    attr: str
    annotation: Any
    encode: Encoder
    decode: Decoder
    wire: str  # "S", "BOOL", "N_INT" for the inlined fast paths, "" otherwise


def _wire_kind(annotation: Any) -> str:
    tp = strip_optional(annotation)
    if tp is str:
        return "S"
    if tp is bool:
        return "BOOL"
    if tp is int:
        return "N_INT"
    return ""


class ModelCodec:
    """Encodes instances of one pydantic model to an attribute map and decodes them back."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        fields: list[FieldCodec] = []
        for name, info in model.model_fields.items():
            annotation = info.annotation
            try:
                encode = compile_encoder(annotation)
                decode = compile_decoder(annotation)
            except UnsupportedTypeError as exc:
                raise ModelDefinitionError(
                    f"{model.__qualname__}.{name}: unsupported type: {exc}"
                ) from None
            attr = info.alias or name
            fields.append(
                FieldCodec(name, attr, annotation, encode, decode, _wire_kind(annotation))
            )
        attrs = [f.attr for f in fields]
        duplicate = next((a for a in attrs if attrs.count(a) > 1), None)
        if duplicate is not None:
            raise ModelDefinitionError(
                f"{model.__qualname__}: two fields are stored as attribute {duplicate!r}"
            )
        self.fields: tuple[FieldCodec, ...] = tuple(fields)
        self.by_name = {f.name: f for f in fields}
        self.encode: Callable[[Any], Item] = _generate_encoder(model, self.fields)
        self.to_python: Callable[[Item], dict[str, Any]] = _generate_to_python(model, self.fields)
        self._validate = model.__pydantic_validator__.validate_python

    def decode(self, item: Item) -> Any:
        """Build a validated model instance from a DynamoDB item."""
        return self._validate(self.to_python(item))


def _generate_encoder(model: type[BaseModel], fields: tuple[FieldCodec, ...]) -> Any:
    namespace: dict[str, Any] = {"int_to_wire": int_to_wire, "EncodeError": EncodeError}
    lines = ["def encode(obj):", "    d = obj.__dict__", "    item = {}"]
    for i, f in enumerate(fields):
        attr = repr(f.attr)
        lines.append(f"    v = d[{f.name!r}]")
        lines.append("    if v is not None:")
        if f.wire == "S":
            lines.append(f"        item[{attr}] = {{'S': v}}")
        elif f.wire == "BOOL":
            lines.append(f"        item[{attr}] = {{'BOOL': v}}")
        elif f.wire == "N_INT":
            lines.append(f"        item[{attr}] = {{'N': int_to_wire(v)}}")
        else:
            namespace[f"e{i}"] = f.encode
            lines.append(f"        av = e{i}(v)")
            lines.append(f"        if av is not None: item[{attr}] = av")
    lines.append("    return item")
    return _compile(lines, namespace, "encode", model)


def _generate_to_python(model: type[BaseModel], fields: tuple[FieldCodec, ...]) -> Any:
    namespace: dict[str, Any] = {}
    lines = ["def to_python(item):", "    data = {}", "    get = item.get"]
    for i, f in enumerate(fields):
        attr = repr(f.attr)
        namespace[f"d{i}"] = f.decode
        lines.append(f"    av = get({attr})")
        lines.append("    if av is not None:")
        fast = {"S": "av['S']", "BOOL": "av['BOOL']"}.get(f.wire)
        # A NULL (written by another client for None) reads back as an absent attribute.
        if fast is None:
            lines.append("        if 'NULL' not in av:")
            lines.append(f"            data[{attr}] = d{i}(av)")
            continue
        lines += [
            "        try:",
            f"            data[{attr}] = {fast}",
            "        except KeyError:",
            "            if 'NULL' not in av:",
            f"                data[{attr}] = d{i}(av)",
        ]
    lines.append("    return data")
    return _compile(lines, namespace, "to_python", model)


def _compile(lines: list[str], namespace: dict[str, Any], name: str, model: type) -> Any:
    source = "\n".join(lines)
    code = compile(source, f"<dynamap {name} {model.__qualname__}>", "exec")
    exec(code, namespace)  # generated from field metadata only, never from data
    return namespace[name]


_CODECS: dict[type[BaseModel], ModelCodec] = {}
_LOCK = threading.Lock()


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
