"""A model's batched-put item written straight as DynamoDB's request JSON, or nothing.

`generate_json_encoder` compiles, once per model, `encode_json(obj) -> bytes | None`:
the item's JSON text (binary values aside, as `transport.wire.encode_body` would write
it, non-ASCII text as UTF-8) built from the instance's values without the intermediate
attribute-value dicts.
It is only a shortcut. It handles the plain cases (exact built-in classes, text that
has a UTF-8 form, items clearly within the size limit, key values clearly within
theirs) and answers None for anything else, including any exception. The caller then
takes the checked encoder, which alone decides what is refused and how the error
reads. So this module never raises for a value and never words an error.

Measured on the benchmark's ~1 KB item (`bench/README.md`): 20 µs against 36 µs for
the checked encoder's dict followed by `pydantic_core.to_json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, get_args

import pydantic_core

from _dynamap.codec.generate import FieldCodec, Source
from _dynamap.codec.numbers import decimal_to_wire, float_to_wire
from _dynamap.codec.size import MAX_DEPTH, MAX_ITEM_BYTES
from _dynamap.codec.values import INT_FAST, sized_any
from _dynamap.declare.annotations import strip_optional

__all__ = ["JsonEncoder", "KeyLimit", "generate_json_encoder"]

JsonEncoder = Callable[[Any], "bytes | None"]
# A key or index-key attribute: its wire type ("S", "N", "B"), a length below which no
# value can be over its limit (a quarter of the byte limit: 4 bytes a character), and
# whether it may be absent (an index key: the item is left out of the index).
KeyLimit = tuple[str, int, bool]

# A JSON text holding a binary value ("B" or "BS" with a string in compact output):
# pydantic-core writes bytes as URL-safe base64, so such a value takes the slow path.
_BINARY = (b'"B":"', b'"BS":[')

# Inline values by wire kind: (condition, statement setting `t`, size, text around `t`).
# Sizes count as the checked encoder counts them, numbers by their bound len(t) + 1 (see
# generate.py). `{c}` is the field's exact class.
_INLINE: dict[str, tuple[str, str, str, tuple[str, str]]] = {
    "S": (
        "v.__class__ is str",
        "t = esc(v)",
        "(len(v) if v.isascii() else len(v.encode()))",
        ('{"S":', "}"),
    ),
    "BOOL": ("v is True or v is False", "t = 'true' if v else 'false'", "1", ('{"BOOL":', "}")),
    "N_INT": ("v.__class__ is int and -L < v < L", "t = str(v)", "len(t) + 1", ('{"N":"', '"}')),
    "N_FLOAT": ("v.__class__ is float", "t = float_to_wire(v)", "len(t) + 1", ('{"N":"', '"}')),
    "N_DECIMAL": (
        "v.__class__ is Decimal",
        "t = decimal_to_wire(v)",
        "len(t) + 1",
        ('{"N":"', '"}'),
    ),
    # ISO-8601 text and a UUID's hex: ASCII with nothing to escape.
    "S_TEXT": ("v.__class__ is {c}", "t = v.isoformat()", "len(t)", ('{"S":"', '"}')),
    "S_UUID": ("v.__class__ is {c}", "t = str(v)", "len(t)", ('{"S":"', '"}')),
}
_KIND = {"S": "S", "S_TEXT": "S", "S_UUID": "S", "N_INT": "N", "N_FLOAT": "N", "N_DECIMAL": "N"}


# C, and non-ASCII text left as it is (UTF-8 in the request, as `encode_body` writes it):
# `\uXXXX` escapes would make CJK text 2x and emoji 3x larger, and a full batch of
# such items larger than DynamoDB's 16 MB request limit. Escapes `"`, `\` and control
# characters as pydantic-core does.
_esc: Callable[[str], str] = json.encoder.encode_basestring


class _Unplain(Exception):
    """A value this module leaves to the checked encoder."""


def _fragment(av: Any) -> str:
    """The JSON of an encoded attribute value (not one holding binary data)."""
    text = pydantic_core.to_json(av)
    if _BINARY[0] in text or _BINARY[1] in text:
        raise _Unplain
    return text.decode()


def json_map(value: dict[Any, Any], depth: int = 1) -> tuple[str, int]:
    """A runtime-typed map's JSON and (a bound on) its size, as `sized_map` counts it.

    Only exact, non-empty str keys: a key `map_key` converts could meet its twin
    (a str enum member and its value), which the dict path merges and JSON would repeat.
    """
    if depth > MAX_DEPTH:
        raise _Unplain
    parts: list[str] = []
    append = parts.append
    size = 3
    inner = depth + 1
    for k, v in value.items():
        if k.__class__ is not str or not k:
            raise _Unplain
        size += 1 + (len(k) if k.isascii() else len(k.encode()))
        cls = v.__class__
        if cls is str:  # the commonest leaves inlined, as in sized_map
            append(f'{_esc(k)}:{{"S":{_esc(v)}}}')
            size += len(v) if v.isascii() else len(v.encode())
        elif cls is bool:
            append(f'{_esc(k)}:{{"BOOL":true}}' if v else f'{_esc(k)}:{{"BOOL":false}}')
            size += 1
        elif cls is int and -INT_FAST < v < INT_FAST:
            text = str(v)
            append(f'{_esc(k)}:{{"N":"{text}"}}')
            size += len(text) + 1
        else:
            text, n = _json_any(v, inner)
            append(f"{_esc(k)}:{text}")
            size += n
    return '{"M":{' + ",".join(parts) + "}}", size


def json_list(value: list[Any] | tuple[Any, ...], depth: int = 1) -> tuple[str, int]:
    """A runtime-typed list's JSON and (a bound on) its size, as `sized_list` counts it."""
    if depth > MAX_DEPTH:
        raise _Unplain
    parts: list[str] = []
    append = parts.append
    size = 3 + len(value)  # a byte per element
    inner = depth + 1
    for v in value:
        cls = v.__class__
        if cls is str:
            append(f'{{"S":{_esc(v)}}}')
            size += len(v) if v.isascii() else len(v.encode())
        elif cls is int and -INT_FAST < v < INT_FAST:
            text = str(v)
            append(f'{{"N":"{text}"}}')
            size += len(text) + 1
        else:
            text, n = _json_any(v, inner)
            append(text)
            size += n
    return '{"L":[' + ",".join(parts) + "]}", size


