"""Where a value that cannot be encoded sits: `Movie.info.rating`, `Movie.ranks[3]`.

Encoders run without bookkeeping. When one fails, each enclosing level (a model,
a list, a map) encodes its parts again, one by one, to find the one that fails,
and adds its own step to the error on the way out. Failing is slow; succeeding
costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from _dynamap.codec.nested import nested_codec
from _dynamap.codec.values import AttributeValue, map_key, sized_any
from _dynamap.errors import EncodeError

__all__ = [
    "FieldCheck",
    "LocatedError",
    "Sized",
    "WrongTypeError",
    "locate_fields",
    "locate_parts",
    "located",
    "wrong_type",
]

Sized = Callable[[Any], "tuple[AttributeValue | None, int]"]
# (step, value, the size-returning encoder of that value, walk the value if it is Any)
Part = tuple[str, Any, Sized, bool]
# (field name, None allowed, the field's size-returning encoder, walk the value if it is Any)
FieldCheck = tuple[str, bool, Sized, bool]

_MISSING = object()


class LocatedError(EncodeError):
    """An EncodeError that knows the model, the path and (once known) the key of its value.

    Rendered as `Movie.ranks[3] (key pk='m#1'): expected int, got str '7'`.
    """

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.model = ""
        self.steps: list[str] = []
        if cause is not None:
            self.__cause__ = cause

    def at(self, step: str) -> LocatedError:
        """This error, one step further out: `.field`, `[3]` or `['key']`."""
        self.steps.insert(0, step)
        return self._render()

    def within(self, model: str, key: str | None = None) -> LocatedError:
        """This error, inside an instance of `model` (and an item with this key)."""
        self.model = model
        if key is not None:
            self.key = key
        return self._render()

    def _render(self) -> LocatedError:
        self.path = self.model + "".join(self.steps)
        where = self.path + (f" (key {self.key})" if self.key else "")
        self.args = (f"{where}: {self.reason}" if where else self.reason,)
        return self


class WrongTypeError(LocatedError):
    """A value of the wrong type for its annotation (one that skipped validation)."""


def wrong_type(expected: str, value: Any) -> WrongTypeError:
    """The error for `value` where a value of type `expected` belongs."""
    if value is None:
        return WrongTypeError(f"expected {expected}, got None")
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return WrongTypeError(f"expected {expected}, got {type(value).__qualname__} {text}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EncodeError):
        return str(exc)
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start : exc.end]
        return (
            f"strings must be valid UTF-8, but {bad!r} at position {exc.start} cannot be "
            f"encoded ({exc.reason})"
        )
    if isinstance(exc, RecursionError):
        return (
            "maps and lists are nested more than 31 deep (too deep even to encode); "
            "DynamoDB allows at most 31 in one attribute"
        )
    return f"{type(exc).__name__}: {exc}"


def located(exc: BaseException, value: Any = _MISSING, walk: bool = False) -> LocatedError:
    """`exc` as a LocatedError; with `walk`, the path inside an `Any` value is found too."""
    # Inside an `Any` value only a nested model locates its own errors: walk even then.
    if walk and value is not _MISSING and not isinstance(exc, RecursionError):
        try:
            found = _locate_any(value)
        except RecursionError:
            found = None
        if found is not None:
            return found
    if isinstance(exc, LocatedError):
        return exc
    return LocatedError(_reason(exc), exc)


def _too_deep_to_locate(exc: BaseException) -> bool:
    # A value so deep that encoding overflowed the stack: encoding its parts again at
    # every level on the way out would take quadratic time and memory, so don't.
    return isinstance(exc, RecursionError) or isinstance(exc.__cause__, RecursionError)


def locate_parts(parts: Iterable[Part], exc: BaseException) -> LocatedError:
    """The error of the first part that fails to encode again, located at its step."""
    if _too_deep_to_locate(exc):
        return located(exc)
    for step, value, sized, walk in parts:
        try:
            sized(value)
        except Exception as inner:
            return located(inner, value, walk).at(step)
    return located(exc)


def locate_fields(
    model: str, checks: tuple[FieldCheck, ...], obj: Any, exc: BaseException
) -> LocatedError:
    """The error of the first field of `obj` that fails to encode again."""
    if _too_deep_to_locate(exc):
        return located(exc).within(model)
    values: dict[str, Any] = obj.__dict__
    for name, nullable, sized, walk in checks:
        value = values.get(name, _MISSING)
        if value is _MISSING:
            error = LocatedError("has no value (the instance was built without validation)")
            return error.at(f".{name}").within(model)
        if value is None and nullable:
            continue
        try:
            sized(value)
        except Exception as inner:
            return located(inner, value, walk).at(f".{name}").within(model)
    return located(exc).within(model)


def _locate_any(value: Any) -> LocatedError | None:
    """The first value inside a runtime-typed value that cannot be encoded, if any."""
    if isinstance(value, BaseModel):
        try:
            nested_codec(type(value)).encode_sized(value)
        except Exception as exc:
            return located(exc)
        return None
    if isinstance(value, Mapping):
        entries: Mapping[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        for key, item in entries.items():
            step = f"[{key!r}]"
            try:
                map_key(key).encode()
            except Exception as exc:
                return located(exc).at(step)
            found = _locate_any(item)
            if found is not None:
                return found.at(step)
    elif isinstance(value, list | tuple):
        elements: list[Any] | tuple[Any, ...] = value  # pyright: ignore[reportUnknownVariableType]
        for index, item in enumerate(elements):
            found = _locate_any(item)
            if found is not None:
                return found.at(f"[{index}]")
    try:
        sized_any(value)
    except Exception as exc:
        return located(exc)
    return None
