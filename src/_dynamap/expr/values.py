"""Values in expressions: validated as the attribute's declared type, then encoded by its codec.

A value is checked when the expression is built, so a wrong value is an error
naming the model and field path before anything is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Set
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from _dynamap.codec.compile import compile_encoder, number_kind
from _dynamap.codec.values import AttributeValue, Encoder
from _dynamap.declare.annotations import strip_optional
from _dynamap.errors import EncodeError

__all__ = ["ANY", "NUMBER", "ValueSpec"]

_NULL: AttributeValue = {"NULL": True}


@dataclass(frozen=True)
class ValueSpec:
    """How values at one place of an item are checked and encoded.

    Attributes:
        where: the place, for messages: `User.address.city`.
        annotation: its declared type, with the field's constraints (`Annotated`).
        element: inside a list or map, where a None is stored as NULL, not left out.
    """

    where: str
    annotation: Any
    element: bool = False

    def encode(self, value: object) -> AttributeValue | None:
        """`value` validated and encoded; None when it is stored as an absent attribute.

        Args:
            value: a Python value of the declared type.
        """
        adapter, encoder = _compiled(self.annotation)
        try:
            checked = adapter.validate_python(value, strict=True)
        except ValidationError as exc:
            # Strict validation keeps "3" out of int fields; an int is still a fine Decimal.
            number = isinstance(value, int) and not isinstance(value, bool)
            if not (number and _is_decimal(self.annotation)):
                reason = exc.errors()[0]["msg"]
                raise EncodeError(f"{self.where}: {reason} (got {type(value).__name__})") from None
            checked = Decimal(cast(int, value))
        if checked is None:
            return dict(_NULL) if self.element else None
        try:
            av = encoder(checked)
        except EncodeError as exc:
            raise EncodeError(f"{self.where}: {exc}") from None
        if av is None and self.element:
            return {"L": []}  # an empty set inside a list or map, as the codec stores it
        return av

    def encode_present(self, value: object, what: str) -> AttributeValue:
        """`value` encoded; an error if it would be stored as an absent attribute.

        Args:
            value: a Python value of the declared type.
            what: the operation, for the message (`a comparison`).
        """
        av = self.encode(value)
        if av is None:
            hint = "use not_exists()" if value is None else "an empty set is never stored"
            raise EncodeError(f"{self.where}: {what} needs a stored value; {hint}")
        return av


ANY = ValueSpec("value", Any)
NUMBER = ValueSpec("number", int)


def _is_decimal(annotation: Any) -> bool:
    return number_kind(strip_optional(annotation)) is Decimal


_CACHE: dict[Any, tuple[TypeAdapter[Any], Encoder]] = {}
_LOCK = threading.Lock()


def _compiled(annotation: Any) -> tuple[TypeAdapter[Any], Encoder]:
    """The validator and encoder of an annotation, built once per annotation."""
    try:
        found = _CACHE.get(annotation)
    except TypeError:  # an unhashable annotation: build every time
        return TypeAdapter(annotation), compile_encoder(annotation)
    if found is None:
        found = (TypeAdapter(annotation), compile_encoder(annotation))
        with _LOCK:
            _CACHE.setdefault(annotation, found)
    return found


def is_set(annotation: Any) -> bool:
    """True for a set annotation (`set[str]`, `frozenset[int]`, optional or not)."""
    tp = strip_optional(annotation)
    origin = getattr(tp, "__origin__", tp)
    return isinstance(origin, type) and issubclass(origin, Set)
