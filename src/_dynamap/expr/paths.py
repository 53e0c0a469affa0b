"""Typed attribute paths, with the conditions and update actions that apply to each type.

`User.path(lambda u: u.address.city)` is an `AttrPath[str]`: the selector is
typed (IDEs complete it, checkers check it), and each method is offered only
where it applies (`begins_with` on str and bytes, `append` on lists, `add` on
numbers and sets). Values are validated as the attribute's declared type and
encoded by its codec when the expression is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any, TypeVar, cast, overload

from pydantic import BaseModel

from _dynamap.codec.compile import number_kind
from _dynamap.declare.annotations import literal_values, strip_optional, type_name
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Condition, Function
from _dynamap.expr.context import Node, RenderContext, display
from _dynamap.expr.operands import (
    IfNotExists,
    ListAppend,
    Operand,
    SetValue,
    Size,
    UpdateOperand,
    Value,
)
from _dynamap.expr.resolve import MapKey, Resolved, model_of, resolve
from _dynamap.expr.updates import Action, Update
from _dynamap.expr.values import ANY, ValueSpec, is_set

__all__ = ["AttrPath", "path"]

T_co = TypeVar("T_co", covariant=True)
V = TypeVar("V")
E = TypeVar("E")
U = TypeVar("U")
M = TypeVar("M", bound=BaseModel)

_EMPTY_LIST = Value({"L": []})


class AttrPath(Operand[T_co], UpdateOperand[T_co]):
    """A path into an item (stored names, map keys, list indexes) holding a `T`.

    Build one with `Model.path(lambda m: ...)`; compare it with `==` as a value.
    """

    __slots__ = ("_resolved", "parts")

    def __init__(self, *parts: str | int, resolved: Resolved | None = None) -> None:
        if not parts or not isinstance(parts[0], str):
            raise ValueError("a path starts with an attribute name")
        self.parts: tuple[str | int, ...] = parts
        self._resolved = resolved or Resolved(parts, ValueSpec(".".join(map(str, parts)), Any))

    def render(self, ctx: RenderContext) -> str:
        """The path as written in an expression, e.g. `#data.city[0]`.

        Args:
            ctx: the request's placeholder allocator.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, int):
                out.append(f"[{part}]")
            else:
                out.append(("." if out else "") + ctx.name(part, key=isinstance(part, MapKey)))
        return "".join(out)

    def value_spec(self) -> ValueSpec:
        """How values for this path are checked and encoded."""
        return self._resolved.spec

    @property
    def where(self) -> str:
        """The path in Python terms, for messages: `User.address.city`."""
        return self._resolved.spec.where

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttrPath) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"AttrPath({display(self)})"

    # -- navigation -------------------------------------------------------------------------

    @overload
    def at(self: AttrPath[M], select: Callable[[M], U]) -> AttrPath[U]: ...
    @overload
    def at(self: AttrPath[M | None], select: Callable[[M], U]) -> AttrPath[U]: ...
    def at(self, select: Callable[[Any], U]) -> AttrPath[U]:
        """A path inside the (possibly Optional) nested model here.

        Args:
            select: a selector on the nested model, e.g. `lambda a: a.city`.
        """
        if model_of(self._resolved.spec.annotation) is None:
            raise DynamapError(f"{self.where} is not a nested model: at() has nothing to enter")
        resolved = resolve(self._resolved, select, top=False)
        return AttrPath(*resolved.parts, resolved=resolved)

    # -- conditions -------------------------------------------------------------------------

    def exists(self) -> Condition:
        """`attribute_exists(path)`."""
        return Function("attribute_exists", self)

    def not_exists(self) -> Condition:
        """`attribute_not_exists(path)`."""
        return Function("attribute_not_exists", self)

    @overload
    def begins_with(self: AttrPath[str | None], prefix: str) -> Condition: ...
    @overload
    def begins_with(self: AttrPath[bytes | None], prefix: bytes) -> Condition: ...
    def begins_with(self, prefix: str | bytes) -> Condition:
        """`begins_with(path, prefix)`, on strings and binary values.

        Args:
            prefix: the start to match, of the attribute's own type.
        """
        spec = self.value_spec()
        kind = _text_kind(spec.annotation)
        if kind is None:
            raise DynamapError(f"{self.where}: begins_with needs a str or bytes attribute")
        checked = ValueSpec(spec.where, kind)  # the bare type: a prefix need not be valid itself
        return Function("begins_with", self, Value(checked.encode_present(prefix, "begins_with")))

    @overload
    def contains(self: AttrPath[str | None], value: str) -> Condition: ...
    @overload
    def contains(self: AttrPath[AbstractSet[E] | None], value: E) -> Condition: ...
    @overload
    def contains(self: AttrPath[list[E] | None], value: E) -> Condition: ...
    def contains(self, value: object) -> Condition:
        """`contains(path, value)`: a substring, a set member or a list element.

        Args:
            value: a substring of a str, or an element of a set or list.
        """
        spec = _element_spec(self.value_spec(), "contains")
        return Function("contains", self, Value(spec.encode_present(value, "contains")))

    def size(self: AttrPath[Sized | None]) -> Operand[int]:
        """`size(path)`: the length of a string, binary, list, map or set, to compare."""
        return Size(self)

    # -- updates ----------------------------------------------------------------------------

    def set(self: AttrPath[V], value: V | UpdateOperand[V] | SetValue[V]) -> Update:
        """`SET path = value`; None (Optional fields) and empty sets become REMOVE.

        Args:
            value: a value of the attribute's type, a path, `if_not_exists(...)` or `p + 1`.
        """
        self._check_writable("set")
        if isinstance(value, UpdateOperand | SetValue):
            node = cast(Node, value)
            return Update([Action("SET", self, node)])
        av = self.value_spec().encode(value)
        if av is None:  # stored as absent: None on an Optional field, or an empty set
            return Update([Action("REMOVE", self)])
        return Update([Action("SET", self, Value(av))])

    def remove(self) -> Update:
        """`REMOVE path`: the attribute, list element or map entry."""
        self._check_writable("remove")
        if self._resolved.required:
            raise DynamapError(
                f"{self.where} is a required field: removing it would leave an item "
                f"that no longer loads"
            )
        return Update([Action("REMOVE", self)])

    def if_not_exists(self: AttrPath[V], value: V) -> UpdateOperand[V]:
        """`if_not_exists(path, value)`: this attribute, or `value` where it is absent.

        Args:
            value: the value to use where the attribute is absent.
        """
        default = self.value_spec().encode_present(value, "if_not_exists")
        return IfNotExists(self, Value(default))

    @overload
    def add(self: AttrPath[int | None], value: int) -> Update: ...
    @overload
    def add(self: AttrPath[Decimal | None], value: Decimal | int) -> Update: ...
    @overload
    def add(self: AttrPath[float | None], value: float) -> Update: ...
    @overload
    def add(self: AttrPath[AbstractSet[E] | None], value: AbstractSet[E]) -> Update: ...
    def add(self, value: object) -> Update:
        """`ADD path value`: adds to a number (0 where absent) or a set's elements.

        Args:
            value: the number to add, or the set of elements to add.
        """
        self._check_writable("add")
        spec = self.value_spec()
        tp = strip_optional(spec.annotation)
        if tp is not Any and number_kind(tp) is None and not is_set(tp):
            raise DynamapError(f"{self.where}: ADD needs a number or a set, not {type_name(tp)}")
        return Update([Action("ADD", self, Value(spec.encode_present(value, "ADD")))])

    def add_elements(self: AttrPath[AbstractSet[E] | None], *elements: E) -> Update:
        """`ADD path {elements}`: adds elements to a set (created where absent).

        Args:
            elements: the elements to add; at least one.
        """
        return self._set_action("ADD", elements)

    def delete_elements(self: AttrPath[AbstractSet[E] | None], *elements: E) -> Update:
        """`DELETE path {elements}`: removes elements from a set.

        Args:
            elements: the elements to remove; at least one.
        """
        return self._set_action("DELETE", elements)

    def append(self: AttrPath[list[E] | None], *elements: E) -> Update:
        """`SET path = list_append(if_not_exists(path, []), [elements])`.

        Args:
            elements: the elements to add at the end; at least one.
        """
        return self._list_action(elements, at_end=True)

    def prepend(self: AttrPath[list[E] | None], *elements: E) -> Update:
        """`SET path = list_append([elements], if_not_exists(path, []))`.

        Args:
            elements: the elements to add at the start; at least one.
        """
        return self._list_action(elements, at_end=False)

    # -- helpers ----------------------------------------------------------------------------

    def _check_writable(self, what: str) -> None:
        if self._resolved.key:
            raise DynamapError(f"{self.where} is a key attribute: an update cannot {what} it")

    def _set_action(self, clause: str, elements: tuple[object, ...]) -> Update:
        self._check_writable(clause)
        spec = self.value_spec()
        if spec.annotation is not Any and not is_set(spec.annotation):
            raise DynamapError(f"{self.where}: {clause} of elements needs a set attribute")
        if not elements:
            raise DynamapError(f"{self.where}: {clause} needs at least one element")
        av = spec.encode_present(set(elements), clause)
        action = Action("ADD" if clause == "ADD" else "DELETE", self, Value(av))
        return Update([action])

    def _list_action(self, elements: tuple[object, ...], *, at_end: bool) -> Update:
        self._check_writable("append to" if at_end else "prepend to")
        spec = self.value_spec()
        if spec.annotation is not Any and not _is(spec.annotation, list):
            raise DynamapError(f"{self.where}: append and prepend need a list attribute")
        if not elements:
            raise DynamapError(f"{self.where}: append and prepend need at least one element")
        new = Value(spec.encode_present(list(elements), "append"))
        current = IfNotExists[Any](self, _EMPTY_LIST)
        value = ListAppend(current, new) if at_end else ListAppend(new, current)
        return Update([Action("SET", self, value)])


