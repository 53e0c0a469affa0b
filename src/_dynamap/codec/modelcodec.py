"""Per-class codecs for pydantic models, generated as straight-line Python once per class."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from _dynamap.codec.compile import (
    Decoder,
    Encoder,
    Item,
    UnsupportedTypeError,
    compile_decoder,
    compile_encoder,
    nested_models,
    sized_encoder,
)
from _dynamap.codec.freeze import freeze, is_immutable
from _dynamap.codec.nested import register
from _dynamap.codec.numbers import int_to_wire
from _dynamap.codec.size import MAX_ITEM_BYTES, number_size, too_large, value_size
from _dynamap.declare.annotations import strip_optional
from _dynamap.declare.fieldnames import field_names
from _dynamap.errors import ModelDefinitionError

__all__ = ["FieldCodec", "ModelCodec", "check_nested", "codec_for"]


@dataclass(frozen=True)
class FieldCodec:
    """How one field is stored: Python name, DynamoDB attribute name, encoder and decoder."""

    name: str
    attr: str
    key: str  # the key of its value in the dict handed to pydantic's validation
    annotation: Any
    encode: Encoder
    decode: Decoder
    wire: str  # "S", "BOOL", "N_INT", "N_FLOAT", "N_DECIMAL" for inlined paths, "" otherwise


def _wire_kind(annotation: Any) -> str:
    tp = strip_optional(annotation)
    if tp is str:
        return "S"
    if tp in (dt.datetime, dt.date, dt.time, uuid.UUID):
        return "S_TEXT"  # stored as text that pydantic parses: read, but never write, inline
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
            annotation = model.model_fields[names.name].annotation
            try:
                encode = compile_encoder(annotation)
                decode = compile_decoder(annotation)
            except UnsupportedTypeError as exc:
                raise ModelDefinitionError(
                    f"{model.__qualname__}.{names.name}: unsupported type: {exc}"
                ) from None
            wire = _wire_kind(annotation)
            fields.append(
                FieldCodec(names.name, names.attr, names.key, annotation, encode, decode, wire)
            )
        self.fields: tuple[FieldCodec, ...] = tuple(fields)
        self.by_name = {f.name: f for f in fields}
        self.encode: Callable[[Any], Item] = _generate_encoder(model, self.fields, checked=False)
        self.encode_checked: Callable[[Any], Item] = _generate_encoder(
            model, self.fields, checked=True
        )
        self.to_python: Callable[[Item], dict[str, Any]] = _generate_to_python(
            model, self.fields, None
        )
        self.snapshot: Callable[[Any], tuple[Any, ...]] = _generate_snapshot(model, self.fields)
        # Every field immutable: an instance changes by assignment only, never in place.
        self.immutable: bool = all(is_immutable(f.annotation) for f in self.fields)
        # decode(item): a validated instance; to_python inlined into one function.
        self.decode: Callable[[Item], Any] = _generate_to_python(
            model, self.fields, model.__pydantic_validator__.validate_python
        )


class _Source:
    """Generated source text and the values it names.

    Attribute names, field names and helpers never appear in the source text: each
    is a value bound to a generated identifier (`a0`, `n0`, ...), so no name can
    be misread as code, as a format template or as a string escape.
    """

    def __init__(self, **values: Any) -> None:
        self.lines: list[str] = []
        self.values: dict[str, Any] = dict(values)

    def bind(self, prefix: str, index: int, value: Any) -> str:
        """The identifier under which the generated code sees `value`."""
        name = f"{prefix}{index}"
        self.values[name] = value
        return name

    def __iadd__(self, lines: list[str]) -> _Source:
        self.lines += lines
        return self

    def compile(self, name: str, model: type) -> Any:
        """Compile `def {name}` inside a factory whose parameters are the bound values.

        The values become closure cells: fast to read, and not module globals.
        """
        params = ", ".join(self.values)
        body = "\n".join("    " + line for line in self.lines)
        source = f"def make({params}):\n{body}\n    return {name}\n"
        code = compile(source, f"<dynamap {name} {model.__qualname__}>", "exec")
        namespace: dict[str, Any] = {}
        exec(code, namespace)  # generated from generated identifiers only, never from data
        return namespace["make"](**self.values)


def _generate_encoder(
    model: type[BaseModel], fields: tuple[FieldCodec, ...], *, checked: bool
) -> Any:
    """Straight-line encoder; with `checked`, it also sizes the item and enforces 400 KB.

    `encode_checked(obj)` sizes each attribute as it is encoded (nested data
    through size-returning encoders), so the limit costs no second walk.
    """
    src = _Source(
        int_to_wire=int_to_wire,
        L=10**38,
        number_size=number_size,
        value_size=value_size,
        too_large=too_large,
        MAX=MAX_ITEM_BYTES,
        what=f"{model.__qualname__} item",
    )
    lines = ["def encode(obj):"]
    lines += ["    d = obj.__dict__", "    item = {}", "    n = 0"]
    for i, f in enumerate(fields):
        a = src.bind("a", i, f.attr)
        name_size = len(f.attr.encode())  # an int: safe to write as a literal
        lines.append(f"    v = d[{src.bind('n', i, f.name)}]")
        lines.append("    if v is not None:")
        if f.wire == "S":
            lines.append(f"        item[{a}] = {{'S': v}}")
            if checked:
                lines.append(
                    f"        n += {name_size} + (len(v) if v.isascii() else len(v.encode()))"
                )
        elif f.wire == "BOOL":
            lines.append(f"        item[{a}] = {{'BOOL': v}}")
            if checked:
                lines.append(f"        n += {name_size} + 1")
        elif f.wire == "N_INT":
            lines.append(
                "        t = str(v) if v.__class__ is int and -L < v < L else int_to_wire(v)"
            )
            lines.append(f"        item[{a}] = {{'N': t}}")
            if checked:
                lines.append(f"        n += {name_size} + number_size(t)")
        elif checked and sized_encoder(f.encode) is not None:
            z = src.bind("z", i, sized_encoder(f.encode))
            lines.append(f"        av, s = {z}(v)")
            lines.append(f"        item[{a}] = av")
            lines.append(f"        n += {name_size} + s")
        else:
            e = src.bind("e", i, f.encode)
            lines.append(f"        av = {e}(v)")
            lines.append("        if av is not None:")
            lines.append(f"            item[{a}] = av")
            if checked:
                lines.append(f"            n += {name_size} + value_size(av)")
    if checked:
        lines.append("    if n > MAX:")
        lines.append("        raise too_large(n, what)")
    lines.append("    return item")
    src += lines
    return src.compile("encode", model)


# Inline reads of plain scalars; `{}` is the bound identifier of the attribute name.
_FAST_READ = {
    "S": "item[{}]['S']",
    "S_TEXT": "item[{}]['S']",
    "BOOL": "item[{}]['BOOL']",
    "N_INT": "int(item[{}]['N'])",
    "N_FLOAT": "float(item[{}]['N'])",
    "N_DECIMAL": "Decimal(item[{}]['N'])",
}


def _generate_to_python(
    model: type[BaseModel], fields: tuple[FieldCodec, ...], validate: Callable[[Any], Any] | None
) -> Any:
    """to_python(item): field values pydantic validates; with `validate`, decode(item).

    Plain scalars are read inline. Anything unusual (an absent attribute, a NULL, a
    number spelled otherwise, another type) falls back to the field's full decoder.
    """
    src = _Source(Decimal=Decimal, validate=validate)
    name = "to_python" if validate is None else "decode"
    lines = [f"def {name}(item):", "    data = {}", "    get = item.get"]
    for i, f in enumerate(fields):
        a = src.bind("a", i, f.attr)
        d = src.bind("d", i, f.decode)
        # A NULL (written by another client for None) reads back as an absent attribute.
        k = src.bind("k", i, f.key)
        general = [
            f"av = get({a})",
            "if av is not None and 'NULL' not in av:",
            f"    data[{k}] = {d}(av)",
        ]
        fast = _FAST_READ.get(f.wire)
        if fast is None:
            lines += ["    " + line for line in general]
            continue
        lines += ["    try:", f"        data[{k}] = {fast.format(a)}", "    except Exception:"]
        lines += ["        " + line for line in general]
    lines.append("    return data" if validate is None else "    return validate(data)")
    src += lines
    return src.compile(name, model)


def _generate_snapshot(model: type[BaseModel], fields: tuple[FieldCodec, ...]) -> Any:
    """snapshot(obj): a tuple that differs whenever the stored item would differ.

    Immutable scalar fields are taken as they are; containers, nested models and
    `Any` values are frozen recursively. Far cheaper than encoding the item.
    """
    src = _Source(freeze=freeze)
    parts: list[str] = []
    for i, f in enumerate(fields):
        value = f"d[{src.bind('n', i, f.name)}]"
        parts.append(value if is_immutable(f.annotation) else f"freeze({value})")
    src += ["def snapshot(obj):", "    d = obj.__dict__", f"    return ({', '.join(parts)},)"]
    return src.compile("snapshot", model)


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
