"""What a query or scan asks for: the caller's settings, and the requests they make.

`ReadConfig` is what the builder methods (`filter`, `limit`, `reverse`...) change;
`ReadSpec` is it rendered once for a run: the request parameters of every page, the
streams (one, or one per scan segment) and what a cursor must match. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from _dynamap.core.cursor import Cursor, Stream
from _dynamap.core.pager import ReadOperation
from _dynamap.errors import DynamapError, InvalidCursorError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.context import RenderContext
from _dynamap.expr.render import render_expressions
from _dynamap.expr.sortkeys import SortCondition
from _dynamap.model.model import Model, ModelInfo, model_info
from _dynamap.model.startkeys import check_start_key
from _dynamap.model.target import IndexRef, ReadTarget, resolve_target
from _dynamap.session.state import UnitOfWork

__all__ = [
    "ReadConfig",
    "ReadSpec",
    "Unknown",
    "build_spec",
    "check_cursor",
    "query_config",
    "scan_config",
]

Unknown = Literal["error", "skip"]
_MAX_EXPRESSION = 4096  # DynamoDB's limit on any expression string, in bytes
_MAX_SEGMENTS = 1_000_000  # DynamoDB's limit on TotalSegments


@dataclass(frozen=True)
class ReadConfig:
    """A query's or scan's settings, as the caller gave them (checked when given)."""

    operation: ReadOperation
    models: tuple[type[Model], ...]
    target: ReadTarget
    partition: Any = None
    sort: SortCondition | Any | None = None
    filter: Condition | None = None
    limit: int | None = None
    page_size: int | None = None
    consistent: bool = False
    reverse: bool = False
    streams: tuple[Stream, ...] = (None,)
    unknown: Unknown = "error"
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True)
class ReadSpec:
    """A config rendered for a run: per-page parameters, streams and cursor scope."""

    config: ReadConfig
    table: str
    params: dict[str, Any]  # without ExclusiveStartKey, Limit and Segment
    count_params: dict[str, Any]  # the same with Select=COUNT and no projection
    scope: dict[str, dict[str, Any]] | None  # a query's partition key, for cursor checks
    filtered: bool  # a FilterExpression may drop items from a page

    @property
    def target(self) -> ReadTarget:
        """What is read."""
        return self.config.target

    @property
    def infos(self) -> tuple[ModelInfo, ...]:
        """The models items decode into."""
        return self.config.target.infos


def target_for(
    models: tuple[type[Model], ...], index: IndexRef | None, *, hydrate: bool
) -> ReadTarget:
    """Resolve and check the table or index a read of `models` uses."""
    if not models:
        raise DynamapError("a query or scan needs at least one model")
    return resolve_target(tuple(model_info(m) for m in models), index, hydrate=hydrate)


def query_config(
    models: type[Model] | tuple[type[Model], ...],
    partition: Any,
    sort: SortCondition | Any | None,
    *,
    index: IndexRef | None,
    hydrate: bool,
    unknown: Unknown,
) -> ReadConfig:
    """A query's config, with its key values checked now (a clear error at the call)."""
    models = models if isinstance(models, tuple) else (models,)
    _check_unknown(unknown)
    target = target_for(models, index, hydrate=hydrate)
    target.key_condition(partition, sort)  # raises for wrong key types or conditions
    return ReadConfig("Query", models, target, partition, sort, unknown=unknown)


def scan_config(
    models: type[Model] | tuple[type[Model], ...],
    *,
    index: IndexRef | None,
    segments: int | None,
    segment: tuple[int, int] | None,
    hydrate: bool,
    unknown: Unknown,
) -> ReadConfig:
    """A scan's config: whole, in `segments` parallel segments, or one `segment` of them."""
    models = models if isinstance(models, tuple) else (models,)
    _check_unknown(unknown)
    target = target_for(models, index, hydrate=hydrate)
    streams: tuple[Stream, ...] = (None,)
    if segments is not None and segment is not None:
        raise ValueError("pass segments= (scan them all) or segment= (one of them), not both")
    if segments is not None:
        if not 1 <= segments <= _MAX_SEGMENTS:
            raise ValueError(f"segments must be from 1 to {_MAX_SEGMENTS:,}")
        streams = tuple((i, segments) for i in range(segments)) if segments > 1 else (None,)
    elif segment is not None:
        index_, total = segment
        if not 1 <= total <= _MAX_SEGMENTS or not 0 <= index_ < total:
            raise ValueError(
                f"segment=(i, total) needs 0 <= i < total <= {_MAX_SEGMENTS:,}; got {segment}"
            )
        streams = ((index_, total),)
    return ReadConfig("Scan", models, target, streams=streams, unknown=unknown)


