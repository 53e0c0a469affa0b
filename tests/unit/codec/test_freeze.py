"""Snapshots are taken by value: a frozen image holds no mutable object."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from decimal import Decimal
from marshal import dumps
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from _dynamap.codec.freeze import MARSHALED, freeze
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
    other = collections.OrderedDict()  # not plain: the element-by-element path
    assert freeze([1, "a", 2.5]) == freeze([1, "a", 2.5, other])[:-1]
    assert freeze({"a": 1, "b": "x"}) == freeze({"a": 1, "b": "x", "c": other})[:-1]
    when = dt.date(2024, 1, 1)  # neither marshalled nor pickled: element by element
    assert freeze([[1], when]) == (*freeze([]), freeze([1]), when)
    assert freeze({"a": True}) != freeze({"a": 1})
    assert freeze({"a": {"b": False}}) != freeze({"a": {"b": 0}})


NESTED: list[Any] = [
    {"a": {"b": [1, 2, {"c": "x"}]}, "d": True},
    [[1], [2, [3.5, None, b"x"]], {"k": (1, 2)}],
    {"n": {"x": Decimal("1.5"), "s": {1, 2}, "f": frozenset({"a"})}},
]


@pytest.mark.parametrize("value", NESTED, ids=range(len(NESTED)))
def test_nested_plain_data_is_imaged_exactly(value: Any):
    """Nested exact built-in data (and Decimals) take the pickled image: equal values
    give equal images, and every change of a value or of its type shows."""
    import copy

    image = freeze(value)
    hash(image)
    assert freeze(copy.deepcopy(value)) == image
    for change in _changes(value):
        changed = copy.deepcopy(value)
        change(changed)
        assert freeze(changed) != image, changed


def _changes(value: Any) -> list[Any]:
    def set_first_leaf(node: Any, leaf: Any) -> None:
        while True:
            if isinstance(node, dict):
                key = next(iter(node))
                if isinstance(node[key], dict | list):
                    node = node[key]
                    continue
                node[key] = leaf
            else:
                if isinstance(node[0], dict | list):
                    node = node[0]
                    continue
                node[0] = leaf
            return

    return [
        lambda v: set_first_leaf(v, True),  # a bool where an int or a string was
        lambda v: set_first_leaf(v, 1.0),
        lambda v: set_first_leaf(v, "1"),
        lambda v: set_first_leaf(v, Decimal("2.5")),
        lambda v: v.append(None) if isinstance(v, list) else v.update(extra=None),
    ]


def test_equal_values_image_alike_however_their_strings_are_shared_or_interned():
    # Marshal formats after 0 mark shared objects and interned strings: an unchanged
    # value would image differently once a reference went away (a spurious write-back).
    import sys

    word = "".join(["sett", "ing"])  # not interned
    shared = {"a": word, "b": word, "c": [word, word]}
    distinct = {"a": sys.intern("setting"), "b": "set" + "ting"[:0] + "ting", "c": []}
    distinct["c"] = ["".join(["se", "tting"]), "".join(["sett", "ing"])]
    assert freeze(shared) == freeze(distinct)


def test_a_bytes_like_value_images_as_its_bytes():
    data = bytearray(b"x")
    value = {"m": [memoryview(data)]}
    image = freeze(value)
    assert freeze({"m": [b"x"]}) == image  # stored alike
    data[0] = ord("y")  # changed in place, through the view
    assert freeze(value) != image


def test_nested_data_with_other_objects_is_frozen_element_by_element():
    inner = collections.OrderedDict(a=[1])
    value = {"x": {"y": inner}, "when": [dt.date(2024, 1, 1)]}
    image = freeze(value)
    hash(image)
    inner["a"].append(2)  # in place, inside an object the pickled image refuses
    assert freeze(value) != image
    assert freeze([[1], True]) != freeze([[1], 1])


class _Snap(Model, table="snap"):
    pk: Annotated[str, PartitionKey()]
    tags: set[str]
    ranks: list[int]
    maybe: list[int] | None = None


def test_a_generated_snapshot_takes_exact_lists_and_maps_as_their_marshal_bytes():
    snapshot = codec_for(_Snap).snapshot
    item = _Snap(pk="p", tags={"a"}, ranks=[1, 2], maybe=[3])
    before = snapshot(item)
    marshaled = (MARSHALED, dumps([1, 2], 0)), (MARSHALED, dumps([3], 0))
    assert before == ("p", frozenset({"a"}), *marshaled)
    assert snapshot(_Snap(pk="p", tags={"a"}, ranks=[1, 2], maybe=[3])) == before
    item.ranks.append(True)  # an in-place bool in a list[int] is a change (BOOL, not N)
    with_bool = snapshot(item)
    assert with_bool != before
    item.ranks[2] = 1  # and so is 1 for True
    assert snapshot(item) not in (before, with_bool)
    item.ranks = [1, 2]
    assert snapshot(item) == before
    item.__dict__["ranks"] = Sub([1, 2])  # a subclass, set without validation: freeze()
    assert snapshot(item)[2] == freeze([1, 2])
    item.__dict__["ranks"] = [Decimal("1.5")]  # marshal refuses it: freeze()
    assert snapshot(item)[2] == freeze([Decimal("1.5")])
    item.maybe = None
    item.tags = frozenset({"a"})  # pyright: ignore[reportAttributeAccessIssue]
    assert snapshot(item)[1] == frozenset({"a"}) and snapshot(item)[3] is None


class _Maps(Model, table="snapmaps"):
    pk: Annotated[str, PartitionKey()]
    settings: dict[str, Any] = {}
    anything: Any = None


def test_a_generated_snapshot_sees_changes_deep_in_maps_and_any_values():
    snapshot = codec_for(_Maps).snapshot
    item = _Maps(pk="p", settings={"a": {"b": [1, {"c": "x"}]}}, anything={"n": 1.5})
    before = snapshot(item)
    item.settings["a"]["b"][1]["c"] = "y"
    assert snapshot(item) != before
    item.settings["a"]["b"][1]["c"] = "x"
    assert snapshot(item) == before
    item.anything["n"] = 2.5
    assert snapshot(item) != before
    item.anything = {"n": 1.5}
    assert snapshot(item) == before
    item.settings = {"a": {"b": [1, {"c": "x"}]}, "d": Decimal("1.5")}  # freeze(): pickled
    with_decimal = snapshot(item)
    item.settings["d"] = Decimal("2.5")
    assert snapshot(item) != with_decimal


def test_a_nested_model_without_fields_has_a_snapshot():
    # A model with no fields (a marker nested in another) used to generate `return (,)`:
    # a SyntaxError at the declaration of any model that nests it.
    class Empty(BaseModel):
        pass

    class Holder(Model, table="snapempty"):
        pk: Annotated[str, PartitionKey()]
        marker: Empty | None = None

    assert codec_for(Empty).snapshot(Empty()) == ()
    snapshot = codec_for(Holder).snapshot
    item = Holder(pk="p")
    before = snapshot(item)
    item.marker = Empty()
    assert snapshot(item) != before
