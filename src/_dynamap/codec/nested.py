"""The late-bound link from value codecs to the codecs of nested pydantic models.

Value codecs meet pydantic models inside fields, lists, maps and `Any` values, and
a model's codec is itself built from value codecs. So that imports go one way only,
`modelcodec` registers its lookup here when it is imported (the codec package's
`__init__` imports it first), and value codecs call through `nested_codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = ["NestedCodec", "nested_codec", "register"]


class NestedCodec(Protocol):
    """What value codecs need of a model codec."""

    @property
    def encode(self) -> Callable[[Any], dict[str, Any]]:
        """Encodes an instance as an attribute map (an M value's contents)."""
        ...

    @property
    def encode_sized(self) -> Callable[[Any], tuple[dict[str, Any], int]]:
        """Encodes an instance, also returning its attributes' size (names plus values)."""
        ...

    @property
    def to_python(self) -> Callable[[Any], dict[str, Any]]:
        """Reads field values, for pydantic to validate, from an attribute map."""
        ...


_lookup: list[Callable[[type[BaseModel]], NestedCodec]] = []


def register(lookup: Callable[[type[BaseModel]], NestedCodec]) -> None:
    """Install the model-codec lookup (called once, by `modelcodec` on import)."""
    _lookup[:] = [lookup]


def nested_codec(model: type[BaseModel]) -> NestedCodec:
    """The codec of a nested model class."""
    return _lookup[0](model)
