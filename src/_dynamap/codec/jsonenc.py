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

The 400 KB limit costs no counting: the JSON's UTF-8 length bounds the item's size.
Every part of the JSON is at least as long as what DynamoDB counts for it: a name or
text in quotes (escapes only add), a number's text (at least two digits a byte) in
`{"N":"..."}`, a list's or map's brackets and commas (3 bytes a container and one an
element or entry, counted by DynamoDB, are fewer than their wrappers). So a JSON of at
most 400 KB is an item within the limit, and a longer one is sized exactly by the
checked encoder. Text with no UTF-8 form (a lone surrogate) fails the final encode.

Measured on the benchmark's ~1 KB item (1,000 items, best of 15 runs): about 16 µs
against 26 µs for the checked encoder's dict, `check_item` and `pydantic_core.to_json`.
Filling one `%` template instead of joining a piece per field: 18.9 against 20.3 µs
(10,000 cold items, median of 15 interleaved runs in one process).
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

__all__ = ["BINARY_MARKERS", "JsonEncoder", "KeyLimit", "generate_json_encoder"]

JsonEncoder = Callable[[Any], "bytes | None"]
# A key or index-key attribute: its wire type ("S", "N", "B"), a length below which no
# value can be over its limit (a quarter of the byte limit: 4 bytes a character), and
# whether it may be absent (an index key: the item is left out of the index).
KeyLimit = tuple[str, int, bool]

# Substrings a binary value (B, or BS with its strings) makes in compact JSON output;
# inside a JSON string a quote is always escaped, so only such a value looks like that.
# pydantic-core writes bytes as URL-safe base64 where DynamoDB wants the standard
# alphabet: a fragment holding one takes the checked path here, and `encode_body`
# re-encodes a body holding one.
BINARY_MARKERS = (b'"B":"', b'"BS":[')