def json_ints(value: list[int]) -> tuple[str, int]:
    """A non-empty list of exact ints as an L value's JSON, and (a bound on) its size."""
    if max(value) >= INT_FAST or min(value) <= -INT_FAST:
        raise _Unplain
    texts = [str(x) for x in value]
    # 3 for the list, and per element a byte and its number's bound len(t) + 1
    size = 3 + 2 * len(texts) + sum(map(len, texts))
    return '{"L":[{"N":"' + '"},{"N":"'.join(texts) + '"}]}', size


def _json_any(value: Any, depth: int) -> tuple[str, int]:
    cls = value.__class__
    if cls is str:
        return f'{{"S":{_esc(value)}}}', len(value) if value.isascii() else len(value.encode())
    if cls is int and -INT_FAST < value < INT_FAST:
        text = str(value)
        return f'{{"N":"{text}"}}', len(text) + 1
    if cls is bool:
        return ('{"BOOL":true}' if value else '{"BOOL":false}'), 1
    if cls is dict:
        return json_map(value, depth)
    if cls is list or cls is tuple:
        return json_list(value, depth)
    av, n = sized_any(value, depth)  # anything else as the checked encoder writes it
    return _fragment(av), n


def generate_json_encoder(
    model: type, fields: tuple[FieldCodec, ...], keys: Mapping[str, KeyLimit]
) -> JsonEncoder | None:
    """`encode_json(obj)`: the JSON of `obj`'s item, or None where it cannot tell cheaply.

    `keys` maps the attribute name of every table and index key to its limits; the
    encoder answers None for a key value that is empty or possibly too long. A model
    with a key attribute it cannot write inline (binary, or of the wrong type) gets
    no encoder (None).

    Args:
        model: the model class, for the generated function's name.
        fields: the model's field codecs, in item order.
        keys: the key and index-key attributes, with their wire type and length bound.
    """
    by_attr = {f.attr: f for f in fields}
    for attr, (kind, _, _) in keys.items():
        field = by_attr.get(attr)
        if field is None or _KIND.get(field.wire) != kind:
            return None
    src = Source(
        L=INT_FAST,
        Decimal=Decimal,
        esc=_esc,
        float_to_wire=float_to_wire,
        decimal_to_wire=decimal_to_wire,
        fragment=_fragment,
        json_map=json_map,
        json_list=json_list,
        json_ints=json_ints,
        json_strs=json_strs,
        MAX=MAX_ITEM_BYTES,
    )
    lines = ["def encode_json(obj):", "    d = obj.__dict__", "    p = []", "    a = p.append"]
    lines += ["    n = 0", "    try:"]
    for i, f in enumerate(fields):
        lines += ["        " + line for line in _write_field(src, i, f, keys.get(f.attr))]
    lines += ["    except Exception:", "        return None"]
    lines += ["    if n > MAX or not p:", "        return None"]
    # Every value opens with `,"attr":`: the first comma becomes the item's brace.
    lines += ["    text = ''.join(p)", "    try:"]
    # Sizing has refused text with no UTF-8 form already; this is the never-raise guard.
    lines += ["        return ('{' + text[1:] + '}').encode()", "    except UnicodeEncodeError:"]
    lines += ["        return None"]
    src += lines
    return src.compile("encode_json", model)  # type: ignore[no-any-return]


