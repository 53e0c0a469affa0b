"""BatchGetItem answers read straight into models' field values, in two pydantic-core calls.

The general path parses an answer into DynamoDB's attribute-value dicts
(`{"S": "text"}` per attribute, maps and lists of them), unwraps those into Python
values (`generate_to_python`) and hands them to the model's validator: three passes,
and a dozen short-lived dicts per item. Here pydantic-core parses the JSON
(`from_json`) and validates each item of a table read into one model with a schema of
that model's own fields (`validate_python`, the general path's mode), each looked up
where DynamoDB writes it:
- by path, for a required field stored inline: text (`[attr, "S"]`: str, datetime,
  date, time, UUID, whatever the field's validators), booleans (`BOOL`), and, for
  plain `int`, `float` and `Decimal` fields only, numbers (`N`), which pydantic
  converts from their text as `int()`, `float()` and `Decimal()` do (the general path
  converts first, which a validator could tell apart: hence plain fields only), and
  plain `set[str]` fields (`SS`);
- otherwise by attribute, through the field's own decoder run as a before-validator
  (a NULL, which the general path reads as absent, is refused: see below).

An item comes out as a `DecodedItem`: its key attributes as DynamoDB wrote them (the
flush matches items to keys by those) and the field values and fields set that
validation produced; `ItemReader.instance` builds the instance as pydantic does.

Anything unusual in an answer (a missing path, an attribute stored as another type, a
NULL, a value validation refuses, an exception in a decoder, binary data) makes
`BatchGetReader.parse` answer None, and the caller parses the answer the general way:
there each item is decoded on its own, and only an item that fails gets an error, worded
as always. Models with anything at model level that validating their fields alone
would skip (model validators, `model_post_init`, private attributes, extra fields kept,
a custom `__init__`) get no reader, nor do models with a binary key, models whose
validation `_mode_matters` flags, or models that validate defaults (a default would go
through the field's decoder).

Binary data needs no search of the answer's bytes here: no field read by path can hold
it (a B attribute has no S, N, SS or BOOL member), and every decoder reads B and BS
values through `decode_any`, whose `bytes()` refuses the base64 text JSON gives
(TypeError): the answer then takes the general path, which decodes binary values first.

Why `from_json` and `validate_python` rather than one `validate_json`: the latter builds
a Rust tree of the whole answer first, thousands of small allocations through the C
library's allocator, all freed at once; on a process holding many objects that churn
cost more than the parsing (glibc consolidating its free lists). Python objects come
from CPython's own allocator. Measured on the benchmark's 20-field item (a 100-item
answer, GC off): 16.4 against 18.4 µs per item hot, and less again inside a flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

from pydantic import BaseModel
from pydantic_core import SchemaValidator, from_json
from pydantic_core import core_schema as cs

from _dynamap.codec.generate import FieldCodec
from _dynamap.codec.values import Decoder

__all__ = ["BatchGetReader", "DecodedItem", "ItemReader", "item_reader"]

# The path of a required field's value by wire kind (see modelcodec._wire_kind).
_TEXT_KINDS = {"S": "S", "S_TEXT": "S", "S_UUID": "S", "BOOL": "BOOL"}
# Numbers: only for exactly these field schemas, converted by pydantic from the text.
_NUMBER_SCHEMAS = ({"type": "int"}, {"type": "float"}, {"type": "decimal"})
_SET_OF_TEXT = {"type": "set", "items_schema": {"type": "str"}}
_MODEL_KEYS = {"type", "cls", "schema", "custom_init", "root_model", "config", "ref", "metadata"}
_FIELDS_KEYS = {"type", "fields", "model_name", "computed_fields"}
_KEY_PREFIX = "\x00"  # names of the key attributes' own entries: never a field name


class _Null(Exception):
    """A NULL attribute, which the general path reads as absent: this pass gives up."""


class DecodedItem(dict[str, Any]):
    """An item read by an `ItemReader`: its key attributes (as DynamoDB wrote them) as
    a dict, and its validated field values. Not a whole item: only `ItemReader.instance`
    turns it into anything else."""

    __slots__ = ("field_values", "fields_set", "reader")

    def __init__(
        self, key: dict[str, Any], reader: ItemReader, values: dict[str, Any], fields: set[str]
    ) -> None:
        super().__init__(key)
        self.reader = reader
        self.field_values = values
        self.fields_set = fields


class _Fields:
    """What the reader's schema makes of an item: the slots pydantic-core sets on a model
    instance, without being one (the field values go on to the real instance)."""

    __slots__ = (
        "__dict__",
        "__pydantic_extra__",
        "__pydantic_fields_set__",
        "__pydantic_private__",
    )


class ItemReader:
    """Reads the items of one model (see the module notes); one per model class."""

    def __init__(self, model: type[BaseModel], schema: Any, keys: tuple[str, ...]) -> None:
        self.model = model
        self.schema = schema  # a model schema of `_Fields`, with an entry per key attribute
        self.keys = tuple((_KEY_PREFIX + attr, attr) for attr in keys)

    def item(self, validated: Any) -> DecodedItem:
        """A `DecodedItem` from what this reader's schema made of one item (a `_Fields`)."""
        values: dict[str, Any] = validated.__dict__
        fields: set[str] = validated.__pydantic_fields_set__
        key = {attr: values.pop(name) for name, attr in self.keys}
        fields.difference_update(name for name, _ in self.keys)
        return DecodedItem(key, self, values, fields)

    def instance(self, item: DecodedItem) -> Any:
        """The instance of `item`, as `validate_python` would have built it."""
        instance = self.model.__new__(self.model)
        set_slot = object.__setattr__
        set_slot(instance, "__dict__", item.field_values)
        set_slot(instance, "__pydantic_fields_set__", item.fields_set)
        set_slot(instance, "__pydantic_extra__", None)
        set_slot(instance, "__pydantic_private__", None)
        return instance


