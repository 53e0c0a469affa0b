"""What a query or scan reads: the table or one of its indexes, and the models decoded.

Resolves an index given as its declaration or its name, checks that the models can be
read from it, and builds the key condition from the caller's key values. Pure code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from _dynamap.declare.markers import IndexDeclaration
from _dynamap.errors import DynamapError, InvalidKeyError, ModelDefinitionError
from _dynamap.expr.conditions import Between, Compare, Condition, Function, In
from _dynamap.expr.operands import Operand, Value
from _dynamap.expr.paths import AttrPath
from _dynamap.expr.sortkeys import SortCondition
from _dynamap.model.keys import KeyAttr
from _dynamap.model.model import ModelInfo, ResolvedIndex

__all__ = ["IndexRef", "ReadTarget", "resolve_target", "sort_order"]

IndexRef = IndexDeclaration | str


@dataclass(frozen=True)
class ReadTarget:
    """The table or index read, its keys, and the models items decode into.

    `cursor_attrs` are the attributes DynamoDB puts in a LastEvaluatedKey there (the
    table's keys, then the index's), so a cursor can be rebuilt from any item read.
    `fetch` is the projection to request (table and index keys first).
    """

    infos: tuple[ModelInfo, ...]
    index: ResolvedIndex | None
    partition: KeyAttr
    sort: KeyAttr | None
    cursor_attrs: tuple[str, ...]
    fetch: tuple[str, ...]
    hydrate: bool

    @property
    def info(self) -> ModelInfo:
        """The first model (the one the key types and indexes come from)."""
        return self.infos[0]

    @property
    def index_name(self) -> str | None:
        """The IndexName to send, or None for the table."""
        return None if self.index is None else self.index.name

    def where(self) -> str:
        """`User` or `User index 'by_status'`, for error messages."""
        names = " | ".join(i.name for i in self.infos)
        return names if self.index is None else f"{names} index {self.index.name!r}"

    def key_condition(self, partition: Any, sort: SortCondition | Any | None) -> Condition:
        """`pk = :v [AND <sort condition>]`, with values checked against the key types.

        Args:
            partition: the partition key value.
            sort: a SortCondition, a bare sort key value (equality), or None.
        """
        name = self.info.name
        pk_value = self.partition.encode(partition, name)
        pk_path: AttrPath[Any] = AttrPath(self.partition.attr)
        condition: Condition = Compare(pk_path, "=", Value(pk_value))
        if sort is None:
            return condition
        if self.sort is None:
            raise InvalidKeyError(
                f"{self.where()} has no sort key: a sort condition ({sort!r}) cannot apply"
            )
        cond = sort if isinstance(sort, SortCondition) else SortCondition("=", (sort,))
        key = self.sort
        if cond.op == "begins_with" and key.type == "N":
            raise InvalidKeyError(
                f"{name}.{key.name} is a numeric sort key: begins_with applies to string "
                f"and binary sort keys only; use between(...) or ge/lt"
            )
        encoded = [key.encode(v, name) for v in cond.values]
        values = [Value(av) for av in encoded]
        path: AttrPath[Any] = AttrPath(key.attr)
        if cond.op == "BETWEEN":
            if sort_order(encoded[0]) > sort_order(encoded[1]):
                raise InvalidKeyError(
                    f"{name}.{key.name}: {cond!r} has its low bound above its high bound "
                    f"(in DynamoDB's order of {key.type} keys); DynamoDB would reject it"
                )
            return condition & Between(path, values[0], values[1])
        if cond.op == "begins_with":
            return condition & Function("begins_with", path, values[0])
        return condition & Compare(path, cond.op, values[0])

    def check_filter(self, condition: Condition) -> None:
        """Refuse a query filter on the key being queried (DynamoDB rejects it)."""
        keys = {k.attr: k for k in (self.partition, self.sort) if k is not None}
        for path in attr_paths(condition):
            key = keys.get(str(path.parts[0]))
            if key is not None:
                raise DynamapError(
                    f"{self.where()}: a query filter cannot use {key.name}, the {key.role} "
                    f"being queried; put it in the key condition (e.g. between(...))"
                )

    def kind_filter(self) -> Condition | None:
        """The discriminator condition restricting reads to these models' kinds, if any."""
        kinds = [i.kind for i in self.infos]
        if not kinds or any(k is None for k in kinds):
            return None
        attr = kinds[0].attr if kinds[0] is not None else ""
        path: AttrPath[Any] = AttrPath(attr)
        values = [Value(k.wire) for k in kinds if k is not None]
        return Compare(path, "=", values[0]) if len(values) == 1 else In(path, values)


def sort_order(av: dict[str, Any]) -> Any:
    """A key value in DynamoDB's sort order: numbers by value, strings by UTF-8 bytes."""
    ((tag, value),) = av.items()
    if tag == "N":
        return Decimal(value)
    if tag == "S":
        return str(value).encode("utf-8", "surrogatepass")
    return bytes(value)


