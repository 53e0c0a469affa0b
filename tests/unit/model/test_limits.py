"""Limits DynamoDB enforces, checked before anything is sent.

Each of these passed the client's checks, was sent, and failed its whole batch: key
sizes, empty index keys, nesting depth, duplicate numbers in a set, numbers DynamoDB
would round. The limits were measured on DynamoDB Local 3.3.1 (tests/backend/
test_limits_dynamodb.py checks each against the server).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from _dynamap.model.depth import needs_depth_check
from dynamap import (
    EncodeError,
    InvalidKeyError,
    Model,
    PartitionKey,
    Session,
    SortKey,
    to_item,
)
from tests.support.fake import FakeClock, FakeDynamo
from tests.support.models import BinKeyed, Everything, Keyed


class NumKeyed(Model, table="numkeyed"):
    pk: Annotated[int, PartitionKey()]
    sk: Annotated[Decimal, SortKey()]


def make() -> FakeDynamo:
    return FakeDynamo({"keyed": ("pk", "sk"), "binkeyed": ("pk", "sk"), "numkeyed": ("pk", "sk")})


def session(fake: FakeDynamo) -> Session:
    clock = FakeClock()
    return Session(
        transport=fake, clock=clock, sleep=clock.sleep, rng=random.Random(1), concurrency=1
    )


# --- key sizes: 2048 bytes for a partition key, 1024 for a sort key (UTF-8 or raw) ----------

FITS = [
    ("a" * 2048, "b" * 1024),
    ("é" * 1024, "😀" * 256),  # 2048 and 1024 bytes of UTF-8
    ("日" * 682 + "aa", "é" * 512),
]


@pytest.mark.parametrize(("pk", "sk"), FITS)
def test_keys_at_the_limit_are_fine(pk: str, sk: str):
    fake = make()
    item = Keyed(pk=pk, sk=sk)
    assert to_item(item)["pk"] == {"S": pk}
    with session(fake) as s:
        s.put(item)
    with session(fake) as s:
        assert s.get(Keyed, pk, sk).result() == item
        s.delete(item)
    assert not fake.data["keyed"]


TOO_LARGE = [
    ("a" * 2049, "x", r"Keyed\.pk 'a+\.\.\. \(2051 characters\) is 2,049 bytes .*at most 2,048"),
    ("é" * 1024 + "a", "x", r"Keyed\.pk .* is 2,049 bytes .*at most 2,048 in a partition key"),
    ("日" * 683, "x", r"Keyed\.pk .* is 2,049 bytes"),
    ("x", "b" * 1025, r"Keyed\.sk .* is 1,025 bytes .*at most 1,024 in a sort key"),
    ("x", "😀" * 256 + "a", r"Keyed\.sk .* is 1,025 bytes"),
]


@pytest.mark.parametrize(("pk", "sk", "message"), TOO_LARGE)
def test_keys_over_the_limit_are_refused_at_the_call(pk: str, sk: str, message: str):
    fake = make()
    with session(fake) as s:
        with pytest.raises(InvalidKeyError, match=message):
            s.get(Keyed, pk, sk)
        with pytest.raises(InvalidKeyError, match=message):
            s.put(Keyed(pk=pk, sk=sk))
        with pytest.raises(InvalidKeyError, match=message):
            s.delete(Keyed(pk=pk, sk=sk))
    with pytest.raises(InvalidKeyError, match=message):
        to_item(Keyed(pk=pk, sk=sk))
    assert fake.calls == []


def test_binary_keys_count_raw_bytes():
    fake = make()
    with session(fake) as s:
        s.put(BinKeyed(pk=b"\xff" * 2048, sk=b"\x00" * 1024))
        with pytest.raises(InvalidKeyError, match=r"BinKeyed\.pk .* is 2,049 bytes"):
            s.get(BinKeyed, b"a" * 2049, b"x")
        with pytest.raises(InvalidKeyError, match=r"BinKeyed\.sk .* is 1,025 bytes"):
            s.put(BinKeyed(pk=b"a", sk=b"a" * 1025))
    assert len(fake.data["binkeyed"]) == 1


def test_a_key_with_a_lone_surrogate_is_an_invalid_key():
    fake = make()
    with session(fake) as s:
        with pytest.raises(InvalidKeyError, match=r"Keyed\.pk .*lone surrogate"):
            s.get(Keyed, "a\ud800", "x")
        with pytest.raises(InvalidKeyError, match=r"Keyed\.sk .*lone surrogate"):
            s.put(Keyed(pk="a", sk="\udfff"))
    assert fake.calls == []


# --- numbers are never rounded into another key ----------------------------------------------


@pytest.mark.parametrize("digits", [39, 48, 49, 50, 100, 1000])
def test_number_keys_are_never_rounded(digits: int):
    fake = make()
    near = 10 ** (digits - 1) + 1  # rounded by a 48-digit context to 10 ** (digits - 1)
    message = rf"NumKeyed\.(pk|sk): .*{digits} significant digits"
    with session(fake) as s:
        with pytest.raises(InvalidKeyError, match=message):
            s.get(NumKeyed, near, Decimal(1))
        with pytest.raises(InvalidKeyError, match=message):
            s.get(NumKeyed, 1, Decimal("9" * digits))
        with pytest.raises(InvalidKeyError, match=message):
            s.put(NumKeyed(pk=near, sk=Decimal(1)))
        with pytest.raises(InvalidKeyError, match=message):
            s.delete(NumKeyed(pk=1, sk=Decimal(near)))
    assert fake.calls == []


def test_a_long_number_key_cannot_overwrite_its_rounded_neighbour():
    fake = make()
    with session(fake) as s:
        s.put(NumKeyed(pk=10**48, sk=Decimal("1E+50")))  # one significant digit each: fine
    with session(fake) as s, pytest.raises(InvalidKeyError):
        s.put(NumKeyed(pk=10**48 + 1, sk=Decimal("9" * 50)))
    assert list(fake.data["numkeyed"].values()) == [
        {"pk": {"N": "1" + "0" * 48}, "sk": {"N": "1" + "0" * 50}}
    ]


# --- secondary-index keys: never empty, and within the key size limits ------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": ""}, r"Keyed\.email '' is an empty string.*index 'by_email'"),
        ({"rank": ""}, r"Keyed\.rank '' is an empty string.*index '(by_email|by_rank)'"),
        ({"email": "e", "rank": ""}, r"Keyed\.rank '' is an empty string"),
        ({"code": b""}, r"Keyed\.code b'' is empty.*index 'by_code'"),
        ({"email": "a" * 2049}, r"Keyed\.email .* is 2,049 bytes .*index 'by_email'"),
        ({"rank": "é" * 512 + "a"}, r"Keyed\.rank .* is 1,025 bytes .*sort key"),
        ({"code": b"c" * 2049}, r"Keyed\.code .* is 2,049 bytes; .*index 'by_code'"),
    ],
)
def test_bad_index_keys_fail_the_flush_before_anything_is_sent(
    fields: dict[str, Any], message: str
):
    fake = make()
    s = session(fake)
    for i in range(24):
        s.put(Keyed(pk=f"p{i}", sk="s", email="e", rank="r"))
    s.put(Keyed(pk="bad", sk="s", **fields))
    with pytest.raises(EncodeError, match=message) as info:
        s.flush()
    assert "{'pk': {'S': 'bad'}, 'sk': {'S': 's'}}" in str(info.value)
    assert fake.calls == []
    with pytest.raises(EncodeError, match=message):
        to_item(Keyed(pk="bad", sk="s", **fields))


def test_index_keys_may_be_absent_or_at_the_limit():
    fake = make()
    with session(fake) as s:
        s.put(Keyed(pk="a", sk="s"))
        s.put(Keyed(pk="b", sk="s", email="é" * 1024, rank="😀" * 256, code=b"c" * 2048))
    assert len(fake.data["keyed"]) == 2


# --- nesting: at most 31 maps and lists in one attribute ---------------------------------------


def nested(depth: int, leaf: Any = None) -> Any:
    value: Any = [] if leaf is None else [leaf]
    for i in range(depth - 1):
        value = {"a": value} if i % 2 else [value]
    return value


class Node(BaseModel):
    children: list[Node] = []
    data: Any = None


class Tree(Model, table="trees"):
    pk: Annotated[str, PartitionKey()]
    root: Node | None = None
    grid: list[list[dict[str, Any]]] = []


def chain(nodes: int) -> Node:
    node = Node()
    for _ in range(nodes - 1):
        node = Node(children=[node])
    return node


def test_nesting_up_to_31_levels_is_fine():
    to_item(Everything(pk="e", sk=1, anything=nested(31, leaf=1)))
    to_item(Everything(pk="e", sk=1, mapping={"x": nested(30)}))
    to_item(Tree(pk="t", root=chain(15)))  # each node is a map holding a list: 30 levels
    to_item(Tree(pk="t", grid=[[{"a": nested(28)}]]))


@pytest.mark.parametrize(
    "instance",
    [
        lambda: Everything(pk="e", sk=1, anything=nested(32)),
        lambda: Everything(pk="e", sk=1, mapping={"x": nested(31)}),
        lambda: Everything(pk="e", sk=1, any_list=[nested(31)]),
        lambda: Tree(pk="t", root=chain(16)),
        lambda: Tree(pk="t", root=Node(data=[nested(30)])),
        lambda: Tree(pk="t", grid=[[{"a": nested(29)}]]),
        lambda: Everything(pk="e", sk=1, anything=[chain(16)]),
    ],
)
def test_nesting_deeper_than_31_levels_is_an_encode_error(instance: Any):
    with pytest.raises(EncodeError, match="nested more than 31 deep"):
        to_item(instance())


@pytest.mark.parametrize(
    "instance",
    [
        lambda: Everything(pk="e", sk=1, anything=nested(5000)),
        lambda: Tree(pk="t", root=chain(200)),  # models in models: too deep for the stack
        lambda: Tree(pk="t", root=chain(5000)),
        lambda: Everything(pk="e", sk=1, anything=[chain(1000)]),
    ],
)
def test_very_deep_nesting_is_an_encode_error_not_a_recursion_error(instance: Any):
    fake = FakeDynamo({"everything": ("pk", "sk"), "trees": ("pk",)})
    s = session(fake)
    s.put(instance())
    with pytest.raises(EncodeError, match="nested more than 31 deep"):
        s.flush()
    assert fake.calls == []


# --- number sets: members equal after normalisation are duplicates ----------------------------


def test_a_number_set_with_one_number_twice_is_an_encode_error():
    e = Everything(pk="e", sk=1, ns_float={0.1})
    e.ns_float.add(Decimal("0.1"))  # type: ignore[arg-type]  # Python keeps both
    with pytest.raises(EncodeError, match=r"holds '0\.1' and '0\.1'.*duplicate"):
        to_item(e)
    with pytest.raises(EncodeError, match="duplicate"):
        to_item(Everything(pk="e", sk=1, anything={0.1, Decimal("0.1")}))
    with pytest.raises(EncodeError, match="duplicate"):
        to_item(Everything(pk="e", sk=1, anything=[{1.5e-07, Decimal("0.00000015")}]))


def test_number_sets_python_already_deduplicates_are_fine():
    item = to_item(Everything(pk="e", sk=1, ns_dec={Decimal("1"), Decimal("1.0")}))
    assert item["ns_dec"] == {"NS": ["1"]}
    assert len(to_item(Everything(pk="e", sk=1, anything={1, Decimal(1)}))["anything"]["NS"]) == 1


# --- which models pay for a depth walk of the encoded item -------------------------------------


class _Flat(Model, table="flat"):
    pk: Annotated[str, PartitionKey()]
    data: dict[str, Any] = {}  # runtime-typed from the field down: counted while sizing
    items: list[Any] = []
    ranks: list[int] = []
    anything: Any = None


class _AnyInsideTyped(Model, table="deep1"):
    pk: Annotated[str, PartitionKey()]
    rows: list[dict[str, Any]] = []  # the sizing of each row starts counting at 1


class _Leaf(BaseModel):
    value: Any = None


class _AnyInsideModel(Model, table="deep2"):
    pk: Annotated[str, PartitionKey()]
    leaf: _Leaf | None = None


def test_only_models_whose_types_hide_depth_pay_for_a_depth_walk():
    assert not needs_depth_check(_Flat)
    assert needs_depth_check(_AnyInsideTyped)
    assert needs_depth_check(_AnyInsideModel)
    assert needs_depth_check(Tree)  # a recursive model has no bound


def test_any_inside_typed_containers_is_counted_from_the_field():
    fine = _AnyInsideTyped(pk="a", rows=[{"x": nested(29)}])  # 1 + 1 + 29 = 31
    to_item(fine)
    deep = _AnyInsideTyped(pk="a", rows=[{"x": nested(30)}])
    with pytest.raises(EncodeError, match=r"_AnyInsideTyped\.rows.* nested more than 31 deep"):
        to_item(deep)
