"""Attribute names in expressions: reserved words, `#placeholders` and projection expressions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

__all__ = [
    "Projection",
    "PlaceholderNames",
    "is_identifier",
    "is_reserved",
    "needs_placeholder",
    "render_projection",
    "reserved_words",
]

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NOT_PLACEHOLDER_CHAR = re.compile(r"[^A-Za-z0-9_]")


@lru_cache(maxsize=1)
def reserved_words() -> frozenset[str]:
    """DynamoDB's reserved words, upper case, read from the data file shipped in the package."""
    text = resources.files("_dynamap.expr").joinpath("reserved-words.txt").read_text("utf-8")
    return frozenset(word.strip().upper() for word in text.splitlines() if word.strip())


def is_reserved(name: str) -> bool:
    """True if `name` is a DynamoDB reserved word (case-insensitive)."""
    return name.upper() in reserved_words()


def is_identifier(name: str) -> bool:
    """True if `name` is a plain identifier (a letter, then letters, digits and `_`)."""
    return _PLAIN.fullmatch(name) is not None


def needs_placeholder(name: str) -> bool:
    """True if `name` cannot appear bare in an expression: reserved, or not a plain identifier."""
    return _PLAIN.fullmatch(name) is None or is_reserved(name)


@dataclass
class PlaceholderNames:
    """Allocates readable, collision-free `#placeholders` for attribute names.

    Only names that need one get a placeholder; the mapping holds exactly the
    placeholders handed out, so every entry is used by the expression that asked.
    """

    names: dict[str, str] = field(default_factory=dict[str, str])  # placeholder -> attribute
    _by_attr: dict[str, str] = field(default_factory=dict[str, str])  # attribute -> placeholder

    def ref(self, attr: str, *, force: bool = False) -> str:
        """The token to write in an expression for attribute `attr`.

        Args:
            attr: the attribute name or map key.
            force: always use a placeholder (for map keys that come from data).
        """
        if not force and not needs_placeholder(attr):
            return attr
        token = self._by_attr.get(attr)
        if token is None:
            base = "#" + (_NOT_PLACEHOLDER_CHAR.sub("_", attr) or "attr")
            token, n = base, 1
            while token in self.names:
                n += 1
                token = f"{base}_{n}"
            self.names[token] = attr
            self._by_attr[attr] = token
        return token


@dataclass(frozen=True)
class Projection:
    """A ProjectionExpression and the ExpressionAttributeNames it uses."""

    expression: str
    names: Mapping[str, str]

    def request_params(self) -> dict[str, object]:
        """The keyword arguments to add to a GetItem/BatchGetItem table entry."""
        params: dict[str, object] = {"ProjectionExpression": self.expression}
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        return params


def render_projection(attributes: Iterable[str]) -> Projection:
    """Render a projection fetching exactly `attributes` (duplicates dropped, order kept)."""
    placeholders = PlaceholderNames()
    seen: dict[str, None] = dict.fromkeys(attributes)
    if not seen:
        raise ValueError("a projection needs at least one attribute")
    expression = ", ".join(placeholders.ref(attr) for attr in seen)
    return Projection(expression, dict(placeholders.names))
