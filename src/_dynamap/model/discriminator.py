"""The discriminator of models sharing one table: `Annotated[..., Discriminator()]`."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from _dynamap.codec.modelcodec import ModelCodec
from _dynamap.declare.annotations import literal_values
from _dynamap.declare.markers import Discriminator, PartitionKey, SortKey
from _dynamap.errors import DecodeError, ModelDefinitionError

__all__ = ["Kind", "KindMismatch", "check_kind", "find_kind", "kind_of"]


@dataclass(frozen=True)
class Kind:
    """A model's discriminator: the field, its stored attribute, and the model's value."""

    name: str
    attr: str
    value: str | int
    wire: dict[str, Any]  # the value as an AttributeValue


# (table, attribute, value) -> the class that claimed it, by module and qualified name so
# that re-executing the same class body (a reload) does not count as a second model.
_CLAIMED: dict[tuple[str, str, str | int], tuple[str, str]] = {}
_LOCK = threading.Lock()


def find_kind(model: type[BaseModel], codec: ModelCodec, table: str | None) -> Kind | None:
    """The field marked `Discriminator()`, checked, or None; claims its value on `table`."""
    marked = [
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, Discriminator) for m in info.metadata)
    ]
    if not marked:
        return None
    where = f"{model.__qualname__}.{marked[0]}"
    if len(marked) > 1:
        raise ModelDefinitionError(
            f"{model.__qualname__} declares {len(marked)} Discriminator() fields "
            f"({', '.join(marked)}); at most one is allowed"
        )
    info = model.model_fields[marked[0]]
    if any(isinstance(m, PartitionKey | SortKey) for m in info.metadata):
        raise ModelDefinitionError(f"{where}: a key attribute cannot be the Discriminator()")
    values = literal_values(info.annotation)
    if values is None or len(values) != 1 or type(values[0]) not in (str, int):
        raise ModelDefinitionError(
            f"{where}: a Discriminator() field must be a Literal of one str or int value, "
            f'e.g. Annotated[Literal["user"], Discriminator()] = "user"'
        )
    value: str | int = values[0]
    if info.default != value:
        raise ModelDefinitionError(
            f"{where}: a Discriminator() field needs its value as the default "
            f"(= {value!r}), so instances carry it without being told"
        )
    attr = codec.by_name[marked[0]].attr
    if table is not None:
        _claim(model, table, attr, value)
    wire = {"S": value} if isinstance(value, str) else {"N": str(value)}
    return Kind(marked[0], attr, value, wire)


def _claim(model: type[BaseModel], table: str, attr: str, value: str | int) -> None:
    me = (model.__module__, model.__qualname__)
    with _LOCK:
        owner = _CLAIMED.setdefault((table, attr, value), me)
    if owner != me:
        raise ModelDefinitionError(
            f"{model.__qualname__} and {owner[1]} (in {owner[0]}) both map to table {table!r} "
            f"with discriminator {attr}={value!r}: items of one kind would decode as the "
            f"other; give each model its own value"
        )


def kind_of(item: dict[str, Any], attr: str) -> str | int | None:
    """The discriminator value an item holds under `attr`, or None if it has none."""
    av = item.get(attr)
    if av is None:
        return None
    if "S" in av:
        return str(av["S"])
    if "N" in av:
        text = str(av["N"])
        try:
            return int(text)
        except ValueError:
            return text
    return None


class KindMismatch(DecodeError):
    """An item holds another kind than the model it is read into names."""


def check_kind(kind: Kind | None, model: str, item: dict[str, Any]) -> None:
    """Refuse an item whose discriminator names another kind than `kind`.

    An item without the attribute passes (written before the model had one).
    """
    if kind is None:
        return
    held = kind_of(item, kind.attr)
    if held is not None and held != kind.value:
        raise KindMismatch(
            f"the item holds {kind.attr}={held!r}, not {model}'s {kind.value!r}: it is "
            f"another kind of item (read it into the model for {held!r})"
        )
