"""Primary-key attributes: validating key values given by callers, and canonical key identity."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from _dynamap.codec.numbers import canonical_number
from _dynamap.codec.values import encode_any
from _dynamap.errors import EncodeError, InvalidKeyError

__all__ = [
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "CanonicalKey",
    "KeyAttr",
    "KeyType",
    "KeyValue",
    "canonical_value",
    "describe_key",
    "key_values_by_name",
]

KeyType = Literal["S", "N", "B"]
CanonicalKey = tuple[Any, ...]
KeyValue = str | int | Decimal | bytes
"""A primary-key value: str (S), int or Decimal (N), bytes (B)."""

# Inclusive limits on a key value (UTF-8 bytes of S, raw bytes of B), for the table's keys
# and for index keys alike (measured on DynamoDB Local 3.3.1). N values never reach them.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024


@dataclass(frozen=True)
class KeyAttr:
    """A key attribute: its field, DynamoDB attribute name and scalar type.

    `role` says which key it is ("partition key", "sort key of index 'x'", ...), and
    so how large its values may be.
    """

    name: str
    attr: str
    type: KeyType
    adapter: TypeAdapter[Any]
    plain: Any = None  # str, int, Decimal or bytes without constraints: no adapter needed
    role: str = "partition key"
    max_bytes: int = field(init=False)

    def __post_init__(self) -> None:
        sort = self.role.startswith("sort key")
        limit = MAX_SORT_KEY_BYTES if sort else MAX_PARTITION_KEY_BYTES
        object.__setattr__(self, "max_bytes", limit)

    def encode(self, value: Any, model: str) -> dict[str, Any]:
        """Validate a key value given by the caller and encode it."""
        if value.__class__ is str and self.type == "S" and self.plain is str:
            return self.wire(value, model)  # a plain str of a str key: nothing to validate
        ok = {
            "S": isinstance(value, str),
            "N": isinstance(value, int | Decimal) and not isinstance(value, bool),
            "B": isinstance(value, bytes | bytearray),
        }[self.type]
        if not ok:
            raise InvalidKeyError(
                f"{model}.{self.name} is a key of DynamoDB type {self.type}; "
                f"got {type(value).__name__} {value!r}"
            )
        if value.__class__ is self.plain:
            return self.wire(value, model)
        try:
            value = self.adapter.validate_python(value)
        except ValidationError as exc:
            raise InvalidKeyError(f"{model}.{self.name}: invalid key value: {exc}") from None
        return self.wire(value, model)

    def wire(self, value: Any, model: str) -> dict[str, Any]:
        """Encode an already-validated key value, rejecting what DynamoDB rejects in keys."""
        # The common key, checked inline: a non-empty ASCII str surely within the limit.
        if (
            value.__class__ is str
            and self.type == "S"
            and value
            and value.isascii()
            and len(value) <= self.max_bytes
        ):
            return {"S": value}
        if isinstance(value, enum.Enum):
            value = value.value
        if self.type == "S":
            text = str(value)
            if not text:
                raise InvalidKeyError(f"{model}.{self.name}: key strings cannot be empty")
            if not text.isascii() or len(text) > self.max_bytes:
                self._check(self.fault({"S": text}), value, model)
            return {"S": text}
        if self.type == "B":
            data = bytes(value)
            if not data:
                raise InvalidKeyError(f"{model}.{self.name}: key binary values cannot be empty")
            if len(data) > self.max_bytes:
                self._check(self.fault({"B": data}), value, model)
            return {"B": data}
        try:
            return encode_any(value)
        except EncodeError as exc:
            raise InvalidKeyError(f"{model}.{self.name}: {exc}") from None

    def _check(self, fault: str | None, value: Any, model: str) -> None:
        if fault is not None:
            raise InvalidKeyError(f"{model}.{self.name} {short(value)} {fault}")

    def fault(self, av: dict[str, Any]) -> str | None:
        """Why DynamoDB would refuse `av` as a value of this key, or None if it would not.

        Checks what an encoded item may still hold: an empty or oversized S or B value,
        or text with no UTF-8 form. The reason reads after the value ("is empty").
        """
        if "S" in av:
            text = av["S"]
            if not text:
                return "is an empty string"
            try:
                size = len(text) if text.isascii() else len(text.encode())
            except UnicodeEncodeError:
                return "holds a lone surrogate, which has no UTF-8 form"
            unit = "bytes of UTF-8"
        elif "B" in av:
            size = len(av["B"])
            if not size:
                return "is empty"
            unit = "bytes"
        else:
            return None  # a number: at most 21 bytes, checked when encoded
        if size > self.max_bytes:
            return (
                f"is {size:,} {unit}; DynamoDB allows at most {self.max_bytes:,} in a {self.role}"
            )
        return None


def short(value: Any) -> str:
    """repr() of a value, cut to a readable length for messages."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


def canonical_value(av: dict[str, Any]) -> Any:
    """A hashable identity for a key AttributeValue: numbers in DynamoDB's canonical form."""
    if "S" in av:
        return av["S"]
    if "N" in av:
        return canonical_number(av["N"])
    if "B" in av:
        return bytes(av["B"])
    raise InvalidKeyError(f"not a key AttributeValue (S, N or B): {av!r}")


def key_values_by_name(
    model: str,
    key_attrs: tuple[KeyAttr, ...],
    fields: Collection[str],
    positional: tuple[Any, ...],
    named: dict[str, Any],
) -> tuple[Any, ...]:
    """The key values given by field name, in key order (partition, then sort).

    Field names are the API, as in the model's constructor; a stored name (alias)
    is refused with a hint. Called only when some value was given by name.

    Args:
        model: the model's name, for errors.
        key_attrs: the model's key attributes, partition key first.
        fields: every field name of the model, to tell a non-key field from a typo.
        positional: key values also given positionally (an error if any).
        named: key values by field name.
    """
    where = f"{model} is keyed by {' and '.join(k.name for k in key_attrs)}"
    if positional:
        raise InvalidKeyError(
            f"{where}: pass the key values positionally or by name, not both "
            f"(got {len(positional)} positional and {', '.join(map(repr, named))} by name)"
        )
    keys = {k.name: k for k in key_attrs}
    stored = {k.attr: k.name for k in key_attrs if k.attr != k.name}
    problems: list[str] = []
    for name in named:
        if name in keys:
            continue
        if name in stored:
            problems.append(f"{name!r} is the stored name of {stored[name]}: pass {stored[name]}=")
        elif name in fields:
            problems.append(f"{name!r} is not a key field")
        else:
            problems.append(f"unknown key field {name!r}")
    missing = [name for name in keys if name not in named]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if problems:
        raise InvalidKeyError(f"{where}: {'; '.join(problems)}")
    return tuple(named[name] for name in keys)


def describe_key(key: dict[str, Any]) -> str:
    """A key for messages: `pk='u#7', sk=3`."""
    parts: list[str] = []
    for attr, av in key.items():
        if "S" in av:
            text = repr(av["S"])
        elif "N" in av:
            text = str(av["N"])
        else:
            text = repr(av.get("B"))
        parts.append(f"{attr}={text}")
    return ", ".join(parts)
