"""The code generated once per model class: encoders, the reader pydantic validates
from, and the snapshot write-back compares. Straight-line Python, one block per field."""

from __future__ import annotations

import marshal
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from _dynamap.codec.freeze import MARSHALED, freeze, is_immutable, is_set
from _dynamap.codec.located import FieldCheck, Sized, locate_fields
from _dynamap.codec.numbers import decimal_to_wire, float_to_wire
from _dynamap.codec.size import MAX_ITEM_BYTES, number_size, too_large
from _dynamap.codec.values import (
    INT_FAST,
    Decoder,
    Encoder,
    encode_list,
    encode_map,
    sized_list,
    sized_map,
)
from _dynamap.declare.annotations import strip_optional

__all__ = [
    "FieldCodec",
    "Source",
    "generate_encoder",
    "generate_snapshot",
    "generate_to_python",
]


@dataclass(frozen=True)
class FieldCodec:
    """How one field is stored: Python name, DynamoDB attribute name, encoder and decoder."""

    name: str
    attr: str
    key: str  # the key of its value in the dict handed to pydantic's validation
    annotation: Any
    encode: Encoder
    sized: Sized  # the encoder's size-returning twin
    walk: bool  # values are runtime-typed (`Any`): failures are located inside them
    decode: Decoder
    wire: str  # how it is written and read inline ("S", "N_INT", "M_ANY"...), "" if not
    nullable: bool  # None is a valid value (omitted from the item)


class Source:
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

    def __iadd__(self, lines: list[str]) -> Source:
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


# Inline writes of exact built-in classes: (condition, statements, size of the value).
# Any other value (a subclass, a wrong type, None where it is not allowed) takes the
# field's strict encoder, which converts it or raises.
_FAST_WRITE: dict[str, tuple[str, list[str], str]] = {
    "S": (
        "v.__class__ is str",
        ["item[{a}] = {{'S': v}}"],
        "(len(v) if v.isascii() else len(v.encode()))",
    ),
    "BOOL": ("v is True or v is False", ["item[{a}] = {{'BOOL': v}}"], "1"),
    # `{size}` of a number: number_size(t) exactly, or its bound len(t) + 1 (see below).
    "N_INT": (
        "v.__class__ is int and -L < v < L",
        ["t = str(v)", "item[{a}] = {{'N': t}}"],
        "{number}",
    ),
    "N_FLOAT": (
        "v.__class__ is float",
        ["t = float_to_wire(v)", "item[{a}] = {{'N': t}}"],
        "{number}",
    ),
    "N_DECIMAL": (
        "v.__class__ is Decimal",
        ["t = decimal_to_wire(v)", "item[{a}] = {{'N': t}}"],
        "{number}",
    ),
    # datetime, date and time as ISO-8601, UUID as text: ASCII. `{c}` is the exact class.
    "S_TEXT": ("v.__class__ is {c}", ["t = v.isoformat()", "item[{a}] = {{'S': t}}"], "len(t)"),
    "S_UUID": ("v.__class__ is {c}", ["t = str(v)", "item[{a}] = {{'S': t}}"], "len(t)"),
}
# A map or list of `Any`: the exact class goes straight to the runtime-typed encoders.
_FAST_CONTAINER: dict[str, tuple[str, str, str]] = {
    "M_ANY": ("v.__class__ is dict", "encode_map", "sized_map"),
    "L_ANY": ("v.__class__ is list", "encode_list", "sized_list"),
}