def _is(annotation: Any, kind: Any) -> bool:
    tp = strip_optional(annotation)
    origin = getattr(tp, "__origin__", tp)
    return isinstance(origin, type) and issubclass(origin, kind)


def _text_kind(annotation: Any) -> Any:
    """str or bytes for a (literal, constrained, optional) string or binary type; Any for Any."""
    tp = strip_optional(annotation)
    if tp is Any:
        return str | bytes
    values = literal_values(tp)
    if values:
        tp = type(cast(object, values[0]))
    if _is(tp, str):
        return str
    if _is(tp, bytes | bytearray):
        return bytes
    return None


def _element_spec(spec: ValueSpec, what: str) -> ValueSpec:
    """The spec of what `contains` looks for in a str, bytes, set or list attribute."""
    tp = strip_optional(spec.annotation)
    if tp is Any:
        return ANY
    kind = _text_kind(tp)
    if kind is not None:
        return ValueSpec(spec.where, kind)
    args = getattr(tp, "__args__", ())
    if is_set(tp) or _is(tp, list):
        return ValueSpec(f"{spec.where}[]", args[0] if args else Any, element=True)
    raise DynamapError(f"{spec.where}: {what} needs a str, bytes, set or list attribute")


def path(model: type[M], select: Callable[[M], U]) -> AttrPath[U]:
    """The attribute path `select` reaches in `model`: `path(User, lambda u: u.tags[0])`.

    Args:
        model: the model class the selector starts from.
        select: the selector, e.g. `lambda u: u.address.city`.
    """
    start = Resolved((), ValueSpec(model.__qualname__, model))
    resolved = resolve(start, select, top=True)
    return AttrPath(*resolved.parts, resolved=resolved)