def _check_unknown(unknown: str) -> None:
    if unknown not in ("error", "skip"):
        raise ValueError('unknown must be "error" or "skip"')


def build_spec(state: UnitOfWork, config: ReadConfig) -> ReadSpec:
    """Render `config` into request parameters (every expression shares one placeholder set)."""
    target = config.target
    table = ""
    for info in target.infos:
        table = state.table(info)  # registers the table's keys for identities
    key_condition: Condition | None = None
    scope: dict[str, dict[str, Any]] | None = None
    if config.operation == "Query":
        key_condition = target.key_condition(config.partition, config.sort)
        scope = {target.partition.attr: target.partition.encode(config.partition, target.info.name)}
    condition = config.filter
    kind = _kind_filter(config)
    if kind is not None:
        condition = kind if condition is None else condition & kind
    base: dict[str, Any] = {"TableName": table, "ReturnConsumedCapacity": "TOTAL"}
    if target.index_name is not None:
        base["IndexName"] = target.index_name
    if config.consistent:
        base["ConsistentRead"] = True
    if config.reverse:
        base["ScanIndexForward"] = False
    base.update(config.extra)
    params = dict(base)
    params.update(
        render_expressions(
            key_condition=key_condition,
            filter=condition,
            projection=target.fetch,
            ctx=RenderContext(),
        )
    )
    if len(params["ProjectionExpression"].encode()) > _MAX_EXPRESSION:
        # Too long to send (a very wide model): read whole items instead.
        params = dict(base)
        params.update(render_expressions(key_condition=key_condition, filter=condition))
    count_params = dict(base, Select="COUNT")
    count_params.update(render_expressions(key_condition=key_condition, filter=condition))
    return ReadSpec(config, table, params, count_params, scope, condition is not None)


def _kind_filter(config: ReadConfig) -> Condition | None:
    """The discriminator filter: always for one model, for several only with unknown="skip".

    Several models with unknown="error" read every item, so that an item of a kind none
    of them is for is reported, never dropped unseen. A hydrated index query whose index
    does not hold the discriminator checks kinds on the full items instead.
    """
    target = config.target
    if len(target.infos) > 1 and config.unknown == "error":
        return None
    kind = target.info.kind
    if kind is None:
        return None
    if target.hydrate and kind.attr not in target.fetch:
        return None
    return target.kind_filter()


def check_cursor(spec: ReadSpec, cursor: Cursor) -> None:
    """Refuse a cursor of another table, index, partition or set of scan segments."""
    what = f"{spec.config.operation.lower()} of {spec.target.where()}"
    if cursor.table != spec.table or cursor.index != spec.target.index_name:
        where = cursor.table + (f" index {cursor.index!r}" if cursor.index else "")
        raise InvalidCursorError(f"this cursor belongs to {where}, not to this {what}")
    if cursor.streams != spec.config.streams:
        raise InvalidCursorError(f"this cursor belongs to other scan segments than this {what}")
    if (cursor.scope is None) != (spec.scope is None):
        kind = "scan" if cursor.scope is None else "query"
        raise InvalidCursorError(f"this cursor belongs to a {kind}, not to this {what}")
    if cursor.scope != spec.scope:
        raise InvalidCursorError(f"this cursor belongs to another partition than this {what}")
    expected = set(spec.target.cursor_attrs)
    for position in cursor.positions:
        if not isinstance(position, dict):
            continue
        if set(position) != expected:
            raise InvalidCursorError(
                f"this cursor's key holds {sorted(position)}, not the key attributes "
                f"{sorted(expected)} of this {what}"
            )
        if spec.scope is not None and any(position[a] != v for a, v in spec.scope.items()):
            raise InvalidCursorError(f"this cursor's key lies outside the partition of this {what}")
        # Values of the wrong type, or outside the sort condition: DynamoDB would reject them.
        check_start_key(spec.target, position, spec.config.sort, what)