class BatchGetReader:
    """Parses one BatchGetItem answer, reading each table's items with its reader.

    Built per request from its tables' readers (None: read as plain dicts, as the general
    path does); the validators are shared by every request over the same readers.
    """

    def __init__(self, readers: Mapping[str, ItemReader | None]) -> None:
        self.readers = dict(readers)
        self._validate = _body_validator(tuple(sorted(self.readers.items(), key=_table)))
        # A table without a reader keeps its items as parsed, binary values as base64
        # text: such answers must be looked at for binary data first (`needs_scan`).
        # A reader's own items need no look: their decoders refuse base64 text where
        # bytes belong (module notes), and readers' keys are never binary.
        self.needs_scan = None in self.readers.values()

    def parse(self, body: bytes) -> dict[str, Any] | None:
        """The answer with each read table's items as `DecodedItem`s, or None if
        anything in it needs the general path (module notes).

        Args:
            body: the answer's JSON, checked against its CRC32 already.
        """
        if self._validate is None:
            return None
        try:
            parsed: dict[str, Any] = self._validate(from_json(body, cache_strings=False))
        except Exception:  # unreadable JSON, a ValidationError, or a decoder's exception
            return None
        responses: dict[str, list[Any]] = parsed.get("Responses") or {}
        for table, items in responses.items():
            reader = self.readers.get(table)
            if reader is not None:
                item = reader.item
                responses[table] = [item(v) for v in items]
        return parsed


def _table(entry: tuple[str, ItemReader | None]) -> str:
    return entry[0]


_BODIES: dict[tuple[tuple[str, ItemReader | None], ...], Callable[[bytes], Any] | None] = {}
_LOCK = threading.Lock()
_MAX_BODIES = 256  # validators kept for combinations of tables and readers


def _body_validator(
    readers: tuple[tuple[str, ItemReader | None], ...],
) -> Callable[[bytes], Any] | None:
    """The validator of answers over these tables and readers; None if pydantic-core
    refuses to combine their schemas (then every such answer takes the general path)."""
    try:
        return _BODIES[readers]
    except KeyError:
        pass
    tables = {
        table: cs.typed_dict_field(
            cs.list_schema(cs.any_schema() if reader is None else reader.schema),
            required=False,
        )
        for table, reader in readers
    }
    any_field = cs.typed_dict_field(cs.any_schema(), required=False)
    body = cs.typed_dict_schema(
        {
            "Responses": cs.typed_dict_field(
                cs.typed_dict_schema(tables, extra_behavior="allow"), required=False
            ),
            "UnprocessedKeys": any_field,
            "ConsumedCapacity": any_field,
        },
        extra_behavior="allow",
    )
    config = cs.CoreConfig(validate_by_alias=True, validate_by_name=False, cache_strings=False)
    validate: Callable[[bytes], Any] | None
    try:
        validate = SchemaValidator(body, config).validate_python
    except Exception:  # e.g. two readers' definitions under one name
        validate = None
    with _LOCK:
        if len(_BODIES) >= _MAX_BODIES:
            _BODIES.clear()
        _BODIES[readers] = validate
    return validate


def item_reader(
    model: type[BaseModel], fields: tuple[FieldCodec, ...], keys: tuple[str, ...]
) -> ItemReader | None:
    """The reader of `model`'s items, or None if the model does not qualify.

    Args:
        model: the model class.
        fields: its field codecs.
        keys: the attribute names of its table's key, partition key first.
    """
    found = _model_fields(model)
    if found is None:
        return None
    schemas, config, definitions = found
    if sorted(f.name for f in fields) != sorted(schemas):
        return None
    by_name = {f.name: f for f in fields}
    wire: dict[str, Any] = {
        name: _wire_field(by_name[name], schema) for name, schema in schemas.items()
    }
    for attr in keys:  # the key as DynamoDB wrote it, to match the item to its key
        wire[_KEY_PREFIX + attr] = cs.model_field(cs.any_schema(), validation_alias=attr)
    config.pop("extra_fields_behavior", None)  # the item's other attributes are ignored
    config.update(validate_by_alias=True, validate_by_name=False)
    # The model's config travels with the schema: it applies inside any answer's schema.
    schema: Any = cs.model_schema(
        _Fields,
        cs.model_fields_schema(wire, extra_behavior="ignore"),
        config=cast(cs.CoreConfig, config),
    )
    if definitions:
        schema = cs.definitions_schema(schema, definitions)
    try:  # built once alone, so that a schema pydantic-core refuses fails here
        SchemaValidator(schema)
    except Exception:
        return None
    return ItemReader(model, schema, keys)


