"""The names of a model's fields: Python name, stored attribute name, and the names
pydantic reads each field from, checked so that no field can be read as another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from _dynamap.declare.markers import Attr
from _dynamap.errors import ModelDefinitionError

__all__ = ["FieldNames", "field_names"]

_MAX_NAME_BYTES = 65_535  # DynamoDB's limit on an attribute name


@dataclass(frozen=True)
class FieldNames:
    """How one field is named."""

    name: str  # the Python name
    attr: str  # the DynamoDB attribute it is stored under
    key: str  # the key under which its value is handed to pydantic's validation
    names: frozenset[str]  # every name that refers to it: Python, stored, read by pydantic


def field_names(model: type[BaseModel]) -> tuple[FieldNames, ...]:
    """The names of every field of `model`, refusing names shared by two fields.

    A field is stored under its `Attr(...)` name, else its alias, else its Python
    name. Two fields must never share any name, stored or read: pydantic (which
    reads a field by alias and, on dynamap models, by name) would otherwise read
    one field's stored value as the other's.
    """
    config = model.model_config
    by_alias = config.get("validate_by_alias", True) is not False
    by_name = bool(config.get("validate_by_name") or config.get("populate_by_name"))
    where = model.__qualname__
    if config.get("extra") == "allow":
        raise ModelDefinitionError(
            f"{where}: extra='allow' is not supported. dynamap reads and writes declared "
            f"fields only, so undeclared attributes would be dropped by the next write; "
            f"declare them as fields (a dict[str, Any] field holds free-form data)"
        )
    found: list[FieldNames] = []
    owner: dict[str, str] = {}
    for name, info in model.model_fields.items():
        attr = _stored_name(where, name, info)
        direct, read = _read_names(name, info, by_alias=by_alias, by_name=by_name)
        if attr in direct:
            key = attr
        elif name in direct:
            key = name
        elif direct:
            key = min(direct)
        else:
            raise ModelDefinitionError(
                f"{where}.{name}: pydantic can read this field only through an AliasPath, "
                f"so dynamap could not read it back; give it a plain alias or validate by name"
            )
        names = frozenset({name, attr, *read})
        for shared in sorted(names):
            first = owner.setdefault(shared, name)
            if first != name:
                raise _clash(where, found, first, FieldNames(name, attr, key, names), shared)
        found.append(FieldNames(name, attr, key, names))
    return tuple(found)


def _stored_name(where: str, name: str, info: FieldInfo) -> str:
    markers = [m for m in info.metadata if isinstance(m, Attr)]
    if len(markers) > 1:
        raise ModelDefinitionError(f"{where}.{name}: more than one Attr(...) marker")
    if not markers:
        return info.alias or name
    attr: Any = markers[0].name
    if not isinstance(attr, str) or not attr:
        raise ModelDefinitionError(
            f"{where}.{name}: Attr needs a non-empty attribute name (str), got {attr!r}"
        )
    try:
        size = len(attr.encode())
    except UnicodeEncodeError:
        raise ModelDefinitionError(
            f"{where}.{name}: attribute name {attr!r} is not valid UTF-8"
        ) from None
    if size > _MAX_NAME_BYTES:
        raise ModelDefinitionError(
            f"{where}.{name}: attribute names are limited to {_MAX_NAME_BYTES:,} bytes"
        )
    return attr


def _read_names(
    name: str, info: FieldInfo, *, by_alias: bool, by_name: bool
) -> tuple[set[str], set[str]]:
    """(keys pydantic reads the whole field from, every name it reads the field from)."""
    alias = info.validation_alias
    direct: set[str] = set()
    read: set[str] = set()
    if alias is not None and by_alias:
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                direct.add(choice)
                read.add(choice)
            elif isinstance(choice.path[0], str):
                read.add(choice.path[0])  # an AliasPath starting at this key reads from it
    if alias is None or by_name:
        # Without an alias pydantic reads a field by name, whatever the config says.
        direct.add(name)
        read.add(name)
    return direct, read


def _clash(
    where: str, found: list[FieldNames], first: str, second: FieldNames, shared: str
) -> ModelDefinitionError:
    stored = {f.name: f.attr for f in found}
    if stored[first] == second.attr == shared:
        return ModelDefinitionError(
            f"{where}: two fields are stored as attribute {shared!r} ({first!r} and "
            f"{second.name!r})"
        )
    return ModelDefinitionError(
        f"{where}: fields {first!r} and {second.name!r} both use the name {shared!r} (as a "
        f"Python name, stored attribute name or alias), so one could be read or written as "
        f"the other; give each field names of its own"
    )
