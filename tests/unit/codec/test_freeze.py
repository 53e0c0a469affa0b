"""Snapshots are taken by value: a frozen image holds no mutable object."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from _dynamap.codec.freeze import freeze
from tests.support.models import Address, Color


class Sub(list[Any]):
    pass


VALUES: list[Any] = [
    bytearray(b"x"),
    memoryview(bytearray(b"x")),
    collections.OrderedDict(a=[1]),
    collections.defaultdict(list, a=[1]),
    collections.Counter("abc"),
    collections.deque([1, [2]]),
    Sub([1, {"a": bytearray(b"x")}]),
    {"k": {1, 2}, "l": [bytearray(b"y")]},
    ({"a": 1},),
    Address(city="Oslo"),
    [Color.RED, dt.date(2024, 1, 1), uuid.UUID(int=1), Decimal("1.5"), True, None],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_a_frozen_image_is_hashable_so_holds_nothing_mutable(value: Any):
    hash(freeze(value))


def test_in_place_changes_change_the_image():
    for value, change in [
        (bytearray(b"x"), lambda v: v.extend(b"y")),
        (collections.OrderedDict(a=1), lambda v: v.update(b=2)),
        (collections.Counter("a"), lambda v: v.update("a")),
        (collections.deque([1]), lambda v: v.append(2)),
        (Sub([[1]]), lambda v: v[0].append(2)),
    ]:
        before = freeze(value)
        change(value)
        assert freeze(value) != before


def test_bool_and_int_differ():
    assert freeze([True]) != freeze([1])
    assert freeze({"a": 1}) == freeze(collections.OrderedDict(a=1))
