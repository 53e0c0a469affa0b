"""Rendering a request's expressions together, with one set of placeholders.

`render_expressions(condition=..., update=...)` returns the boto3 request parameters; every
expression of the request shares one `RenderContext`, so the name and value maps
hold exactly the placeholders used (DynamoDB rejects unused ones), and equal
values share one placeholder.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from _dynamap.expr.conditions import Condition
from _dynamap.expr.context import RenderContext
from _dynamap.expr.paths import AttrPath
from _dynamap.expr.updates import Update

__all__ = ["render_expressions"]


def render_expressions(
    *,
    key_condition: Condition | None = None,
    filter: Condition | None = None,
    condition: Condition | None = None,
    update: Update | None = None,
    projection: Iterable[AttrPath[Any] | str] | None = None,
    ctx: RenderContext | None = None,
) -> dict[str, Any]:
    """The request parameters for these expressions, with their placeholder maps.

    Args:
        key_condition: a Query's KeyConditionExpression.
        filter: a Query or Scan FilterExpression.
        condition: a write's ConditionExpression.
        update: an UpdateItem's UpdateExpression.
        projection: paths (or top-level attribute names) for a ProjectionExpression.
        ctx: the placeholder allocator to render into (a new one by default).

    Returns:
        e.g. `{"ConditionExpression": ..., "UpdateExpression": ...,
        "ExpressionAttributeNames": {...}, "ExpressionAttributeValues": {...}}`;
        the maps only when not empty.
    """
    ctx = RenderContext() if ctx is None else ctx
    params: dict[str, Any] = {}
    if key_condition is not None:
        params["KeyConditionExpression"] = key_condition.render(ctx)
    if filter is not None:
        params["FilterExpression"] = filter.render(ctx)
    if condition is not None:
        params["ConditionExpression"] = condition.render(ctx)
    if update is not None:
        params["UpdateExpression"] = update.render(ctx)
    if projection is not None:
        tokens = (p.render(ctx) if isinstance(p, AttrPath) else ctx.name(p) for p in projection)
        rendered = dict.fromkeys(tokens)  # duplicates dropped, order kept
        if not rendered:
            raise ValueError("a projection needs at least one attribute")
        params["ProjectionExpression"] = ", ".join(rendered)
    params.update(ctx.request_params())
    return params
