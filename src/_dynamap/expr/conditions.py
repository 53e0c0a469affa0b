"""Condition expressions: comparisons, functions and their `&`, `|`, `~` combinations.

Conditions are built from paths (`User.path(lambda u: u.status).eq("active")`), with
values already validated and encoded; they render into a request's `RenderContext`.
"""

from __future__ import annotations

from collections.abc import Sequence

from _dynamap.expr.context import Node, RenderContext, display

__all__ = ["Condition"]


class Condition:
    """A condition on an item, for ConditionExpression, FilterExpression or a key condition.

    Combine with `&` (and), `|` (or) and `~` (not). `str()` shows the expression
    with stored names and `?` for values.
    """

    __slots__ = ()

    def render(self, ctx: RenderContext) -> str:
        """The expression text, allocating placeholders in `ctx`.

        Args:
            ctx: the request's placeholder allocator.
        """
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return _Junction("AND", (*_terms(self, "AND"), *_terms(other, "AND")))

    def __or__(self, other: Condition) -> Condition:
        return _Junction("OR", (*_terms(self, "OR"), *_terms(other, "OR")))

    def __invert__(self) -> Condition:
        return self.operand if isinstance(self, _Not) else _Not(self)

    def __bool__(self) -> bool:
        # `a and b` would silently keep only `b`.
        raise TypeError("combine conditions with &, | and ~, not `and`, `or` and `not`")

    def __str__(self) -> str:
        return display(self)

    def __repr__(self) -> str:
        return f"Condition({display(self)})"


def _terms(condition: Condition, op: str) -> tuple[Condition, ...]:
    if isinstance(condition, _Junction) and condition.op == op:
        return condition.terms
    return (condition,)


def _grouped(condition: Condition, ctx: RenderContext) -> str:
    text = condition.render(ctx)
    return f"({text})" if isinstance(condition, _Junction) else text


class _Junction(Condition):
    __slots__ = ("op", "terms")

    def __init__(self, op: str, terms: tuple[Condition, ...]) -> None:
        for term in terms:
            if not isinstance(term, Condition):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"cannot combine a condition with {type(term).__name__}")
        self.op = op
        self.terms = terms

    def render(self, ctx: RenderContext) -> str:
        return f" {self.op} ".join(_grouped(t, ctx) for t in self.terms)


class _Not(Condition):
    __slots__ = ("operand",)

    def __init__(self, operand: Condition) -> None:
        self.operand = operand

    def render(self, ctx: RenderContext) -> str:
        return f"NOT ({self.operand.render(ctx)})"


class Compare(Condition):
    """`left <op> right`, for =, <>, <, <=, >, >=."""

    __slots__ = ("left", "op", "right")

    def __init__(self, left: Node, op: str, right: Node) -> None:
        self.left, self.op, self.right = left, op, right

    def render(self, ctx: RenderContext) -> str:
        return f"{self.left.render(ctx)} {self.op} {self.right.render(ctx)}"


class Between(Condition):
    """`operand BETWEEN low AND high`."""

    __slots__ = ("high", "low", "operand")

    def __init__(self, operand: Node, low: Node, high: Node) -> None:
        self.operand, self.low, self.high = operand, low, high

    def render(self, ctx: RenderContext) -> str:
        low, high = self.low.render(ctx), self.high.render(ctx)
        return f"{self.operand.render(ctx)} BETWEEN {low} AND {high}"


class In(Condition):
    """`operand IN (a, b, ...)`."""

    __slots__ = ("choices", "operand")

    def __init__(self, operand: Node, choices: Sequence[Node]) -> None:
        self.operand, self.choices = operand, tuple(choices)

    def render(self, ctx: RenderContext) -> str:
        operand = self.operand.render(ctx)
        return f"{operand} IN ({', '.join(c.render(ctx) for c in self.choices)})"


class Function(Condition):
    """`name(arg, ...)`: attribute_exists, attribute_not_exists, begins_with, contains."""

    __slots__ = ("args", "name")

    def __init__(self, name: str, *args: Node) -> None:
        self.name, self.args = name, args

    def render(self, ctx: RenderContext) -> str:
        return f"{self.name}({', '.join(a.render(ctx) for a in self.args)})"
