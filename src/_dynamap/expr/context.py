"""One request's placeholders: `#names` and `:values` handed out as expressions are rendered.

Every expression of a request (key condition, filter, projection, condition,
update) renders into the same context, so the request's ExpressionAttributeNames
and ExpressionAttributeValues hold exactly the placeholders its expressions use:
DynamoDB rejects unused ones.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from _dynamap.codec.values import AttributeValue
from _dynamap.expr.names import PlaceholderNames, is_identifier

__all__ = ["DisplayContext", "Node", "RenderContext", "display"]


class RenderContext:
    """Allocates the placeholders of one request.

    Names use the readable `#name` rules of `PlaceholderNames` (only where needed,
    always for map keys that come from data). Values always travel as `:vN`;
    values with the same encoding share one placeholder.
    """

    def __init__(self) -> None:
        self._names = PlaceholderNames()
        self._values: dict[str, AttributeValue] = {}
        self._by_value: dict[object, str] = {}

    def name(self, name: str, *, key: bool = False) -> str:
        """The token for an attribute name, or (with `key`) a map key, which is always a `#`."""
        return self._names.ref(name, force=key)

    def value(self, value: AttributeValue) -> str:
        """The `:placeholder` for an encoded value."""
        identity = _hashable(value)
        token = self._by_value.get(identity)
        if token is None:
            token = f":v{len(self._values)}"
            self._values[token] = value
            self._by_value[identity] = token
        return token

    @property
    def names(self) -> dict[str, str]:
        """ExpressionAttributeNames: every `#placeholder` handed out so far."""
        return dict(self._names.names)

    @property
    def values(self) -> dict[str, AttributeValue]:
        """ExpressionAttributeValues: every `:placeholder` handed out so far."""
        return dict(self._values)

    def request_params(self) -> dict[str, Any]:
        """The placeholder maps as request parameters; empty maps are left out (DynamoDB
        rejects them)."""
        params: dict[str, Any] = {}
        if self._names.names:
            params["ExpressionAttributeNames"] = self.names
        if self._values:
            params["ExpressionAttributeValues"] = self.values
        return params


class DisplayContext(RenderContext):
    """Renders for people: stored names and map keys as they are (quoted when not plain
    identifiers), values as `?`."""

    def name(self, name: str, *, key: bool = False) -> str:
        return name if is_identifier(name) else json.dumps(name, ensure_ascii=False)

    def value(self, value: AttributeValue) -> str:
        return "?"  # never show user values in logs and error messages


class Node(Protocol):
    """Anything rendered into an expression."""

    def render(self, ctx: RenderContext) -> str:
        """The expression text, allocating placeholders in `ctx`."""
        ...


def display(node: Node) -> str:
    """The readable text of an expression, without values."""
    return node.render(DisplayContext())


def _hashable(value: object) -> object:
    # AttributeValues are dicts and lists (JSON-like, with bytes): freeze them for a dict key.
    if isinstance(value, dict):
        items: dict[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return tuple(sorted((k, _hashable(v)) for k, v in items.items()))
    if isinstance(value, list):
        elements: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return ("L", tuple(_hashable(v) for v in elements))
    return (type(value).__name__, value)
