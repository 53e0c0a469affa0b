"""The JSON shortcut for batched puts answers exactly what the checked encoder would
send, or None; it never accepts what the checked path refuses.

The reference is the dict path: `check_item(info, encode_item(...))`, written by
`encode_body`. Both are compared as parsed JSON.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _dynamap.codec.size import MAX_DEPTH, MAX_ITEM_BYTES
from _dynamap.model.limits import check_item, encode_json
from _dynamap.model.model import model_info
from _dynamap.transport.wire import encode_body
from dynamap import (
    Attr,
    Discriminator,
    DynamapError,
    GlobalIndex,
    LocalIndex,
    Model,
    PartitionKey,
    SortKey,
)


class Color(str, enum.Enum):
    RED = "red"


class Wide(Model, table="wide"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    text: str = "t"
    maybe: str | None = None
    flag: bool = False
    count: int = 0
    ratio: float = 0.5
    price: Decimal = Decimal("1.10")
    when: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    day: dt.date = dt.date(2024, 1, 1)
    at: dt.time = dt.time(12, 30)
    ident: uuid.UUID = uuid.UUID(int=7)
    tags: set[str] = set()
    nums: list[int] = []
    words: list[str] = []
    data: dict[str, Any] = {}
    anything: list[Any] = []
    blob: bytes | None = None
    odd: Annotated[str, Attr('we"ird\\ na\u00efme\u2028')] = "o"
    color: Color = Color.RED


class Indexed(Model, table="indexed"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    g: str | None = None
    n: int | None = None
    local: str | None = None
    by_g: ClassVar[GlobalIndex] = GlobalIndex("g", "n")
    by_sk: ClassVar[GlobalIndex] = GlobalIndex("sk")  # the table's sort key keys an index
    by_local: ClassVar[LocalIndex] = LocalIndex("local")


class Kinded(Model, table="single"):
    pk: Annotated[str, PartitionKey()]
    kind: Annotated[Literal["user"], Discriminator()] = "user"
    name: str = "n"


class BinaryKey(Model, table="binkey"):
    pk: Annotated[bytes, PartitionKey()]
    text: str = "t"


def reference(instance: Model) -> Any:
    """What the checked path sends, parsed; raises where it refuses."""
    info = model_info(type(instance))
    return json.loads(encode_body(check_item(info, info.encode_item(instance))))


def same(instance: Model) -> bytes | None:
    """encode_json's answer, asserted equal to the checked path's (or None)."""
    raw = encode_json(model_info(type(instance)), instance)
    try:
        expected = reference(instance)
    except DynamapError:
        assert raw is None, "the shortcut accepted what the checked path refuses"
        return None
    if raw is not None:
        assert json.loads(raw) == expected
    return raw


def test_the_common_shapes_take_the_shortcut_and_match():
    for instance in (
        Wide(pk="p", sk=1),
        Wide(
            pk='日本\u2028"\\',
            sk=-(10**37),
            maybe="x",
            flag=True,
            tags={"a", "é"},
            nums=[0, -5, 10**37],
            words=["", "\x00\x1f"],
            data={"m": {"n": [1, "s", False, {"deep": 2}]}, "e": {}, "l": []},
            anything=[1, "x", [2, [3]], (4,), {"k": True}],
        ),
        Indexed(pk="p", sk="s", g="g", n=3, local="l"),
        Indexed(pk="p", sk="s"),  # index keys absent: the item is left out of the indexes
        Kinded(pk="p"),
    ):
        assert same(instance) is not None, instance


def test_values_left_to_the_checked_path_keep_its_answer():
    # Each is either sent as the checked path sends it or handed over with None.
    for instance in (
        Wide(pk="p", sk=1, blob=b"\x00\xff"),  # binary: base64 is the wire's business
        Wide(pk="p", sk=1, data={"b": b"x"}),
        Wide(pk="p", sk=1, data={Color.RED: 1}),  # a key map_key converts
        Wide(pk="p", sk=1, data={"f": 1.5, "d": Decimal("2.50"), "z": None, "s": {1, 2}}),
        Wide(pk="p", sk=1, nums=[True]),  # validated to 1, but test values that skipped it
        Wide.model_construct(pk="p", sk=1, nums=[True, 2]),
        Wide.model_construct(pk="p", sk=1, text=None),
        Wide.model_construct(pk="p", sk=1, tags={"a", 1}),
        Wide(pk="p", sk=1, tags=set()),  # an empty set is omitted
        Wide(pk="p", sk=1, nums=[]),
    ):
        same(instance)


@pytest.mark.parametrize(
    "instance",
    [
        Wide.model_construct(pk="", sk=1),  # an empty table key
        Wide.model_construct(pk="x" * 2049, sk=1),  # over the partition key's limit
        Wide.model_construct(pk="p", sk=10**38 + 1),  # 39 significant digits
        Wide.model_construct(pk="p", sk=1, text="\ud800"),  # a lone surrogate
        Wide.model_construct(pk="p", sk=1, data={"s": "\udfff"}),
        Wide.model_construct(pk="p", sk=1, ratio=float("nan")),
        Wide.model_construct(pk="p", sk=1, text="x" * (MAX_ITEM_BYTES + 1)),
        Indexed.model_construct(pk="p", sk="s", g=""),  # an empty index key
    ],
)
def test_what_the_checked_path_refuses_gets_no_shortcut(instance: Model):
    info = model_info(type(instance))
    assert encode_json(info, instance) is None
    with pytest.raises(DynamapError):
        reference(instance)


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"d": value}
    return value


def test_depth_at_and_over_the_limit():
    refused = None
    for levels in range(MAX_DEPTH - 3, MAX_DEPTH + 3):
        instance = Wide.model_construct(**{**Wide(pk="p", sk=1).__dict__, "data": _deep(levels)})
        if same(instance) is None:
            with pytest.raises(DynamapError):
                reference(instance)
            refused = levels
            break
    assert refused is not None and refused > MAX_DEPTH - 3  # the deepest allowed went through


def test_size_right_at_the_limit_is_exactly_the_checked_answer():
    base = Wide(pk="p", sk=1)
    empty_size = len(json.dumps(reference(base)))  # a bound only: search for the edge
    info = model_info(Wide)
    for text_len in range(MAX_ITEM_BYTES - empty_size - 50, MAX_ITEM_BYTES):
        instance = Wide(pk="p", sk=1, text="x" * text_len)
        raw = same(instance)
        if raw is None:
            try:
                reference(instance)
            except DynamapError:
                break  # the first size refused: everything below was sent or deferred
    else:
        pytest.fail("no size was refused")
    assert encode_json(info, Wide(pk="p", sk=1, text="x" * 10)) is not None


def test_key_and_index_key_lengths_at_their_limits():
    quarter_ok = Indexed(pk="é" * 512, sk="s" * 256, g="g" * 512)
    assert same(quarter_ok) is not None
    # Past a quarter of the limit the shortcut leaves the exact count to check_item.
    for instance in (
        Indexed(pk="p" * 2048, sk="s"),
        Indexed.model_construct(pk="p" * 2049, sk="s"),
        Indexed.model_construct(pk="p", sk="s" * 1025),
        Indexed.model_construct(pk="p", sk="s", g="日" * 683),
    ):
        info = model_info(Indexed)
        assert encode_json(info, instance) is None
        same(instance)


def test_a_binary_key_model_has_no_shortcut():
    assert encode_json(model_info(BinaryKey), BinaryKey(pk=b"k")) is None


_leaf = (
    st.text(max_size=8)
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False, places=3)
    | st.none()
    | st.binary(max_size=4)
)
_values = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(-5, 5) | st.text(max_size=3), max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(),
    sk=st.integers(min_value=-(10**39), max_value=10**39),
    nums=st.lists(st.integers(min_value=-(10**39), max_value=10**39), max_size=5),
    tags=st.sets(st.text(max_size=5), max_size=4),
    words=st.lists(st.text(max_size=5), max_size=4),
    data=st.dictionaries(st.text(max_size=5), _values, max_size=5),
    anything=st.lists(_values, max_size=4),
    ratio=st.floats(),
    price=st.decimals(),
)
def test_any_values_match_or_are_deferred(
    text: str,
    sk: int,
    nums: list[int],
    tags: set[str],
    words: list[str],
    data: dict[str, Any],
    anything: list[Any],
    ratio: float,
    price: Decimal,
):
    instance = Wide.model_construct(
        **{
            **Wide(pk="p", sk=1).__dict__,
            "pk": text or "p",
            "sk": sk,
            "nums": nums,
            "tags": tags,
            "words": words,
            "data": data,
            "anything": anything,
            "ratio": ratio,
            "price": price,
        }
    )
    same(instance)


class Percent(Model, table="percent"):
    """Attribute names the `%` template must write as they are (never as format specs)."""

    maybe_first: Annotated[str | None, Attr("%(x)s")] = None
    pk: Annotated[str, PartitionKey(), Attr("%s%%")]
    count: Annotated[int, Attr("%d")] = 1
    tags: Annotated[set[str], Attr("%")] = set()
    note: Annotated[str | None, Attr("100%")] = None


@pytest.mark.parametrize(
    "instance",
    [
        Percent(pk="%s"),
        Percent(pk="a%%b", maybe_first="%(x)s", tags={"%s", "%"}, note="%"),
        Percent(pk="k", count=-5, note="n"),
    ],
    ids=repr,
)
def test_attribute_names_and_values_with_percent_signs(instance: Model):
    # The first field in order may be absent: fields always inline come first in the JSON.
    raw = same(instance)
    assert raw is not None
    assert set(json.loads(raw)) == set(reference(instance))
