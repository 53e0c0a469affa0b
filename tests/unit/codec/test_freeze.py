"""Snapshots are taken by value: a frozen image holds no mutable object."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import pytest

from _dynamap.codec.freeze import freeze
from _dynamap.codec.modelcodec import codec_for
from dynamap import Model, PartitionKey
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


def test_plain_lists_and_maps_freeze_as_their_element_by_element_images():
    # The C-speed path for all-plain contents gives the image the general path gives.
    assert freeze([1, "a", 2.5]) == freeze([1, "a", 2.5, True])[:-1]
    assert freeze({"a": 1, "b": "x"}) == freeze({"a": 1, "b": "x", "c": True})[:-1]
    assert freeze({"a": True}) != freeze({"a": 1})
    assert freeze({"a": {"b": False}}) != freeze({"a": {"b": 0}})


class _Snap(Model, table="snap"):
    pk: Annotated[str, PartitionKey()]
    tags: set[str]
    ranks: list[int]
    maybe: list[int] | None = None


def test_a_generated_snapshot_of_sets_and_scalar_lists_equals_freeze():
    snapshot = codec_for(_Snap).snapshot
    item = _Snap(pk="p", tags={"a"}, ranks=[1, 2], maybe=[3])
    assert snapshot(item) == ("p", freeze({"a"}), freeze([1, 2]), freeze([3]))
    before = snapshot(item)
    item.ranks.append(True)  # an in-place bool in a list[int] is a change (BOOL, not N)
    assert snapshot(item) != before and snapshot(item)[2] == freeze([1, 2, True])
    item.ranks = Sub([1, 2])  # a subclass, assigned without validation: the general path
    assert snapshot(item)[2] == freeze([1, 2])
    item.maybe = None
    item.tags = frozenset({"a"})  # pyright: ignore[reportAttributeAccessIssue]
    assert snapshot(item)[1:] == (frozenset({"a"}), freeze([1, 2]), None)
