"""Selectors to attribute paths: `lambda u: u.address.city` becomes stored names and a type.

The selector runs once on a recorder standing in for a model instance. Each
recorded step is then checked against the declared types: model fields become
their stored attribute names (`Attr`, alias or name), maps take str keys (kept
apart as `MapKey`, always written as placeholders), lists take int indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast, get_args, get_origin

from pydantic import BaseModel

from _dynamap.codec.modelcodec import codec_for
from _dynamap.declare.annotations import is_optional, strip_annotated, strip_optional, type_name
from _dynamap.declare.markers import Attr, PartitionKey, SortKey
from _dynamap.errors import DynamapError
from _dynamap.expr.values import ValueSpec

__all__ = ["MapKey", "Resolved", "resolve"]

Part = str | int


class MapKey(str):
    """A map key in a path (not a field name): always written as a `#placeholder`."""

    __slots__ = ()


@dataclass(frozen=True)
class Resolved:
    """Where a selector leads.

    Attributes:
        parts: stored attribute names, map keys and list indexes.
        spec: how values there are checked and encoded.
        field: the last step is a model field (so None there means "absent").
        key: the path is a table key attribute.
        required: a model field without a default that is not Optional.
    """

    parts: tuple[Part, ...]
    spec: ValueSpec
    field: bool = False
    key: bool = False
    required: bool = False


class _Recorder:
    """Stands in for a model instance and records what the selector touches."""

    def __init__(self, steps: tuple[tuple[str, Part], ...] = ()) -> None:
        object.__setattr__(self, "_steps", steps)

    def __getattr__(self, name: str) -> _Recorder:
        steps: tuple[tuple[str, Part], ...] = object.__getattribute__(self, "_steps")
        return _Recorder((*steps, ("attr", name)))

    def __getitem__(self, key: Part) -> _Recorder:
        steps: tuple[tuple[str, Part], ...] = object.__getattribute__(self, "_steps")
        return _Recorder((*steps, ("item", key)))

    def __call__(self, *args: object, **kwargs: object) -> _Recorder:
        raise DynamapError("a selector names stored fields; it cannot call methods")


def resolve(start: Resolved, select: Callable[[Any], object], *, top: bool) -> Resolved:
    """Follow `select` from `start`, whose annotation must be a model class.

    Args:
        start: where the selector's argument is (no parts for a model itself).
        select: the selector, e.g. `lambda u: u.tags[0]`.
        top: the start is the item itself, so a first field may be a key.
    """
    recorded = select(_Recorder())
    if not isinstance(recorded, _Recorder):
        raise DynamapError(
            f"{start.spec.where}: the selector must return an attribute of its argument"
        )
    steps: tuple[tuple[str, Part], ...] = object.__getattribute__(recorded, "_steps")
    if not steps:
        raise DynamapError(
            f"{start.spec.where}: the selector must return an attribute of its argument"
        )
    current = start
    for kind, step in steps:
        current = _step(current, kind, step, top=top and current is start)
    return current


def _step(at: Resolved, kind: str, step: Part, *, top: bool) -> Resolved:
    where, annotation = at.spec.where, at.spec.annotation
    tp = strip_optional(annotation)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _field(at, tp, kind, step, top=top)
    origin = cast(Any, get_origin(tp) or tp)
    args = get_args(tp)
    opaque = tp is Any or tp is object or (origin in (dict, list) and not args)
    if opaque:
        part: Part = step if isinstance(step, int) else MapKey(step)
        if isinstance(step, int):
            _check_index(where, step)
        return Resolved((*at.parts, part), ValueSpec(_where(where, step), Any, element=True))
    if isinstance(origin, type) and issubclass(origin, Mapping):
        if kind != "item" or not isinstance(step, str):
            raise DynamapError(f"{where} is a map: index it with a str key, not {step!r}")
        value = args[1] if len(args) == 2 else Any
        spec = ValueSpec(_where(where, step), value, element=True)
        return Resolved((*at.parts, MapKey(step)), spec)
    if (
        isinstance(origin, type)
        and issubclass(origin, Sequence)
        and not issubclass(origin, str | bytes | bytearray)
    ):
        if kind != "item" or not isinstance(step, int) or isinstance(step, bool):
            raise DynamapError(f"{where} is a list: index it with an int, not {step!r}")
        _check_index(where, step)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if step >= len(args):
                raise DynamapError(f"{where} has {len(args)} elements; [{step}] is beyond it")
            element = args[step]
        else:
            element = args[0] if args else Any
        return Resolved((*at.parts, step), ValueSpec(_where(where, step), element, element=True))
    raise DynamapError(f"{where} is {type_name(annotation)}: it has no fields or elements")


def _field(at: Resolved, model: type[BaseModel], kind: str, step: Part, *, top: bool) -> Resolved:
    where = at.spec.where
    if kind != "attr":
        raise DynamapError(f"{where} is a model ({model.__qualname__}), not a list or map")
    name = str(step)
    field = codec_for(model).by_name.get(name)
    if field is None:
        raise DynamapError(
            f"{where}: {name!r} is not a stored field of {model.__qualname__} "
            f"(a selector names fields, not methods, properties or class variables)"
        )
    info = model.model_fields[name]
    markers = (PartitionKey, SortKey, Attr)
    constraints = [m for m in info.metadata if not isinstance(m, markers)]
    annotation: Any = field.annotation
    if constraints:  # keep Field(ge=0) and friends, so values are checked like the field's own
        args = (annotation, *constraints)
        annotation = cast(Any, Annotated)[args]
    key = top and any(isinstance(m, PartitionKey | SortKey) for m in info.metadata)
    required = info.is_required() and not is_optional(field.annotation)
    spec = ValueSpec(f"{where}.{name}", annotation)
    return Resolved((*at.parts, field.attr), spec, field=True, key=key, required=required)


def _check_index(where: str, index: int) -> None:
    if index < 0:
        raise DynamapError(f"{where}: list indexes count from 0; [{index}] is not a position")


def _where(where: str, step: Part) -> str:
    return f"{where}[{step!r}]"


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class an (optional) annotation stands for, else None."""
    tp = strip_optional(strip_annotated(annotation))
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
