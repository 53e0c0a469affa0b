"""Snapshots by value: `freeze(value)` is an immutable image that compares equal exactly
when the stored values would, so write-back sees every change, in place or not."""

from __future__ import annotations

import datetime as dt
import enum
import io
import marshal
import pickle
import uuid
from collections.abc import Mapping, Sequence, Set
from decimal import Decimal
from typing import Any, get_origin

from pydantic import BaseModel

from _dynamap.declare.annotations import literal_values, strip_optional

__all__ = ["MARSHALED", "freeze", "is_immutable", "is_set"]

_BOOL = object()
_LIST = object()
_MAP = object()
_PICKLED = object()
_MARSHALED = object()


class _NotPlain(Exception):
    pass


class _PlainPickler(pickle.Pickler):
    """Pickles trees of exact built-in values (and Decimals); anything else raises.

    The C pickler writes exact str, int, float, bool, None, bytes, dict, list, tuple,
    set and frozenset itself, without calling `reducer_override`; every other object
    reaches it. Two such trees pickle to equal bytes only if they are equal, types
    included (True and 1, 1 and 1.0 differ), so the bytes are a faithful image at C
    speed, several times cheaper than freezing a nested map element by element. Equal
    values may still pickle differently (the order of a set or dict, a list shared
    twice): the only cost is one unneeded write-back, never a missed change.
    """

    def reducer_override(self, obj: Any) -> Any:
        if obj.__class__ is Decimal:
            return Decimal, (str(obj),)  # the exact digits: 1.0 and 1.00 stay apart
        if obj is Decimal:
            return NotImplemented  # the class itself, named in the line above: by name
        raise _NotPlain


def _pickled(value: Any) -> Any:
    """(tag, bytes) for a tree of plain values, or None if it holds anything else.

    First `marshal` (format 0), about twice as fast again as the pickler: it writes
    exact str, int, float, bool, None, bytes, tuple, list, dict, set and frozenset with
    their types (True and 1, 1 and 1.0 differ; a float as its repr, which round-trips)
    and refuses subclasses and anything else. Format 0, because later ones mark shared
    objects and interned strings, which would make equal, unchanged values marshal
    differently from one snapshot to the next (a spurious write-back). A tree it refuses
    (a Decimal, read back from any non-integral number) goes to the restricted pickler.
    """
    try:
        return (_MARSHALED, marshal.dumps(value, 0))
    except Exception:  # ValueError: unmarshallable, or too deep
        pass
    buffer = io.BytesIO()
    try:
        _PlainPickler(buffer, 5).dump(value)
    except Exception:  # _NotPlain, or what pickle cannot take (a memoryview), or too deep
        return None
    return (_PICKLED, buffer.getvalue())


# Immutable leaf types whose equality matches equality of the stored value.
_PLAIN = frozenset({str, int, float, type(None), Decimal, bytes})

# Field types whose values are immutable once validated: a snapshot takes them as they are.
# Not bytes: a bytes field can hold a bytearray when validation was skipped.
_IMMUTABLE = (str, int, float, Decimal, dt.date, dt.time, uuid.UUID, enum.Enum)


def is_immutable(annotation: Any) -> bool:
    """True if a validated value of `annotation` can be kept in a snapshot as it is."""
    # bool is an int: a bool field keeps bools, so equality is exact there too.
    tp = strip_optional(annotation)
    if literal_values(tp) is not None:
        return True
    return isinstance(tp, type) and issubclass(tp, _IMMUTABLE)


# For generated snapshots (codec/generate.py), which take an exact list or dict as its
# marshal bytes themselves when marshal takes it (else they call freeze): the tag
# `_pickled` gives those bytes. Which of the two a value gets depends on the value alone,
# so a snapshot of it compares equal to an earlier one exactly when freeze's would.
MARSHALED = _MARSHALED


def is_set(annotation: Any) -> bool:
    """True for a set annotation: a generated snapshot takes such a value as frozenset()
    (sets hold scalars only, whatever they are)."""
    return get_origin(strip_optional(annotation)) in (set, frozenset)


def freeze(value: Any) -> Any:
    """A comparable, immutable image of a value, as it would be stored.

    Lists and maps become tagged tuples and sets frozensets; a bool is tagged so
    that `True` and `1` (stored as BOOL and N) differ. Every mutable value the codec
    can store is copied, never kept: exact built-in classes take the fast paths,
    and subclasses (OrderedDict, Counter, defaultdict...), deques and bytearrays the
    isinstance path.
    """
    cls = value.__class__
    if cls in _PLAIN:
        return value
    if cls is bool:
        return (_BOOL, value)
    if cls is list or cls is tuple:
        # All plain elements (a list[int], a list[str]): checked and copied at C speed.
        if _PLAIN.issuperset(map(type, value)):
            return (_LIST, *value)
        pickled = _pickled(value)  # nested plain data: its bytes
        if pickled is not None:
            return pickled
        return (_LIST, *[v if v.__class__ in _PLAIN else freeze(v) for v in value])
    if cls is dict:
        if _PLAIN.issuperset(map(type, value.values())):
            return (_MAP, *value.items())  # the same (key, value) pairs as below
        pickled = _pickled(value)
        if pickled is not None:
            return pickled
        return (
            _MAP,
            *[
                (k, v if (c := v.__class__) in _PLAIN else (_BOOL, v) if c is bool else freeze(v))
                for k, v in value.items()
            ],
        )
    if cls is set or cls is frozenset:
        return frozenset(value)
    return _freeze_other(value)


def _freeze_other(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return (value.__class__, *[freeze(v) for v in value.__dict__.values()])
    if isinstance(value, enum.Enum | str | int | float | Decimal):
        return value  # immutable; a str or int enum compares as its value
    # isinstance() on an Any leaves pyright with Unknown element types; the values are Any.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, Mapping):
        entries: Mapping[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return (_MAP, *[(k, freeze(v)) for k, v in entries.items()])
    if isinstance(value, Set):
        members: Set[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return frozenset(members)
    if isinstance(value, Sequence):
        elements: Sequence[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return (_LIST, *[freeze(v) for v in elements])
    return value  # datetime, date, time, UUID: immutable
