"""Update expressions: SET, REMOVE, ADD and DELETE actions grouped into one UpdateExpression.

Actions are built from paths (`User.path(lambda u: u.visits).add(1)`) and combined
with `&`. Two actions on overlapping paths (`a` and `a.b`, or `a` twice) are an
error when combined: DynamoDB rejects them ("Two document paths overlap").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Literal, Protocol

from _dynamap.errors import DynamapError
from _dynamap.expr.context import Node, RenderContext, display

__all__ = ["Action", "Target", "Update"]

Clause = Literal["SET", "REMOVE", "ADD", "DELETE"]
_ORDER: tuple[Clause, ...] = ("SET", "REMOVE", "ADD", "DELETE")


class Target(Protocol):
    """The path an action changes."""

    @property
    def parts(self) -> tuple[str | int, ...]:
        """Stored names, map keys and list indexes."""
        ...

    def render(self, ctx: RenderContext) -> str:
        """The path as written in an expression."""
        ...


class Action:
    """One action: `SET path = value`, `REMOVE path`, `ADD path value` or `DELETE path value`."""

    __slots__ = ("clause", "path", "value")

    def __init__(self, clause: Clause, path: Target, value: Node | None = None) -> None:
        self.clause, self.path, self.value = clause, path, value

    def render(self, ctx: RenderContext) -> str:
        """The action without its clause keyword: `a = :v0`, `c`, `d :v1`."""
        path = self.path.render(ctx)
        if self.value is None:
            return path
        separator = " = " if self.clause == "SET" else " "
        return f"{path}{separator}{self.value.render(ctx)}"


class Update:
    """Changes to an item, rendered as one UpdateExpression.

    Combine with `&`: `P(lambda u: u.visits).add(1) & P(lambda u: u.email).remove()`.
    `str()` shows the expression with stored names and `?` for values.
    """

    __slots__ = ("actions",)

    def __init__(self, actions: Iterable[Action]) -> None:
        self.actions: tuple[Action, ...] = tuple(actions)
        if not self.actions:
            raise DynamapError("an update needs at least one action")
        _check_overlaps(self.actions)

    @classmethod
    def all(cls, *updates: Update) -> Update:
        """All the actions of `updates` as one update.

        Args:
            updates: updates to combine; their paths must not overlap.
        """
        return cls(a for u in updates for a in u.actions)

    def __and__(self, other: Update) -> Update:
        if not isinstance(other, Update):  # pyright: ignore[reportUnnecessaryIsInstance]
            return NotImplemented
        return Update((*self.actions, *other.actions))

    def render(self, ctx: RenderContext) -> str:
        """The UpdateExpression, allocating placeholders in `ctx`.

        Args:
            ctx: the request's placeholder allocator.
        """
        clauses: list[str] = []
        for clause in _ORDER:
            actions = [a.render(ctx) for a in self.actions if a.clause == clause]
            if actions:
                clauses.append(f"{clause} {', '.join(actions)}")
        return " ".join(clauses)

    def __str__(self) -> str:
        return display(self)

    def __repr__(self) -> str:
        return f"Update({display(self)})"


def _check_overlaps(actions: tuple[Action, ...]) -> None:
    # Sorting puts a path right before the paths it is a prefix of.
    ordered = sorted(actions, key=lambda a: [(isinstance(p, int), str(p)) for p in a.path.parts])
    for before, after in itertools.pairwise(ordered):
        a, b = before.path.parts, after.path.parts
        if b[: len(a)] == a:
            raise DynamapError(
                f"update actions on overlapping paths: {display(before.path)} and "
                f"{display(after.path)} (DynamoDB rejects two actions on one document path "
                f"or on a path and a path inside it)"
            )