# Inline values by wire kind: (condition, expression of the value's text, text around
# it). `{c}` is the field's exact class. An int is formatted by the template itself.
_INLINE: dict[str, tuple[str, str, tuple[str, str]]] = {
    "S": ("v.__class__ is str", "esc(v)", ('{"S":', "}")),
    "BOOL": ("v is True or v is False", "'true' if v else 'false'", ('{"BOOL":', "}")),
    "N_INT": ("v.__class__ is int and -L < v < L", "v", ('{"N":"', '"}')),
    "N_FLOAT": ("v.__class__ is float", "float_to_wire(v)", ('{"N":"', '"}')),
    "N_DECIMAL": ("v.__class__ is Decimal", "decimal_to_wire(v)", ('{"N":"', '"}')),
    # ISO-8601 text and a UUID's hex: ASCII with nothing to escape.
    "S_TEXT": ("v.__class__ is {c}", "v.isoformat()", ('{"S":"', '"}')),
    "S_UUID": ("v.__class__ is {c}", "str(v)", ('{"S":"', '"}')),
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
    if BINARY_MARKERS[0] in text or BINARY_MARKERS[1] in text:
        raise _Unplain
    return text.decode()


def json_map(value: dict[Any, Any], depth: int = 1) -> str:
    """A runtime-typed map's JSON, as `sized_map` encodes it (checked to the same depth).

    Only exact, non-empty str keys: a key `map_key` converts could meet its twin
    (an enum member and its value), which the dict path merges and JSON would repeat.
    """
    if depth > MAX_DEPTH:
        raise _Unplain
    parts: list[str] = []
    append = parts.append
    inner = depth + 1
    for k, v in value.items():
        if k.__class__ is not str or not k:
            raise _Unplain
        cls = v.__class__
        if cls is str:  # the commonest leaves inlined, as in sized_map
            append(f'{_esc(k)}:{{"S":{_esc(v)}}}')
        elif cls is bool:
            append(f'{_esc(k)}:{{"BOOL":true}}' if v else f'{_esc(k)}:{{"BOOL":false}}')
        elif cls is int and -INT_FAST < v < INT_FAST:
            append(f'{_esc(k)}:{{"N":"{v}"}}')
        else:
            append(f"{_esc(k)}:{_json_any(v, inner)}")
    return '{"M":{' + ",".join(parts) + "}}"


def json_list(value: list[Any] | tuple[Any, ...], depth: int = 1) -> str:
    """A runtime-typed list's JSON, as `sized_list` encodes it."""
    if depth > MAX_DEPTH:
        raise _Unplain
    parts: list[str] = []
    append = parts.append
    inner = depth + 1
    for v in value:
        cls = v.__class__
        if cls is str:
            append(f'{{"S":{_esc(v)}}}')
        elif cls is int and -INT_FAST < v < INT_FAST:
            append(f'{{"N":"{v}"}}')
        else:
            append(_json_any(v, inner))
    return '{"L":[' + ",".join(parts) + "]}"


def json_ints(value: list[int]) -> str:
    """A non-empty list of exact ints as an L value's JSON."""
    if max(value) >= INT_FAST or min(value) <= -INT_FAST:
        raise _Unplain
    return '{"L":[{"N":"' + '"},{"N":"'.join(map(str, value)) + '"}]}'


def json_strs(value: set[str]) -> str:
    """A non-empty set of exact str as an SS value's JSON."""
    return '{"SS":[' + ",".join(map(_esc, value)) + "]}"


def _json_any(value: Any, depth: int) -> str:
    cls = value.__class__
    if cls is str:
        return f'{{"S":{_esc(value)}}}'
    if cls is int and -INT_FAST < value < INT_FAST:
        return f'{{"N":"{value}"}}'
    if cls is bool:
        return '{"BOOL":true}' if value else '{"BOOL":false}'
    if cls is dict:
        return json_map(value, depth)
    if cls is list or cls is tuple:
        return json_list(value, depth)
    return _fragment(sized_any(value, depth)[0])  # as the checked encoder writes it


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
    # The item is one `%` template filled at once: the names and wrappers of the fields
    # always written inline are its text, their value texts fill its slots; every other
    # field (sometimes absent, or written by a helper) fills a slot of its own with its
    # name, after those (the order of an item's attributes does not matter).
    fixed: list[tuple[str, str]] = []  # (template text around the slot), in field order
    slots: list[str] = []
    optional: list[str] = []
    body: list[str] = []
    for i, f in enumerate(fields):
        lines, around = _write_field(src, i, f, keys.get(f.attr))
        body += lines
        if around is None:
            optional.append(f"t{i}")
        else:
            fixed.append(around)
            slots.append(f"t{i}")
    if not fixed:
        return None  # no key attribute: not a table's item
    texts = [before + "%s" + after for before, after in (_escaped(a) for a in fixed)]
    template = "{" + ",".join(texts) + "%s" * len(optional) + "}"
    lines = ["def encode_json(obj):", "    d = obj.__dict__", "    try:"]
    lines += ["        " + line for line in body]
    fill = f"({', '.join(slots + optional)},)"
    lines += [f"        text = {src.bind('T', 0, template)} % {fill}"]
    lines += ["    except Exception:", "        return None"]
    # Text with no UTF-8 form (a lone surrogate) fails the encode: left to the checked path.
    lines += ["    try:", "        body = text.encode()", "    except UnicodeEncodeError:"]
    lines += ["        return None"]
    lines += ["    return body if len(body) <= MAX else None  # the bound (module notes)"]
    src += lines
    return src.compile("encode_json", model)  # type: ignore[no-any-return]


def _escaped(around: tuple[str, str]) -> tuple[str, str]:
    return around[0].replace("%", "%%"), around[1].replace("%", "%%")


def _write_field(
    src: Source, i: int, f: FieldCodec, limit: KeyLimit | None
) -> tuple[list[str], tuple[str, str] | None]:
    """Lines setting `t{i}` for field `f` (or returning None: the checked path takes the
    item), and the template text around its slot if the field is always written inline,
    `t{i}` being its value's text; else None, `t{i}` being `,"attr":value` or ""."""
    name = _esc(f.attr) + ":"  # bound, never in the source text
    t = f"t{i}"
    lines = [f"v = d[{src.bind('n', i, f.name)}]"]
    # Anything the inline forms do not take: the field's sized encoder checks and
    # encodes it, and the attribute value is written as JSON (None if it holds binary).
    h = src.bind("h", i, "," + name)
    general = [
        f"av = {src.bind('z', i, f.sized)}(v)[0]",
        f"{t} = '' if av is None else {h} + fragment(av)",
    ]
    absent = f.nullable and (limit is None or limit[2])  # a table key is never absent
    inline = _INLINE.get(f.wire)
    if inline is not None:
        condition, expression, (before, after) = inline
        if "{c}" in condition:
            condition = condition.format(c=src.bind("c", i, strip_optional(f.annotation)))
        if limit is not None and limit[0] == "S":  # never empty, surely within the limit
            condition += f" and 0 < len(v) <= {limit[1]}"
        # Otherwise (e.g. an int subclass, a key value possibly too long): the checked path.
        if not absent:
            lines += [f"if not ({condition}):", "    return None", f"{t} = {expression}"]
            return lines, (name + before, after)
        head, tail = src.bind("h", i, "," + name + before), src.bind("a", i, after)
        lines += ["if v is None:", f"    {t} = ''", f"elif {condition}:"]
        lines += [f"    {t} = f'{{{head}}}{{{expression}}}{{{tail}}}'", "else:", "    return None"]
        return lines, None
    container = _container(f)
    if container is not None:
        condition, call = container
        if "{e}" in condition:
            condition = condition.format(e=src.bind("e", i, _element(f)))
        lines += [f"if {condition}:", f"    {t} = {h} + {call}"]
    elif absent:
        lines += ["if v is None:", f"    {t} = ''"]
    else:
        return lines + general, None
    if container is not None and absent:
        lines += ["elif v is None:", f"    {t} = ''"]
    return [*lines, "else:", *["    " + line for line in general]], None


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
