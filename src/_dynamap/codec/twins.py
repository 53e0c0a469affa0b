"""Size-returning twins of encoders, for the 400 KB check without a second walk, and
which encoders take runtime-typed (`Any`) values, whose failures are located inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _dynamap.codec.located import Sized
from _dynamap.codec.size import value_size
from _dynamap.codec.values import (
    AttributeValue,
    Encoder,
    encode_any,
    sized_any,
)

__all__ = ["pair", "sized_twin", "text_size", "walks"]

_SIZED: dict[Callable[..., Any], Sized] = {}
_WALK: set[Callable[..., Any]] = set()  # encoders of runtime-typed (`Any`) values


def pair(encode: Encoder, sized: Sized, *, walk: bool = False) -> Encoder:
    """Register `sized` as the size-returning twin of `encode`, and return `encode`."""
    _SIZED[encode] = sized
    if walk:
        _WALK.add(encode)
    return encode


def sized_twin(encode: Encoder) -> Sized:
    """The size-returning twin of an encoder (encode, then size, when it has none)."""
    found = _SIZED.get(encode)
    if found is not None:
        return found

    def sized(value: Any) -> tuple[AttributeValue | None, int]:
        av = encode(value)
        return av, 0 if av is None else value_size(av)

    _SIZED[encode] = sized
    return sized


def walks(encode: Encoder) -> bool:
    """True if `encode` encodes by runtime type, so a failure is located inside the value."""
    return encode in _WALK


def text_size(text: str) -> int:
    """A string's size as DynamoDB counts it: its UTF-8 bytes."""
    return len(text) if text.isascii() else len(text.encode())


pair(encode_any, sized_any, walk=True)