def _model_fields(
    model: type[BaseModel],
) -> tuple[dict[str, Any], dict[str, Any], list[Any]] | None:
    """Each field's schema by name, in order, the core config and the definitions the
    fields refer to; None if the model does anything at model level that validating
    its fields alone would skip."""
    if model.__pydantic_post_init__ is not None or model.__private_attributes__:
        return None
    try:
        schema: dict[str, Any] = dict(model.__pydantic_core_schema__)
    except Exception:  # not complete yet (a MockCoreSchema)
        return None
    definitions: list[Any] = []
    if schema.get("type") == "definitions" and set(schema) == {"type", "schema", "definitions"}:
        definitions = list(schema["definitions"])  # models used twice or recursively
        schema = dict(schema["schema"])
    if (
        schema.get("type") != "model"
        or schema.get("cls") is not model
        or not _MODEL_KEYS.issuperset(schema)
        or schema.get("custom_init")
        or schema.get("root_model")
    ):
        return None
    config: dict[str, Any] = dict(schema.get("config") or {})
    if config.get("extra_fields_behavior") == "allow":
        return None  # validation would keep the item's other attributes
    inner: dict[str, Any] = schema["schema"]
    if inner.get("type") != "model-fields" or not _FIELDS_KEYS.issuperset(inner):
        return None
    schemas: dict[str, Any] = {}
    for name, field in inner["fields"].items():
        if field.get("type") != "model-field":
            return None
        schemas[name] = field["schema"]
    if _mode_matters([schemas, definitions, config]):
        return None
    validate_default = config.get("validate_default")
    for field in schemas.values():  # a validated default would go through the decoder
        if field.get("type") == "default" and (validate_default or field.get("validate_default")):
            return None
    return schemas, config, definitions


def _mode_matters(node: Any) -> bool:
    """Whether the model's validation has parts a reader is not built for: strict checks
    (they refuse the text the reader hands a plain number field, so every answer would
    take the general path after all), json-or-python schemas, smart unions and
    validators taking `info`. The reader once validated in JSON mode, where these read
    otherwise than under the general path's `validate_python`; both use Python mode now,
    but these models stay on the general path until measured and tested here.
    Serialisation schemas and metadata never validate."""
    if isinstance(node, dict):
        node = cast(dict[str, Any], node)
        if node.get("strict") is True or node.get("type") == "json-or-python":
            return True
        if node.get("type") == "union" and node.get("mode", "smart") == "smart":
            return True
        function: Any = node.get("function")
        if isinstance(function, dict) and cast(dict[str, Any], function).get("type") == "with-info":
            return True
        return any(
            _mode_matters(v) for k, v in node.items() if k not in ("serialization", "metadata")
        )
    if isinstance(node, list | tuple):
        return any(_mode_matters(v) for v in cast(list[Any], node))
    return False


def _wire_field(f: FieldCodec, schema: Any) -> Any:
    """The field looked up by path where that hands pydantic what the general path
    would, else through its decoder; `schema` is the field's own (never strict: such
    models get no reader)."""
    if schema.get("type") == "default":  # the default applies when the attribute is absent
        inner = cs.no_info_before_validator_function(_guarded(f.decode), schema["schema"])
        wrapped: Any = {**schema, "schema": inner}
        return cs.model_field(wrapped, validation_alias=f.attr)
    plain = {k: v for k, v in schema.items() if k != "metadata"}
    path: list[str | int] | None = None
    if f.wire in _TEXT_KINDS:
        path = [f.attr, _TEXT_KINDS[f.wire]]
    elif f.wire.startswith("N_") and plain in _NUMBER_SCHEMAS:
        path = [f.attr, "N"]
    elif plain == _SET_OF_TEXT:
        path = [f.attr, "SS"]
    if path is not None:
        return cs.model_field(schema, validation_alias=path)
    before = cs.no_info_before_validator_function(_guarded(f.decode), schema)
    return cs.model_field(before, validation_alias=f.attr)


def _guarded(decode: Decoder) -> Callable[[Any], Any]:
    def before(av: Any) -> Any:
        if "NULL" in av:
            raise _Null
        return decode(av)

    return before
