"""Operands: what conditions compare and what update SET actions compute.

`Operand[T]` is anything a condition can compare (a path, `size(path)`);
`UpdateOperand[T]` anything a SET may read (a path, `if_not_exists(path, v)`),
with `+` and `-` on numbers giving a `SetValue[T]`. `T` is the Python type of
the value there, so checkers match the values compared or assigned with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar, cast, overload

from _dynamap.codec.compile import number_kind
from _dynamap.codec.values import AttributeValue
from _dynamap.declare.annotations import strip_optional
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Between, Compare, Condition, In
from _dynamap.expr.context import Node, RenderContext, display
from _dynamap.expr.values import NUMBER, ValueSpec

__all__ = ["IfNotExists", "Operand", "SetValue", "Size", "UpdateOperand", "Value"]

T_co = TypeVar("T_co", covariant=True)
V = TypeVar("V")

MAX_IN_CHOICES = 100  # DynamoDB's limit on the operands of IN


class Value:
    """An encoded value, always written as a `:placeholder`."""

    __slots__ = ("value",)

    def __init__(self, value: AttributeValue) -> None:
        self.value = value

    def render(self, ctx: RenderContext) -> str:
        """The value's placeholder in `ctx`."""
        return ctx.value(self.value)


class Operand(Generic[T_co]):
    """Something a condition compares; `T` is the type of the value there."""

    __slots__ = ()

    def render(self, ctx: RenderContext) -> str:
        """The operand as written in an expression, allocating placeholders in `ctx`.

        Args:
            ctx: the request's placeholder allocator.
        """
        raise NotImplementedError

    def value_spec(self) -> ValueSpec:
        """How values compared with this operand are checked and encoded."""
        raise NotImplementedError

    def _operand(self, other: object, what: str) -> Node:
        if isinstance(other, Operand):
            if other == self:  # DynamoDB: "The first operand must be distinct from the rest"
                raise DynamapError(f"{display(self)}: {what} compares the path with itself")
            return other  # pyright: ignore[reportUnknownVariableType]
        return Value(self.value_spec().encode_present(other, what))

    def _compare(self, op: str, other: object) -> Condition:
        return Compare(self, op, self._operand(other, f"`{op}`"))

    def eq(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self = other`.

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare("=", other)

    def ne(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self <> other` (also true when the attribute is absent).

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare("<>", other)

    def lt(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self < other`.

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare("<", other)

    def le(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self <= other`.

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare("<=", other)

    def gt(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self > other`.

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare(">", other)

    def ge(self: Operand[V], other: V | Operand[V]) -> Condition:
        """`self >= other`.

        Args:
            other: a value of this attribute's type, or another operand.
        """
        return self._compare(">=", other)

    def between(self: Operand[V], low: V | Operand[V], high: V | Operand[V]) -> Condition:
        """`self BETWEEN low AND high` (both ends included).

        Args:
            low: the smallest value that matches.
            high: the largest value that matches.
        """
        what = "BETWEEN"
        return Between(self, self._operand(low, what), self._operand(high, what))

    def is_in(self: Operand[V], *choices: V | Operand[V]) -> Condition:
        """`self IN (a, b, ...)`: 1 to 100 choices.

        Args:
            choices: values of this attribute's type, or other operands.
        """
        if not 1 <= len(choices) <= MAX_IN_CHOICES:
            raise DynamapError(
                f"{display(self)}: IN takes 1 to {MAX_IN_CHOICES} choices, got {len(choices)}"
            )
        return In(self, [self._operand(c, "IN") for c in choices])


class Size(Operand[int]):
    """`size(path)`: the length of a string, binary, list, map or set."""

    __slots__ = ("path",)

    def __init__(self, path: Operand[Any]) -> None:
        self.path = path

    def render(self, ctx: RenderContext) -> str:
        return f"size({self.path.render(ctx)})"

    def value_spec(self) -> ValueSpec:
        return ValueSpec(f"size({self.path.value_spec().where})", NUMBER.annotation)


class SetValue(Generic[T_co]):
    """A computed right-hand side of a SET action, e.g. `visits + 1`."""

    __slots__ = ()

    def render(self, ctx: RenderContext) -> str:
        """The value as written in an UpdateExpression.

        Args:
            ctx: the request's placeholder allocator.
        """
        raise NotImplementedError


class _Arithmetic(SetValue[Any]):
    __slots__ = ("left", "op", "right")

    def __init__(self, left: Node, op: str, right: Node) -> None:
        self.left, self.op, self.right = left, op, right

    def render(self, ctx: RenderContext) -> str:
        return f"{self.left.render(ctx)} {self.op} {self.right.render(ctx)}"


class ListAppend(SetValue[Any]):
    """`list_append(first, second)`."""

    __slots__ = ("first", "second")

    def __init__(self, first: Node, second: Node) -> None:
        self.first, self.second = first, second

    def render(self, ctx: RenderContext) -> str:
        return f"list_append({self.first.render(ctx)}, {self.second.render(ctx)})"


class UpdateOperand(Generic[T_co]):
    """Something a SET action reads: a path or `if_not_exists(path, value)`."""

    __slots__ = ()

    def render(self, ctx: RenderContext) -> str:
        """The operand as written in an UpdateExpression.

        Args:
            ctx: the request's placeholder allocator.
        """
        raise NotImplementedError

    def value_spec(self) -> ValueSpec:
        """How values combined with this operand are checked and encoded."""
        raise NotImplementedError

    def _arithmetic(self, op: str, other: object) -> SetValue[Any]:
        spec = self.value_spec()
        tp = strip_optional(spec.annotation)
        if tp is not Any and number_kind(tp) is None:
            raise DynamapError(f"{spec.where}: `{op}` needs a number, not {tp!r}")
        right: Node
        if isinstance(other, UpdateOperand):
            right = cast(Node, other)
        else:
            right = Value(spec.encode_present(other, f"`{op}`"))
        return _Arithmetic(self, op, right)

    # The overloads overlap only for an operand of type Never, which no path has.
    @overload
    def __add__(  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
        self: UpdateOperand[int | None], other: int | UpdateOperand[int | None]
    ) -> SetValue[int]: ...
    @overload
    def __add__(  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
        self: UpdateOperand[Decimal | None],
        other: Decimal | int | UpdateOperand[Decimal | int | None],
    ) -> SetValue[Decimal]: ...
    @overload
    def __add__(
        self: UpdateOperand[float | None], other: float | UpdateOperand[float | None]
    ) -> SetValue[float]: ...
    def __add__(self, other: object) -> SetValue[Any]:
        """`self + other`, in a SET action."""
        return self._arithmetic("+", other)

    @overload
    def __sub__(  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
        self: UpdateOperand[int | None], other: int | UpdateOperand[int | None]
    ) -> SetValue[int]: ...
    @overload
    def __sub__(  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
        self: UpdateOperand[Decimal | None],
        other: Decimal | int | UpdateOperand[Decimal | int | None],
    ) -> SetValue[Decimal]: ...
    @overload
    def __sub__(
        self: UpdateOperand[float | None], other: float | UpdateOperand[float | None]
    ) -> SetValue[float]: ...
    def __sub__(self, other: object) -> SetValue[Any]:
        """`self - other`, in a SET action."""
        return self._arithmetic("-", other)


class IfNotExists(UpdateOperand[T_co]):
    """`if_not_exists(path, value)`: the attribute, or `value` where it is absent."""

    __slots__ = ("default", "path")

    def __init__(self, path: UpdateOperand[Any], default: Node) -> None:
        self.path, self.default = path, default

    def render(self, ctx: RenderContext) -> str:
        return f"if_not_exists({self.path.render(ctx)}, {self.default.render(ctx)})"

    def value_spec(self) -> ValueSpec:
        return self.path.value_spec()
