"""`Model`: a pydantic v2 BaseModel mapped to a DynamoDB table, and its compiled metadata."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import Self

from _dynamap.codec.located import LocatedError
from _dynamap.codec.modelcodec import FieldCodec, ModelCodec, check_nested, codec_for
from _dynamap.codec.size import too_large
from _dynamap.codec.values import Item
from _dynamap.codec.wireread import ItemReader, item_reader
from _dynamap.declare.annotations import (
    is_optional,
    literal_values,
    strip_annotated,
    strip_optional,
    type_name,
)
from _dynamap.declare.markers import (
    Attr,
    GlobalIndex,
    IndexDeclaration,
    LocalIndex,
    PartitionKey,
    SortKey,
)
from _dynamap.errors import (
    DynamapError,
    EncodeError,
    InvalidKeyError,
    ItemTooLargeError,
    ModelDefinitionError,
)
from _dynamap.expr.names import Projection, render_projection
from _dynamap.expr.paths import AttrPath, path
from _dynamap.model.discriminator import Kind, find_kind
from _dynamap.model.keys import CanonicalKey, KeyAttr, KeyType, canonical_value, describe_key
from _dynamap.model.version import find_version

__all__ = ["Model", "ModelInfo", "ResolvedIndex", "model_info"]

_T = TypeVar("_T")
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
_MAX_KEY_NAME_BYTES = 255


class Model(BaseModel):
    """Base class of dynamap models: `class User(Model, table="users"): ...`.

    A class without `table=` is an abstract base: it shares fields and keys with
    its subclasses but maps to no table. A field is stored under its `Attr(...)`
    name, else its alias, else its Python name.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        validate_assignment=True,
    )

    __dynamap_table__: ClassVar[str | None] = None

    def __init_subclass__(cls, *, table: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if table is not None and not _NAME_RE.fullmatch(table):
            raise ModelDefinitionError(
                f"{cls.__qualname__}: table name {table!r} must be 3-255 characters of "
                f"letters, digits, '_', '-' and '.'"
            )
        # Explicitly set on every class so a subclass without table= is abstract again.
        cls.__dynamap_table__ = table

    @classmethod
    def path(cls, select: Callable[[Self], _T]) -> AttrPath[_T]:
        """The typed attribute path a selector reaches: `User.path(lambda u: u.address.city)`.

        The selector is typed, so IDEs complete it and checkers check it; field
        names become stored attribute names. Conditions and update actions are
        methods of the path, offered where the field's type allows them.

        Args:
            select: a selector on an instance, e.g. `lambda u: u.tags`.
        """
        return path(cls, select)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__pydantic_complete__:
            model_info(cls)  # declaration errors surface at class creation


@dataclass(frozen=True)
class ResolvedIndex:
    """A secondary index with field names resolved to attribute names."""

    name: str
    kind: Literal["global", "local"]
    partition_key: KeyAttr
    sort_key: KeyAttr | None
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"]
    non_key_attributes: tuple[str, ...]
    read_capacity: int | None = None
    write_capacity: int | None = None


class ModelInfo:
    """Everything dynamap derives from a model class, computed once per class."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.name = model.__qualname__
        self.table: str | None = model.__dynamap_table__
        check_nested(model)  # nested models' declaration errors surface now too
        self.codec: ModelCodec = codec_for(model)
        self.attr_by_name = {f.name: f.attr for f in self.codec.fields}
        self.partition_key, self.sort_key = self._find_keys()
        if self.table is not None and self.partition_key is None:
            raise ModelDefinitionError(
                f"{self.name} maps to table {self.table!r} but declares no "
                f"Annotated[..., PartitionKey()] field"
            )
        self.key_attrs: tuple[KeyAttr, ...] = tuple(
            k for k in (self.partition_key, self.sort_key) if k is not None
        )
        # Keys that are all plain str (S, no constraints): (attribute, byte limit) each, for
        # the inline path of key_from_values; None otherwise.
        self._str_keys: tuple[tuple[str, int], ...] | None = (
            tuple((k.attr, k.max_bytes) for k in self.key_attrs)
            if self.key_attrs and all(k.type == "S" and k.plain is str for k in self.key_attrs)
            else None
        )
        # Keys that are all S: their fields, and (attribute, byte limit) each, for the
        # inline path of key_of (an instance's values, validated whatever their constraints).
        self._str_names: tuple[tuple[str, ...], tuple[tuple[str, int], ...]] | None = (
            (
                tuple(k.name for k in self.key_attrs),
                tuple((k.attr, k.max_bytes) for k in self.key_attrs),
            )
            if self.key_attrs and all(k.type == "S" for k in self.key_attrs)
            else None
        )
        self.indexes = self._resolve_indexes()
        self.version: FieldCodec | None = find_version(model, self.codec)  # optimistic locking
        self.kind: Kind | None = find_kind(model, self.codec, self.table)  # single-table kinds

    # -- keys -------------------------------------------------------------------------------

    def _find_keys(self) -> tuple[KeyAttr | None, KeyAttr | None]:
        found: dict[type, list[str]] = {PartitionKey: [], SortKey: []}
        for name, info in self.model.model_fields.items():
            for marker in info.metadata:
                if isinstance(marker, PartitionKey | SortKey):
                    found[type(marker)].append(name)
        keys: list[KeyAttr | None] = []
        for marker_type, label in ((PartitionKey, "partition"), (SortKey, "sort")):
            names = found[marker_type]
            if len(names) > 1:
                raise ModelDefinitionError(
                    f"{self.name} declares {len(names)} {label} keys ({', '.join(names)}); "
                    f"at most one is allowed"
                )
            keys.append(self._key_attr(names[0], f"{label} key") if names else None)
        return keys[0], keys[1]

    def _key_attr(self, field: str, role: str, *, allow_optional: bool = False) -> KeyAttr:
        info = self.model.model_fields[field]
        annotation = info.annotation
        where = f"{self.name}.{field}"
        if is_optional(annotation) and not allow_optional:
            raise ModelDefinitionError(f"{where}: the {role} cannot be Optional")
        key_type = scalar_key_type(strip_optional(annotation))
        if key_type is None:
            raise ModelDefinitionError(
                f"{where}: the {role} must be str, int, Decimal or bytes (DynamoDB S, N or B), "
                f"not {type_name(annotation)}"
            )
        attr = self.attr_by_name[field]
        if len(attr.encode()) > _MAX_KEY_NAME_BYTES:
            raise ModelDefinitionError(
                f"{where}: the {role}'s attribute name is longer than DynamoDB's "
                f"{_MAX_KEY_NAME_BYTES} bytes for key attributes"
            )
        # Keep constraints (e.g. min_length) so key values given to get() are checked too.
        markers = PartitionKey | SortKey | Attr
        constraints = [m for m in info.metadata if not isinstance(m, markers)]
        args = (annotation, *info.metadata)
        full: Any = cast(Any, Annotated)[args] if info.metadata else annotation
        bare: Any = annotation
        plain = bare if bare in (str, int, Decimal, bytes) and not constraints else None
        return KeyAttr(field, attr, key_type, TypeAdapter(full), plain, role)

    @cached_property
    def item_reader(self) -> ItemReader | None:
        """Reads this model's items straight from BatchGetItem answers
        (`codec/wireread.py`); None for a model with a kind (its discriminator is
        checked on whole items), a binary key (its items' keys would stay base64 text)
        or one that reader cannot take."""
        if self.kind is not None or not self.key_attrs:
            return None
        if any(k.type == "B" for k in self.key_attrs):
            return None
        attrs = tuple(k.attr for k in self.key_attrs)
        return item_reader(self.model, self.codec.fields, attrs)

    def key_from_values(self, values: tuple[Any, ...]) -> tuple[Item, CanonicalKey]:
        """Validate positional key values (partition, then sort) and encode them."""
        inline = self._str_keys
        if inline is not None and len(values) == len(inline):
            found = _text_key(inline, values)  # the common key; anything else: below
            if found is not None:
                return found, tuple(values)
        if len(values) != len(self.key_attrs):
            expected = " and ".join(k.name for k in self.key_attrs)
            raise InvalidKeyError(
                f"{self.name} is keyed by {expected}: expected {len(self.key_attrs)} key "
                f"value(s), got {len(values)}"
            )
        key = {k.attr: k.encode(v, self.name) for k, v in zip(self.key_attrs, values, strict=True)}
        return key, self.canonical(key)

    def key_of(self, instance: Model) -> tuple[Item, CanonicalKey]:
        """The primary key of an instance, encoded, and its canonical identity."""
        values = instance.__dict__
        inline = self._str_names
        if inline is not None:
            # The common key; anything else (an absent value after model_construct(), too)
            # takes the checks below.
            texts = tuple([values.get(name) for name in inline[0]])
            found = _text_key(inline[1], texts)
            if found is not None:
                return found, texts
        key: Item = {}
        for k in self.key_attrs:
            value = values.get(k.name)  # absent after model_construct() without it
            if value is None:
                raise InvalidKeyError(f"{self.name}.{k.name}: key attribute is None")
            key[k.attr] = k.wire(value, self.name)
        return key, self.canonical(key)

    def encode_item(self, instance: Model, key: Item | None = None) -> Item:
        """Encode `instance` for a write, checking every value against the model's types.

        An `EncodeError` names the model, the field path and the key (taken from the
        instance when not given), e.g. `User.score (key pk='u#7'): ...`.

        Args:
            instance: the instance to encode.
            key: its encoded primary key, when the caller has it already.
        """
        try:
            return self.codec.encode_checked(instance)
        except ItemTooLargeError as exc:
            shown = key if key is not None else self._key_or_none(instance)
            if shown is None:
                raise
            raise too_large(exc.size, f"{self.name} item {shown}") from None
        except EncodeError as exc:
            shown = key if key is not None else self._key_or_none(instance)
            located = exc if isinstance(exc, LocatedError) else LocatedError(str(exc), exc)
            located.within(located.model or self.name, describe_key(shown) if shown else None)
            raise located from located.__cause__

    def _key_or_none(self, instance: Model) -> Item | None:
        try:
            return self.key_of(instance)[0]
        except DynamapError:
            return None

    def check_key(self, item: Item) -> None:
        """Raise InvalidKeyError unless `item` carries every key attribute, non-empty."""
        for k in self.key_attrs:
            av = item.get(k.attr)
            if av is None:
                raise InvalidKeyError(f"{self.name}.{k.name}: key attribute is None")
            if not av.get(k.type, True):
                kind = "strings" if k.type == "S" else "binary values"
                raise InvalidKeyError(f"{self.name}.{k.name}: key {kind} cannot be empty")

    def canonical(self, item: Item) -> CanonicalKey:
        """The canonical primary-key identity of an item (or key) of this model's table."""
        try:
            return tuple(canonical_value(item[k.attr]) for k in self.key_attrs)
        except KeyError as exc:
            raise InvalidKeyError(f"{self.name}: item lacks key attribute {exc}") from None

    # -- indexes ----------------------------------------------------------------------------

    def _resolve_indexes(self) -> tuple[ResolvedIndex, ...]:
        declared: dict[str, IndexDeclaration] = {}
        for klass in reversed(self.model.__mro__):
            for value in vars(klass).values():
                if isinstance(value, IndexDeclaration):
                    declared[value.name] = value
        if declared and self.table is None:
            return ()
        resolved = tuple(self._resolve_index(ix) for ix in declared.values())
        globals_ = sum(1 for ix in resolved if ix.kind == "global")
        locals_ = len(resolved) - globals_
        if globals_ > 20 or locals_ > 5:
            raise ModelDefinitionError(
                f"{self.name}: DynamoDB allows 20 global and 5 local indexes per table "
                f"(declared {globals_} and {locals_})"
            )
        return resolved

    def _field_of(self, index: IndexDeclaration, ref: str) -> str:
        if ref in self.attr_by_name:
            return ref
        for name, attr in self.attr_by_name.items():
            if attr == ref:
                return name
        raise ModelDefinitionError(
            f"{self.name}: index {index.name!r} names field {ref!r}, which {self.name} lacks"
        )

    def _resolve_index(self, index: IndexDeclaration) -> ResolvedIndex:
        where = f"{self.name}: index {index.name!r}"
        if not _NAME_RE.fullmatch(index.name):
            raise ModelDefinitionError(
                f"{where}: index names must be 3-255 letters, digits, '_', '-' or '.'"
            )

        def key(ref: str, role: str) -> KeyAttr:
            return self._key_attr(
                self._field_of(index, ref), f"{role} of index {index.name!r}", allow_optional=True
            )

        if isinstance(index, GlobalIndex):
            kind: Literal["global", "local"] = "global"
            pk = key(index.partition_key, "partition key")
            sk = key(index.sort_key, "sort key") if index.sort_key else None
            rcu, wcu = index.read_capacity, index.write_capacity
        else:
            assert isinstance(index, LocalIndex)
            if self.sort_key is None or self.partition_key is None:
                raise ModelDefinitionError(f"{where}: a local index needs a table with a sort key")
            kind, pk, rcu, wcu = "local", self.partition_key, None, None
            sk = key(index.sort_key, "sort key")
        if isinstance(index.projection, tuple):
            attrs = tuple(self.attr_by_name[self._field_of(index, r)] for r in index.projection)
            return ResolvedIndex(index.name, kind, pk, sk, "INCLUDE", attrs, rcu, wcu)
        return ResolvedIndex(index.name, kind, pk, sk, index.projection, (), rcu, wcu)

    # -- projection -------------------------------------------------------------------------

    @cached_property
    def projection(self) -> Projection:
        """The ProjectionExpression fetching exactly this model's attributes, keys first."""
        keys = [k.attr for k in self.key_attrs]
        return render_projection([*keys, *(f.attr for f in self.codec.fields)])

    @cached_property
    def attributes(self) -> tuple[str, ...]:
        """Every attribute this model reads and writes."""
        return tuple(f.attr for f in self.codec.fields)

    def require_table(self) -> str:
        """This model's table, or a clear error for an abstract model."""
        if self.table is None:
            raise ModelDefinitionError(
                f"{self.name} maps to no table: declare it as class {self.name}(..., table='...')"
            )
        return self.table


def scalar_key_type(tp: Any) -> KeyType | None:
    """S, N or B for a key annotation; None if it has no scalar key type."""
    tp = strip_annotated(tp)
    values = literal_values(tp)
    if values is not None:
        kinds: set[KeyType | None] = {scalar_key_type(type(cast(object, v))) for v in values}
        return kinds.pop() if len(kinds) == 1 else None
    if not isinstance(tp, type) or issubclass(tp, bool):
        return None
    if issubclass(tp, str):
        return "S"
    if issubclass(tp, bytes):
        return "B"
    if issubclass(tp, int | Decimal):
        return "N"
    return None


def _is_model_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, Model) and obj is not Model


_INFOS: dict[type[Model], ModelInfo] = {}
_LOCK = threading.Lock()


def _text_key(limits: tuple[tuple[str, int], ...], values: tuple[Any, ...]) -> Item | None:
    """The key item of non-empty ASCII str values surely within their limits (which are
    their own canonical form), or None for anything else; one value per (attribute, byte
    limit) of `limits`."""
    key: Item = {}
    for (attr, limit), value in zip(limits, values, strict=True):
        if value.__class__ is not str or not value or not value.isascii() or len(value) > limit:
            return None
        key[attr] = {"S": value}
    return key


def model_info(model: type[Model]) -> ModelInfo:
    """The compiled metadata of a model class (built once, then cached)."""
    info = _INFOS.get(model)
    if info is None:
        if not _is_model_class(model):
            raise ModelDefinitionError(f"{model!r} is not a dynamap Model subclass")
        with _LOCK:
            info = _INFOS.get(model)
            if info is None:
                info = ModelInfo(model)
                _INFOS[model] = info
    return info