def _write_field(src: Source, i: int, f: FieldCodec, limit: KeyLimit | None) -> list[str]:
    name = "," + _esc(f.attr) + ":"  # bound, never in the source text
    name_size = len(f.attr.encode())
    lines = [f"v = d[{src.bind('n', i, f.name)}]"]
    # Anything the inline forms do not take: the field's sized encoder checks and
    # encodes it, and the attribute value is written as JSON (None if it holds binary).
    h = src.bind("h", i, name)
    general = [
        f"av, s = {src.bind('z', i, f.sized)}(v)",
        "if av is not None:",
        f"    a({h} + fragment(av))",
        f"    n += {name_size} + s",
    ]
    inline = _INLINE.get(f.wire)
    container = _container(f)
    if inline is not None:
        condition, statement, size, (before, after) = inline
        if "{c}" in condition:
            condition = condition.format(c=src.bind("c", i, strip_optional(f.annotation)))
        if limit is not None and limit[0] == "S":  # never empty, surely within the limit
            condition += f" and 0 < len(v) <= {limit[1]}"
        h = src.bind("h", i, name + before)
        tail = src.bind("t", i, after)
        lines += [f"if {condition}:", f"    {statement}", f"    a(f'{{{h}}}{{t}}{{{tail}}}')"]
        lines.append(f"    n += {name_size} + {size}")
        general = ["return None"]  # e.g. an int subclass, or a key value possibly too long
    elif container is not None:
        condition, call = container
        if "{e}" in condition:
            condition = condition.format(e=src.bind("e", i, _element(f)))
        lines += [f"if {condition}:", f"    t, s = {call}", f"    a({h} + t)"]
        lines.append(f"    n += {name_size} + s")
    elif f.nullable:
        return [*lines, "if v is not None:", *["    " + line for line in general]]
    else:
        return lines + general
    if f.nullable and (limit is None or limit[2]):  # a table key is never absent
        lines += ["elif v is None:", "    pass"]
    return [*lines, "else:", *["    " + line for line in general]]


def _container(f: FieldCodec) -> tuple[str, str] | None:
    """(condition, call) for a container field written by this module's JSON twins."""
    if f.wire == "M_ANY":
        return "v.__class__ is dict", "json_map(v)"
    if f.wire == "L_ANY":
        return "v.__class__ is list", "json_list(v)"
    tp = strip_optional(f.annotation)
    if tp == list[int]:  # exact elements only, as the sized encoder inlines
        return "v.__class__ is list and v and {e}.issuperset(map(type, v))", "json_ints(v)"
    if tp == list[str]:
        return "v.__class__ is list and {e}.issuperset(map(type, v))", "json_list(v)"
    if tp == set[str]:  # an empty set is omitted: the sized encoder says so
        return "v.__class__ is set and v and {e}.issuperset(map(type, v))", "json_strs(v)"
    return None


def _element(f: FieldCodec) -> frozenset[type]:
    return frozenset(get_args(strip_optional(f.annotation)))


def json_strs(value: set[str]) -> tuple[str, int]:
    """A non-empty set of exact str as an SS value's JSON, and its size."""
    size = 0
    for text in value:
        size += len(text) if text.isascii() else len(text.encode())
    return '{"SS":[' + ",".join(map(_esc, value)) + "]}", size