def attr_paths(node: object) -> Iterator[AttrPath[Any]]:
    """Every attribute path an expression refers to (walking its nodes)."""
    if isinstance(node, AttrPath):
        path: AttrPath[Any] = node  # pyright: ignore[reportUnknownVariableType]
        yield path
        return
    for child in _children(node):
        yield from attr_paths(child)


def _children(node: object) -> list[object]:
    if isinstance(node, tuple | list):
        return list(cast("Iterable[object]", node))
    if not isinstance(node, Condition | Operand):
        return []
    plain = cast(object, node)
    found: list[object] = [getattr(plain, n, None) for k in type(plain).__mro__ for n in _slots(k)]
    found.extend(getattr(plain, "__dict__", {}).values())
    return found


def _slots(klass: type) -> tuple[str, ...]:
    slots = vars(klass).get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def check_kinds(infos: tuple[ModelInfo, ...]) -> None:
    """Refuse a polymorphic read whose models cannot be told apart."""
    if len(infos) < 2:
        return
    names = ", ".join(i.name for i in infos)
    tables = {i.require_table() for i in infos}
    if len(tables) > 1:
        raise ModelDefinitionError(f"{names} map to different tables: query them one by one")
    seen: dict[object, str] = {}
    attrs: set[str] = set()
    for info in infos:
        if info.kind is None:
            raise ModelDefinitionError(
                f"{info.name} has no Discriminator() field: a query of several models "
                f"({names}) needs one on each to tell their items apart"
            )
        attrs.add(info.kind.attr)
        if info.kind.value in seen:
            raise ModelDefinitionError(
                f"{info.name} and {seen[info.kind.value]} have the same discriminator "
                f"value {info.kind.value!r}"
            )
        seen[info.kind.value] = info.name
    if len(attrs) > 1:
        raise ModelDefinitionError(
            f"{names} keep their discriminators in different attributes ({sorted(attrs)})"
        )
    keys = {tuple(k.attr for k in i.key_attrs) for i in infos}
    if len(keys) > 1:
        raise ModelDefinitionError(f"{names} map to one table with different keys")


def _find_index(info: ModelInfo, ref: IndexRef) -> ResolvedIndex:
    name = ref if isinstance(ref, str) else ref.name
    for index in info.indexes:
        if index.name == name:
            return index
    known = ", ".join(repr(i.name) for i in info.indexes) or "none"
    raise DynamapError(f"{info.name} declares no index {name!r} (its indexes: {known})")


def resolve_target(
    infos: tuple[ModelInfo, ...], index: IndexRef | None, *, hydrate: bool
) -> ReadTarget:
    """Check what a query or scan of `infos` on `index` (or the table) can read.

    Args:
        infos: the models items decode into (several for a single-table read).
        index: the index read, as its declaration or name; None for the table.
        hydrate: read only keys from the index, then the full items by key.
    """
    check_kinds(infos)
    info = infos[0]
    info.require_table()
    table_keys = tuple(k.attr for k in info.key_attrs)
    if index is None:
        if hydrate:
            raise DynamapError(f"{info.name}: hydrate=True applies to index queries only")
        assert info.partition_key is not None
        return ReadTarget(
            infos,
            None,
            info.partition_key,
            info.sort_key,
            table_keys,
            _fetch(infos, table_keys),
            False,
        )
    resolved = _find_index(info, index)
    for other in infos[1:]:
        _find_index(other, resolved.name)
    index_keys = tuple(k.attr for k in (resolved.partition_key, resolved.sort_key) if k is not None)
    cursor_attrs = tuple(dict.fromkeys((*table_keys, *index_keys)))
    projected = set(cursor_attrs) | set(resolved.non_key_attributes)
    if hydrate:
        if len(infos) > 1:
            raise DynamapError(
                "hydrate=True reads one model: query the models of a shared table one by one"
            )
        return ReadTarget(
            infos,
            resolved,
            resolved.partition_key,
            resolved.sort_key,
            cursor_attrs,
            cursor_attrs,
            True,
        )
    if resolved.projection != "ALL":
        for one in infos:
            missing = [f.name for f in one.codec.fields if f.attr not in projected]
            if missing:
                raise DynamapError(
                    f"index {resolved.name!r} projects {resolved.projection} attributes: "
                    f"{one.name} fields {', '.join(missing)} are not in it. Pass hydrate=True "
                    f"to read the full items by key, or query a view with the projected fields"
                )
    return ReadTarget(
        infos,
        resolved,
        resolved.partition_key,
        resolved.sort_key,
        cursor_attrs,
        _fetch(infos, cursor_attrs),
        False,
    )


def _fetch(infos: tuple[ModelInfo, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    names = dict.fromkeys(keys)
    for info in infos:
        names.update(dict.fromkeys(info.attributes))
    return tuple(names)
