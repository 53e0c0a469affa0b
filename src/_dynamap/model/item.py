"""Public codec entry points: a model instance to a DynamoDB item and back."""

from __future__ import annotations

from typing import Any, TypeVar

from _dynamap.codec.values import Item
from _dynamap.model.limits import check_item
from _dynamap.model.model import Model, model_info

__all__ = ["from_item", "to_item"]

M = TypeVar("M", bound=Model)


def to_item(instance: Model) -> dict[str, dict[str, Any]]:
    """Encode `instance` as a DynamoDB item (AttributeValue map).

    None attributes and empty sets are omitted. Raises `EncodeError` for values
    DynamoDB cannot store or of the wrong type (naming the model, the field path
    and the key), `ItemTooLargeError` for items over 400 KB and `InvalidKeyError`
    for a missing, empty or too large key value (index keys included).

    Args:
        instance: the model instance to encode.
    """
    info = model_info(type(instance))
    item: Item = info.encode_item(instance)
    return check_item(info, item)  # keys present, non-empty and small enough; index keys


def from_item(model: type[M], item: dict[str, dict[str, Any]]) -> M:
    """Decode and validate a DynamoDB item into an instance of `model`.

    Args:
        model: the model class to decode into.
        item: the item as DynamoDB returns it (attribute name to AttributeValue).
    """
    instance: M = model_info(model).codec.decode(item)
    return instance