def generate_encoder(model: type, fields: tuple[FieldCodec, ...], mode: str) -> Any:
    """A straight-line encoder: `encode(obj) -> item`, `encode_sized(obj) -> (item, size)`
    or `encode_checked(obj) -> item`, which also enforces the 400 KB limit.

    The sized forms size each attribute as it is encoded (nested data through the
    size-returning twins), so the limit costs no second walk. Any failure is handed
    to `locate_fields`, which names the field (and the path inside it).
    """
    sized = mode != "encode"
    # encode_checked only asks whether the item is within the limit: a number counts as
    # len(t) + 1, at least its size (a byte per two digits, one for the exponent and one
    # for a sign, and the text spells every digit and the sign). Only an item whose bound
    # is over the limit is sized exactly (by encode_sized) before it is refused.
    number = "len(t) + 1" if mode == "encode_checked" else "number_size(t)"
    checks: tuple[FieldCheck, ...] = tuple((f.name, f.nullable, f.sized, f.walk) for f in fields)
    where = model.__qualname__

    def fail(obj: Any, exc: Exception) -> Exception:
        return locate_fields(where, checks, obj, exc)

    src = Source(
        L=INT_FAST,
        Decimal=Decimal,
        encode_map=encode_map,
        sized_map=sized_map,
        encode_list=encode_list,
        sized_list=sized_list,
        float_to_wire=float_to_wire,
        decimal_to_wire=decimal_to_wire,
        number_size=number_size,
        too_large=too_large,
        MAX=MAX_ITEM_BYTES,
        what=f"{where} item",
        fail=fail,
        exact=generate_encoder(model, fields, "encode_sized") if mode == "encode_checked" else None,
    )
    lines = [f"def {mode}(obj):", "    d = obj.__dict__", "    item = {}"]
    lines += ["    n = 0"] if sized else []
    lines.append("    try:")
    for i, f in enumerate(fields):
        lines += ["        " + line for line in _write_field(src, i, f, sized=sized, number=number)]
    if not fields:
        lines.append("        pass")
    lines += ["    except Exception as exc:", "        raise fail(obj, exc)"]
    if mode == "encode_checked":
        lines += [
            "    if n > MAX:",
            "        n = exact(obj)[1]",
            "        if n > MAX:",
            "            raise too_large(n, what)",
        ]
    lines.append("    return item, n" if mode == "encode_sized" else "    return item")
    src += lines
    return src.compile(mode, model)


def _write_field(
    src: Source, i: int, f: FieldCodec, *, sized: bool, number: str = "number_size(t)"
) -> list[str]:
    a = src.bind("a", i, f.attr)
    name_size = len(f.attr.encode())  # an int: safe to write as a literal
    if sized:
        slow = [
            f"av, s = {src.bind('z', i, f.sized)}(v)",
            "if av is not None:",
            f"    item[{a}] = av",
            f"    n += {name_size} + s",
        ]
    else:
        slow = [
            f"av = {src.bind('e', i, f.encode)}(v)",
            "if av is not None:",
            f"    item[{a}] = av",
        ]
    lines = [f"v = d[{src.bind('n', i, f.name)}]"]
    fast = _FAST_WRITE.get(f.wire)
    container = _FAST_CONTAINER.get(f.wire)
    if container is not None:
        condition, encode, sized_encode = container
        lines.append(f"if {condition}:")
        if sized:
            lines += [f"    av, s = {sized_encode}(v)", f"    item[{a}] = av"]
            lines.append(f"    n += {name_size} + s")
        else:
            lines.append(f"    item[{a}] = {encode}(v)")
    elif fast is not None:
        condition, statements, size = fast
        c = src.bind("c", i, strip_optional(f.annotation)) if f.wire.startswith("S_") else ""
        lines.append(f"if {condition.format(c=c)}:")
        lines += ["    " + line.format(a=a, c=c) for line in statements]
        if sized:
            lines.append(f"    n += {name_size} + {size.format(number=number)}")
    elif not f.nullable:
        return lines + slow
    else:
        return [*lines, "if v is not None:", *["    " + line for line in slow]]
    if f.nullable:
        lines += ["elif v is None:", "    pass"]
    return [*lines, "else:", *["    " + line for line in slow]]


