"""Strict container encoders: lists, tuples, maps and sets of one annotation. A wrong
container type is refused; a wrong element is found by encoding the elements again,
one by one, and named by its index or key (`Movie.ranks[3]`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from typing import Any

from _dynamap.codec.located import (
    Part,
    Sized,
    locate_parts,
    wrong_type,
)
from _dynamap.codec.scalars import as_str, encode_int, encode_str, int_text
from _dynamap.codec.size import check_distinct
from _dynamap.codec.twins import pair, sized_twin, text_size, walks
from _dynamap.codec.values import (
    INT_FAST,
    NULL,
    AttributeValue,
    Encoder,
    encode_any,
    encode_list,
    encode_map,
    map_key,
    set_av,
    sized_list,
    sized_map,
)

__all__ = [
    "element_encoder",
    "encode_any_list",
    "encode_any_map",
    "list_encoder",
    "map_encoder",
    "set_encoder",
    "tuple_encoder",
]

_STR = frozenset({str})


def _check_sequence(value: Any, name: str) -> None:
    if value.__class__ is not list and (
        not isinstance(value, Sequence) or isinstance(value, str | bytes | bytearray | memoryview)
    ):
        raise wrong_type(name, value)


def _check_mapping(value: Any, name: str) -> None:
    if value.__class__ is not dict and not isinstance(value, Mapping):
        raise wrong_type(name, value)


def _indexed(values: Any, sized: Sized, walk: bool) -> Iterator[Part]:
    return ((f"[{i}]", v, sized, walk) for i, v in enumerate(values))


def _any_list(value: Any) -> AttributeValue:
    if value.__class__ is not list:
        _check_sequence(value, "list")
    return encode_list(value)


def _sized_any_list(value: Any) -> tuple[AttributeValue, int]:
    if value.__class__ is not list:
        _check_sequence(value, "list")
    return sized_list(value)


def _any_map(value: Any) -> AttributeValue:
    if value.__class__ is not dict:
        _check_mapping(value, "dict")
    return encode_map(value)


def _sized_any_map(value: Any) -> tuple[AttributeValue, int]:
    if value.__class__ is not dict:
        _check_mapping(value, "dict")
    return sized_map(value)


encode_any_list = pair(_any_list, _sized_any_list, walk=True)
encode_any_map = pair(_any_map, _sized_any_map, walk=True)


def _encode_elements(value: Any, element: Encoder, element_sized: Sized, walk: bool) -> Any:
    try:
        return {"L": [element(x) for x in value]}
    except Exception as exc:
        raise locate_parts(_indexed(value, element_sized, walk), exc)  # noqa: B904 - has cause


def _size_elements(value: Any, element_sized: Sized, walk: bool) -> tuple[AttributeValue, int]:
    out: list[AttributeValue | None] = []
    size = 3
    try:
        for x in value:
            av, n = element_sized(x)
            out.append(av)
            size += 1 + n
    except Exception as exc:
        raise locate_parts(_indexed(value, element_sized, walk), exc)  # noqa: B904 - has cause
    return {"L": out}, size


def _scalar_list(cls: type, element: Encoder, inline: Callable[[Any], Any]) -> Encoder:
    """`list[int]` or `list[str]`: `inline` encodes the elements (exact ones inlined).
    Sized, exact elements go to the runtime-typed list encoder (which inlines both and
    owns the size arithmetic); anything else takes the element-by-element path."""
    name = f"list[{cls.__name__}]"
    element_sized = sized_twin(element)
    only = frozenset({cls})

    def encode(value: Any) -> AttributeValue:
        if value.__class__ is not list:
            _check_sequence(value, name)
        try:
            return {"L": inline(value)}
        except Exception as exc:
            raise locate_parts(_indexed(value, element_sized, False), exc)  # noqa: B904

    def sized(value: Any) -> tuple[AttributeValue, int]:
        if value.__class__ is not list:
            _check_sequence(value, name)
        if not only.issuperset(map(type, value)):  # every element of the exact class
            return _size_elements(value, element_sized, False)
        try:
            return sized_list(value)
        except Exception as exc:  # an int over 38 digits, a string that is not UTF-8
            raise locate_parts(_indexed(value, element_sized, False), exc)  # noqa: B904

    return pair(encode, sized)


def _ints(values: Any) -> list[AttributeValue]:
    return [
        {"N": str(x) if x.__class__ is int and -INT_FAST < x < INT_FAST else int_text(x)}
        for x in values
    ]


def _strs(values: Any) -> list[AttributeValue]:
    return [{"S": x if x.__class__ is str else as_str(x)} for x in values]


encode_int_list = _scalar_list(int, encode_int, _ints)
encode_str_list = _scalar_list(str, encode_str, _strs)


def element_encoder(inner: Encoder, *, nullable: bool, is_set: bool) -> Encoder:
    """An encoder for list elements and map values: None is NULL where the type allows it,
    and an empty set (which DynamoDB cannot store) an empty list."""
    if not nullable and not is_set:
        return inner
    inner_sized = sized_twin(inner)

    def encode(value: Any) -> AttributeValue:
        if value is None and nullable:
            return NULL
        av = inner(value)
        return {"L": []} if av is None else av

    def sized(value: Any) -> tuple[AttributeValue, int]:
        if value is None and nullable:
            return NULL, 1
        av, size = inner_sized(value)
        return ({"L": []}, 3) if av is None else (av, size)

    return pair(encode, sized, walk=walks(inner))


def list_encoder(element: Encoder, name: str) -> Encoder:
    """A list (or other sequence) of elements of one annotation."""
    if element is encode_int:
        return encode_int_list
    if element is encode_str:
        return encode_str_list
    if element is encode_any:
        return encode_any_list
    element_sized = sized_twin(element)
    walk = walks(element)

    def encode(value: Any) -> AttributeValue:
        _check_sequence(value, name)
        return _encode_elements(value, element, element_sized, walk)  # type: ignore[no-any-return]

    def sized(value: Any) -> tuple[AttributeValue, int]:
        _check_sequence(value, name)
        return _size_elements(value, element_sized, walk)

    return pair(encode, sized)


def tuple_encoder(elements: list[Encoder], name: str) -> Encoder:
    """A fixed-length tuple, each position of its own annotation."""
    count = len(elements)
    sized_elements = [sized_twin(e) for e in elements]
    walk = [walks(e) for e in elements]

    def check(value: Any) -> None:
        if not isinstance(value, tuple | list) or len(value) != count:  # pyright: ignore[reportUnknownArgumentType]
            raise wrong_type(name, value)

    def parts(value: Any) -> Iterator[Part]:
        return (
            (f"[{i}]", x, s, w)
            for i, (x, s, w) in enumerate(zip(value, sized_elements, walk, strict=True))
        )

    def encode(value: Any) -> AttributeValue:
        check(value)
        try:
            return {"L": [e(x) for e, x in zip(elements, value, strict=True)]}
        except Exception as exc:
            raise locate_parts(parts(value), exc)  # noqa: B904 - has cause

    def sized(value: Any) -> tuple[AttributeValue, int]:
        check(value)
        out: list[AttributeValue | None] = []
        size = 3
        try:
            for e, x in zip(sized_elements, value, strict=True):
                av, n = e(x)
                out.append(av)
                size += 1 + n
        except Exception as exc:
            raise locate_parts(parts(value), exc)  # noqa: B904 - has cause
        return {"L": out}, size

    return pair(encode, sized)


def _key(key: Any) -> str:
    return key if key.__class__ is str and key else map_key(key)


def _sized_key(key: Any) -> tuple[AttributeValue, int]:
    text = _key(key)
    return {"S": text}, text_size(text)


def map_encoder(value_encoder: Encoder, name: str) -> Encoder:
    """A map with str keys and values of one annotation."""
    if value_encoder is encode_any:
        return encode_any_map
    value_sized = sized_twin(value_encoder)
    walk = walks(value_encoder)

    def parts(value: Any) -> Iterator[Part]:
        for k, x in value.items():
            yield f"[{k!r}]", k, _sized_key, False
            yield f"[{k!r}]", x, value_sized, walk

    def encode(value: Any) -> AttributeValue:
        _check_mapping(value, name)
        try:
            return {"M": {_key(k): value_encoder(x) for k, x in value.items()}}
        except Exception as exc:
            raise locate_parts(parts(value), exc)  # noqa: B904 - has cause

    def sized(value: Any) -> tuple[AttributeValue, int]:
        _check_mapping(value, name)
        out: dict[str, AttributeValue | None] = {}
        size = 3
        try:
            for k, x in value.items():
                key = _key(k)
                av, n = value_sized(x)
                out[key] = av
                size += 1 + text_size(key) + n
        except Exception as exc:
            raise locate_parts(parts(value), exc)  # noqa: B904 - has cause
        return {"M": out}, size

    return pair(encode, sized)


def set_encoder(kind: str, convert: Callable[[Any], Any] | None, name: str) -> Encoder:
    """A set stored as `kind` (SS, NS or BS), each member checked and converted by
    `convert`; with no `kind`, members (converted if `convert` is given) are stored by
    their runtime type. An empty set is omitted (None): DynamoDB cannot store one."""

    def check(value: Any) -> Set[Any]:
        if value.__class__ is not set and not isinstance(value, Set):
            raise wrong_type(name, value)
        members: Set[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return members

    def encode(value: Any) -> AttributeValue | None:
        members = check(value)
        if not members:
            return None
        if not kind:
            return set_av(members if convert is None else {convert(x) for x in members})
        assert convert is not None
        return {kind: [convert(x) for x in members]}

    if kind != "SS" or convert is not as_str:
        return encode

    # Sets of str, the commonest: exact members inlined, sized in the same pass.
    def texts_of(members: Set[Any]) -> list[str]:
        texts = [x if x.__class__ is str else as_str(x) for x in members]
        if not _STR.issuperset(map(type, members)):  # converted: two may now be alike
            check_distinct(texts, "string")
        return texts

    def encode_str(value: Any) -> AttributeValue | None:
        members = value if value.__class__ is set else check(value)
        if not members:
            return None
        return {"SS": texts_of(members)}

    def sized_str(value: Any) -> tuple[AttributeValue | None, int]:
        members = value if value.__class__ is set else check(value)
        if not members:
            return None, 0
        texts = texts_of(members)
        size = 0
        for text in texts:
            size += len(text) if text.isascii() else len(text.encode())
        return {"SS": texts}, size

    return pair(encode_str, sized_str)
