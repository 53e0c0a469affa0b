"""Write-back sees in-place changes to values of every class the codec can store."""

from __future__ import annotations

import collections
import random
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from dynamap import Model, PartitionKey, Session
from tests.support.fake import FakeClock, FakeDynamo


class Blob(BaseModel):
    """A plain nested model: assignments to it are not validated."""

    data: bytes = b""
    counts: dict[str, int] = {}


class Doc(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    anything: Any = None
    mapping: dict[str, Any] = {}
    typed: dict[str, int] = {}
    numbers: list[int] = []
    queue: collections.deque[int] = collections.deque()
    tags: set[str] = set()
    blob: Blob = Blob()


def session(fake: FakeDynamo) -> Session:
    clock = FakeClock()
    return Session(transport=fake, clock=clock, sleep=clock.sleep, rng=random.Random(1))


class Tags(set[str]):
    pass


class Items(list[Any]):
    pass


class Entries(dict[str, Any]):
    pass


# (assign the value, change it in place, the attribute and the value stored after the change)
CASES: list[tuple[str, Callable[[Doc], None], Callable[[Doc], None], str, Any]] = [
    (
        "OrderedDict in Any",
        lambda d: setattr(d, "anything", collections.OrderedDict(a=1)),
        lambda d: d.anything.update(b=2),
        "anything",
        {"M": {"a": {"N": "1"}, "b": {"N": "2"}}},
    ),
    (
        "defaultdict in Any",
        lambda d: setattr(d, "anything", collections.defaultdict(list)),
        lambda d: d.anything["k"].append(1),
        "anything",
        {"M": {"k": {"L": [{"N": "1"}]}}},
    ),
    (
        "Counter in a map of Any",
        lambda d: setattr(d, "mapping", {"c": collections.Counter("ab")}),
        lambda d: d.mapping["c"].update("a"),
        "mapping",
        {"M": {"c": {"M": {"a": {"N": "2"}, "b": {"N": "1"}}}}},
    ),
    (
        "bytearray in Any",
        lambda d: setattr(d, "anything", bytearray(b"x")),
        lambda d: d.anything.extend(b"y"),
        "anything",
        {"B": b"xy"},
    ),
    (
        "bytearray in a list of Any",
        lambda d: setattr(d, "anything", [bytearray(b"x")]),
        lambda d: d.anything[0].extend(b"y"),
        "anything",
        {"L": [{"B": b"xy"}]},
    ),
    (
        "list subclass in Any",
        lambda d: setattr(d, "anything", Items([1])),
        lambda d: d.anything.append(2),
        "anything",
        {"L": [{"N": "1"}, {"N": "2"}]},
    ),
    (
        "dict subclass in Any",
        lambda d: setattr(d, "anything", Entries(a=1)),
        lambda d: d.anything.update(a=2),
        "anything",
        {"M": {"a": {"N": "2"}}},
    ),
    (
        "set subclass in Any",
        lambda d: setattr(d, "anything", Tags({"a"})),
        lambda d: d.anything.add("b"),
        "anything",
        {"SS": ["a", "b"]},
    ),
    (
        "deque field",
        lambda d: setattr(d, "queue", collections.deque([1])),
        lambda d: d.queue.append(2),
        "queue",
        {"L": [{"N": "1"}, {"N": "2"}]},
    ),
    (
        "bytearray in a nested model's bytes field",
        lambda d: setattr(d.blob, "data", bytearray(b"x")),
        lambda d: d.blob.data.extend(b"y"),
        "blob",
        {"M": {"data": {"B": b"xy"}, "counts": {"M": {}}}},
    ),
    (
        "OrderedDict in a nested model's typed map",
        lambda d: setattr(d.blob, "counts", collections.OrderedDict(a=1)),
        lambda d: d.blob.counts.update(b=2),
        "blob",
        {"M": {"data": {"B": b""}, "counts": {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}}},
    ),
]


def normalised(av: Any) -> Any:
    """Sets compare regardless of order."""
    if isinstance(av, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else normalised(v) for k, v in av.items()}
    if isinstance(av, list):
        return [normalised(v) for v in av]
    return av


@pytest.mark.parametrize(
    ("assign", "change", "attr", "stored"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_in_place_change_after_write_back_is_written(
    assign: Callable[[Doc], None], change: Callable[[Doc], None], attr: str, stored: Any
):
    fake = FakeDynamo({"docs": ("pk",)})
    with session(fake) as s:
        s.put(Doc(pk="d"))
    with session(fake) as s:
        doc = s.get(Doc, "d").result()
        assert doc is not None
        assign(doc)
        s.flush()  # written back; its snapshot must not hold the live value
        change(doc)
        s.flush()
    assert normalised(fake.data["docs"][("d",)][attr]) == normalised(stored)
    assert len(fake.ops("BatchWriteItem")) + len(fake.ops("UpdateItem")) == 3


@pytest.mark.parametrize(
    ("assign", "change", "attr", "stored"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_in_place_change_after_put_is_written(
    assign: Callable[[Doc], None], change: Callable[[Doc], None], attr: str, stored: Any
):
    fake = FakeDynamo({"docs": ("pk",)})
    with session(fake) as s:
        doc = Doc(pk="d")
        assign(doc)
        s.put(doc)
        s.flush()
        change(doc)
    assert normalised(fake.data["docs"][("d",)][attr]) == normalised(stored)