# Inline reads of plain scalars; `{}` is where the attribute value is (`av`, or a
# subscript of the item).
_FAST_READ = {
    "S": "{}['S']",
    "S_TEXT": "{}['S']",
    "S_UUID": "{}['S']",
    "BOOL": "{}['BOOL']",
    "N_INT": "int({}['N'])",
    "N_FLOAT": "float({}['N'])",
    "N_DECIMAL": "Decimal({}['N'])",
}


def generate_to_python(
    model: type, fields: tuple[FieldCodec, ...], validate: Callable[[Any], Any] | None
) -> Any:
    """to_python(item): field values pydantic validates; with `validate`, decode(item).

    Plain scalars are read inline. Anything unusual (an absent attribute, a NULL, a
    number spelled otherwise, another type) falls back to the field's full decoder. A
    field that may be None is looked up first, since its attribute is often absent
    (raising and catching that costs more); any other is read by subscript.
    """
    src = Source(Decimal=Decimal, validate=validate)
    name = "to_python" if validate is None else "decode"
    lines = [f"def {name}(item):", "    data = {}", "    get = item.get"]
    for i, f in enumerate(fields):
        a = src.bind("a", i, f.attr)
        d = src.bind("d", i, f.decode)
        # A NULL (written by another client for None) reads back as an absent attribute.
        k = src.bind("k", i, f.key)
        general = ["if av is not None and 'NULL' not in av:", f"    data[{k}] = {d}(av)"]
        fast = _FAST_READ.get(f.wire)
        if fast is None:
            lines += [f"    av = get({a})", *["    " + line for line in general]]
        elif f.nullable:
            lines += [f"    av = get({a})", "    if av is not None:", "        try:"]
            lines += [f"            data[{k}] = {fast.format('av')}", "        except Exception:"]
            # av is not None here; a NULL still reads as absent.
            lines += ["            if 'NULL' not in av:", f"                data[{k}] = {d}(av)"]
        else:
            lines += ["    try:", f"        data[{k}] = {fast.format(f'item[{a}]')}"]
            lines += ["    except Exception:", f"        av = get({a})"]
            lines += ["        " + line for line in general]
    lines.append("    return data" if validate is None else "    return validate(data)")
    src += lines
    return src.compile(name, model)


def generate_snapshot(model: type, fields: tuple[FieldCodec, ...]) -> Any:
    """snapshot(obj): a tuple that differs whenever the stored item would differ.

    Immutable scalar fields are taken as they are and sets of scalars as frozensets.
    An exact list or dict is taken as its `marshal` bytes, if marshal takes it (one C
    call, twice as fast as `freeze`, with the same guarantees: see `freeze.MARSHALED`);
    anything else is frozen recursively. Far cheaper than encoding the item.
    """
    src = Source(freeze=freeze, object=object, dumps=marshal.dumps, M=MARSHALED)
    parts: list[str] = []
    lines: list[str] = []
    for i, f in enumerate(fields):
        value = f"d[{src.bind('n', i, f.name)}]"
        if is_immutable(f.annotation):
            parts.append(value)
        elif is_set(f.annotation):
            parts.append(f"(frozenset(x) if (x := {value}).__class__ is set else freeze(x))")
        else:
            # A nested list or map: marshal's bytes at C speed; a value marshal refuses (a
            # Decimal, a subclass, a model), or any other class, goes to freeze().
            lines += [
                f"x = {value}",
                "if x.__class__ is list or x.__class__ is dict:",
                "    try:",
                f"        f{i} = (M, dumps(x, 0))",
                "    except Exception:",
                f"        f{i} = freeze(x)",
                "else:",
                f"    f{i} = freeze(x)",
            ]
            parts.append(f"f{i}")
    src += [
        "def snapshot(obj):",
        "    d = obj.__dict__",
        "    try:",
        *["        " + line for line in lines],
        f"        return ({''.join(part + ', ' for part in parts)})",  # () for no fields
        # A value too deep to freeze, or a field without a value (model_construct): never
        # equal to anything, so the instance is written and encoding reports the problem.
        "    except Exception:",
        "        return (object(),)",
    ]
    return src.compile("snapshot", model)
