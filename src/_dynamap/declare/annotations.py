"""Type-annotation inspection shared by the model and codec layers."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

__all__ = ["is_optional", "literal_values", "strip_annotated", "strip_optional", "type_name"]

_UNION_TYPES: tuple[Any, ...] = (Union, types.UnionType)


def strip_annotated(tp: Any) -> Any:
    """`Annotated[X, ...]` -> `X` (repeatedly)."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def is_union(tp: Any) -> bool:
    """True for `X | Y` and `Union[X, Y]`."""
    return get_origin(tp) in _UNION_TYPES


def is_optional(tp: Any) -> bool:
    """True if `None` is one of the members of the (possibly annotated) union `tp`."""
    tp = strip_annotated(tp)
    if tp is None or tp is type(None):
        return True
    return is_union(tp) and any(a is type(None) for a in get_args(tp))


def strip_optional(tp: Any) -> Any:
    """`X | None` -> `X`; `X | Y | None` -> `X | Y`; anything else unchanged."""
    tp = strip_annotated(tp)
    if not is_union(tp):
        return tp
    rest = [a for a in get_args(tp) if a is not type(None)]
    if len(rest) == 1:
        return strip_annotated(rest[0])
    return Union[tuple(rest)]  # noqa: UP007 - built dynamically


def literal_values(tp: Any) -> tuple[Any, ...] | None:
    """The values of a `Literal[...]`, or None if `tp` is not one."""
    tp = strip_annotated(tp)
    return get_args(tp) if get_origin(tp) is Literal else None


def type_name(tp: Any) -> str:
    """A readable name for an annotation, for error messages."""
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__qualname__
    return repr(tp).replace("typing.", "")
