"""Attribute paths, the building block typed condition and update expressions will use.

`path(User, lambda u: u.address.city)` records the attribute accesses of the
lambda (so IDEs complete and type checkers check them) and maps each Python
field name to its stored attribute name (`Attr`, alias or name), through nested
models too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel

from _dynamap.codec.modelcodec import codec_for
from _dynamap.declare.annotations import strip_optional
from _dynamap.errors import DynamapError
from _dynamap.expr.names import PlaceholderNames

__all__ = ["AttrPath", "path"]

T = TypeVar("T", bound=BaseModel)


class AttrPath:
    """A path into an item: attribute names, list indexes and map keys."""

    __slots__ = ("parts",)

    def __init__(self, *parts: str | int) -> None:
        if not parts or not isinstance(parts[0], str):
            raise ValueError("a path starts with an attribute name")
        self.parts: tuple[str | int, ...] = parts

    def render(self, names: PlaceholderNames) -> str:
        """The path as written in an expression, e.g. `#data.city[0]`."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, int):
                out.append(f"[{part}]")
            else:
                out.append(("." if out else "") + names.ref(part))
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttrPath) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"AttrPath{self.parts!r}"


class _Recorder:
    """Stands in for a model instance and records what the selector touches."""

    def __init__(self, parts: tuple[tuple[str, str | int], ...] = ()) -> None:
        object.__setattr__(self, "_parts", parts)

    def __getattr__(self, name: str) -> _Recorder:
        parts: tuple[tuple[str, str | int], ...] = object.__getattribute__(self, "_parts")
        return _Recorder((*parts, ("attr", name)))

    def __getitem__(self, key: str | int) -> _Recorder:
        parts: tuple[tuple[str, str | int], ...] = object.__getattribute__(self, "_parts")
        return _Recorder((*parts, ("item", key)))


def _element(annotation: Any) -> Any:
    """What a path step lands on: a model class, ("seq"|"map", element), or None (opaque)."""
    tp = strip_optional(annotation)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return ("map", _element(args[1]) if len(args) == 2 else None)
    if isinstance(origin, type) and issubclass(origin, Sequence) and args:
        return ("seq", _element(args[0]))
    return None


def path(model: type[T], select: Callable[[T], object]) -> AttrPath:
    """The attribute path `select` reaches in `model`: `path(User, lambda u: u.tags[0])`.

    Field names are mapped to their stored attribute names, through
    nested models, lists of models and maps; unknown fields are errors.
    """
    recorded = select(cast(T, _Recorder()))
    if not isinstance(recorded, _Recorder):
        raise DynamapError("the selector must return an attribute of its argument")
    steps: tuple[tuple[str, str | int], ...] = object.__getattribute__(recorded, "_parts")
    parts: list[str | int] = []
    current: Any = model
    for kind, step in steps:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if kind != "attr":
                raise DynamapError(f"{current.__qualname__} is a model, not a list or map")
            field = codec_for(current).by_name.get(str(step))
            if field is None:
                raise DynamapError(f"{current.__qualname__} has no field {step!r}")
            parts.append(field.attr)
            current = _element(field.annotation)
        elif isinstance(current, tuple):
            container, element = cast(tuple[str, Any], current)
            if container == "seq" and not (kind == "item" and isinstance(step, int)):
                raise DynamapError(f"a list is indexed by int, not {step!r}")
            parts.append(step)
            current = element
        else:  # Any or a plain dict: map keys and list indexes as written
            parts.append(step)
    if not parts:
        raise DynamapError("the selector must return an attribute of its argument")
    return AttrPath(*parts)
