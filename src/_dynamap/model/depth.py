"""Nesting depth of whole items, for the models whose encoders cannot count it.

DynamoDB allows at most 31 maps or lists chained inside one attribute (measured on
DynamoDB Local 3.3.1). Runtime-typed values (`Any`, `dict[str, Any]`, `list[Any]`)
in a model's own fields are counted exactly while they are sized. What those
counters cannot see is depth that comes from the declared types around them:
models inside models (recursive ones without bound), and `Any` values inside typed
lists, maps or nested models. For the models whose declared types allow that, the
encoded item is measured once more, without recursion; every other model pays
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from _dynamap.codec.modelcodec import codec_for
from _dynamap.codec.size import MAX_DEPTH
from _dynamap.codec.values import Item
from _dynamap.declare.annotations import is_union, strip_optional
from _dynamap.errors import EncodeError

__all__ = ["check_depth", "needs_depth_check"]

_UNBOUNDED = MAX_DEPTH + 1  # "deeper than any limit": recursion, or unknown contents


def needs_depth_check(model: type[BaseModel]) -> bool:
    """True if an item of `model` can nest deeper than its encoders count."""
    return any(_depth(f.annotation, 0, (model,)) > MAX_DEPTH for f in codec_for(model).fields)


def _depth(annotation: Any, level: int, seen: tuple[type[BaseModel], ...]) -> int:
    """The deepest nesting a value of `annotation` at `level` can reach uncounted.

    `level` is the number of maps and lists around the value; a runtime-typed value
    at level 0 is counted exactly by its own encoder, so it adds nothing here.
    """
    tp = strip_optional(annotation)
    if is_union(tp):
        return max(_depth(member, level, seen) for member in get_args(tp))
    if tp is Any or tp is object:
        return _runtime_typed(level)
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if not isinstance(origin, type):
        return level  # Literal and the like: scalars
    if issubclass(origin, BaseModel):
        if origin in seen:
            return _UNBOUNDED  # a model that contains itself: no bound
        inner = (*seen, origin)
        fields = codec_for(origin).fields
        return max((_depth(f.annotation, level + 1, inner) for f in fields), default=level + 1)
    if issubclass(origin, str | bytes | bytearray | Set):
        return level  # sets hold scalars only
    if issubclass(origin, Mapping):
        if len(args) < 2 or strip_optional(args[1]) is Any:
            return _runtime_typed(level)  # dict or dict[str, Any]: encoded by runtime type
        return _depth(args[1], level + 1, seen)
    if issubclass(origin, Sequence):
        elements = [a for a in args if a is not Ellipsis]
        if not elements or all(strip_optional(a) is Any for a in elements):
            return _runtime_typed(level)  # list or list[Any]: encoded by runtime type
        return max(_depth(a, level + 1, seen) for a in elements)
    return level


def _runtime_typed(level: int) -> int:
    # Counted exactly by its encoder from the field itself down; anywhere deeper, the
    # encoder starts counting at 1 and so cannot see the levels around it.
    return 0 if level == 0 else _UNBOUNDED


def check_depth(name: str, item: Item) -> None:
    """Raise EncodeError if a map or list in `item` nests deeper than DynamoDB allows.

    Args:
        name: the model's name, for the message.
        item: the encoded item.
    """
    # Iterative, so that no depth can exhaust the stack.
    stack: list[tuple[Any, int, str]] = [(av, 0, f".{attr}") for attr, av in item.items()]
    while stack:
        av, depth, path = stack.pop()
        if "M" in av:
            children = [(v, depth + 1, f"{path}[{k!r}]") for k, v in av["M"].items()]
        elif "L" in av:
            children = [(v, depth + 1, f"{path}[{i}]") for i, v in enumerate(av["L"])]
        else:
            continue
        if depth + 1 > MAX_DEPTH:
            raise EncodeError(
                f"{name}{path}: maps and lists are nested more than {MAX_DEPTH} deep; "
                f"DynamoDB allows at most {MAX_DEPTH} in one attribute"
            )
        stack.extend(children)
