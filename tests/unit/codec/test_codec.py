"""The codec: every supported type to DynamoDB's wire format and back, exactly."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from decimal import Decimal
from typing import Annotated, Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import given, settings
from hypothesis import strategies as st

from _dynamap.codec.compile import decode_any, encode_any
from _dynamap.codec.size import MAX_ITEM_BYTES, item_size
from dynamap import (
    EncodeError,
    InvalidKeyError,
    ItemTooLargeError,
    Model,
    PartitionKey,
    from_item,
    to_item,
)
from tests.support.models import Address, Color, Everything, User


def test_user_item():
    u = User(pk="u#1", sk="profile", name="Ann", user_id="x")
    assert to_item(u) == {
        "pk": {"S": "u#1"},
        "sk": {"S": "profile"},
        "name": {"S": "Ann"},
        "status": {"S": "active"},
        "user-id": {"S": "x"},
    }
    assert from_item(User, to_item(u)) == u


def full_everything() -> Everything:
    return Everything(
        pk="e",
        sk=7,
        s="text",
        i=-12345678901234567890,
        f=0.1,
        d=Decimal("1.50"),
        b=True,
        raw=b"\x00\xff",
        opt="here",
        ss={"a", "b"},
        ns_int={1, 2, 3},
        ns_float={0.5, 1e-7},
        ns_dec={Decimal("2.25")},
        bs={b"x", b"y"},
        lst=[1, 2, 3],
        tup=("t", 9),
        anything={"deep": [1, "two", None, {"x": Decimal("3.5")}], "flag": False},
        any_list=[None, b"bin", {"s"}, 1.5],
        mapping={"k": "v", "n": 4},
        typed_map={"a": 0.25},
        nested=Address(city="Oslo", zip=150),
        nested_list=[Address(city="Bergen")],
        when=dt.datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=dt.timezone.utc),
        day=dt.date(2024, 2, 29),
        uid=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        color=Color.BLUE,
        lit="b",
    )


def test_every_type_round_trips():
    e = full_everything()
    item = to_item(e)
    assert item["i"] == {"N": "-12345678901234567890"}
    assert item["f"] == {"N": "0.1"}
    assert item["d"] == {"N": "1.5"}
    assert item["b"] == {"BOOL": True}
    assert item["raw"] == {"B": b"\x00\xff"}
    assert sorted(item["ss"]["SS"]) == ["a", "b"]
    assert sorted(item["ns_int"]["NS"]) == ["1", "2", "3"]
    assert sorted(item["bs"]["BS"]) == [b"x", b"y"]
    assert item["tup"] == {"L": [{"S": "t"}, {"N": "9"}]}
    assert item["nested"] == {"M": {"city": {"S": "Oslo"}, "zip": {"N": "150"}}}
    assert item["when"] == {"S": "2024-01-02T03:04:05.600000+00:00"}
    assert item["day"] == {"S": "2024-02-29"}
    assert item["uid"] == {"S": "12345678-1234-5678-1234-567812345678"}
    assert item["color"] == {"N": "2"}
    assert item["lit"] == {"S": "b"}
    assert item["any_list"]["L"][0] == {"NULL": True}
    back = from_item(Everything, item)
    assert back == e
    assert type(back.i) is int
    assert type(back.d) is Decimal
    assert back.anything["deep"][3]["x"] == Decimal("3.5")


def test_matches_boto3_deserializer():
    """Our wire format is what boto3's own deserializer reads as the same values."""
    item = to_item(full_everything())
    plain = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
    assert plain["d"] == Decimal("1.5")
    assert plain["ss"] == {"a", "b"}
    assert plain["nested"] == {"city": "Oslo", "zip": Decimal(150)}


def test_none_and_empty_sets_are_omitted():
    e = Everything(pk="e", sk=1, opt=None, ss=set(), nested=None)
    item = to_item(e)
    for attr in ("opt", "ss", "ns_int", "bs", "nested", "when"):
        assert attr not in item
    # Absent attributes read back as the field's default.
    back = from_item(Everything, {"pk": {"S": "e"}, "sk": {"N": "1"}})
    assert back == Everything(pk="e", sk=1)


def test_null_attribute_reads_as_default():
    back = from_item(
        Everything, {"pk": {"S": "e"}, "sk": {"N": "1"}, "opt": {"NULL": True}, "s": {"NULL": True}}
    )
    assert back.opt is None
    assert back.s == ""


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300, 5e-324, -1e200])
def test_bad_floats(bad):
    with pytest.raises(EncodeError, match=r"finite|range"):
        to_item(Everything(pk="e", sk=1, f=bad))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("1" * 39), "39 significant digits"),
        (Decimal("1E+126"), "range"),
        (Decimal("1E-131"), "range"),
    ],
)
def test_bad_decimals(value, message):
    # pydantic itself refuses NaN/Infinity Decimals; the codec must too (model_construct).
    with pytest.raises(EncodeError, match=message):
        to_item(Everything.model_construct(pk="e", sk=1, d=value))


def test_number_limits_that_are_fine():
    for d in (Decimal("9.9999999999999999999999999999999999999E+125"), Decimal("1E-130")):
        assert from_item(Everything, to_item(Everything(pk="e", sk=1, d=d))).d == d
    big = 10**40  # one significant digit: DynamoDB keeps it
    assert from_item(Everything, to_item(Everything(pk="e", sk=1, i=big))).i == big
    with pytest.raises(EncodeError, match="significant digits"):
        to_item(Everything(pk="e", sk=1, i=int("1" * 39)))


def test_float_is_shortest_round_trip():
    for f in (0.1, 1 / 3, 1e-7, 123456789.125, 2.0**-60, 1e125):
        item = to_item(Everything(pk="e", sk=1, f=f))
        assert float(item["f"]["N"]) == f
        assert item["f"]["N"] == repr(f)


def test_key_errors():
    with pytest.raises(InvalidKeyError, match="key strings cannot be empty"):
        to_item(User(pk="", sk="x", name="n"))


def test_item_size_counts_names_and_values():
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"é": {"S": "é"}}) == 4
    assert item_size({"l": {"L": [{"S": "a"}, {"BOOL": True}]}}) == 1 + 3 + 2 + 2


class Blob(Model, table="blobs"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""


def test_oversized_item_is_rejected():
    fits = Blob(pk="k", body="x" * (MAX_ITEM_BYTES - len("pk") - 1 - len("body")))
    assert item_size(to_item(fits)) == MAX_ITEM_BYTES
    too_big = Blob(pk="k", body="x" * (MAX_ITEM_BYTES - 6))
    with pytest.raises(ItemTooLargeError, match=r"409,601 bytes.*409,600") as info:
        to_item(too_big)
    assert info.value.size == MAX_ITEM_BYTES + 1


def test_map_keys_must_be_strings():
    with pytest.raises(EncodeError, match="map keys must be strings"):
        encode_any({1: "x"})


def test_map_keys_cannot_be_empty():
    """DynamoDB Local answers "Empty attribute name"; we refuse before sending."""
    with pytest.raises(EncodeError, match="map keys cannot be empty"):
        to_item(Everything(pk="e", sk=1, typed_map={"": 1.0}))


def test_mixed_set_is_an_error():
    with pytest.raises(EncodeError, match="one type"):
        encode_any({"a", 1})


def test_decode_any():
    assert decode_any({"N": "5"}) == 5
    assert decode_any({"N": "5.0"}) == Decimal("5.0")
    assert decode_any({"NS": ["1", "1.5"]}) == {1, Decimal("1.5")}
    assert decode_any({"L": [{"NULL": True}, {"BS": [b"a"]}]}) == [None, {b"a"}]


# --- property-based round trips --------------------------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: f == 0 or 1e-130 <= abs(f) < 1e125
)
WIDE = decimal.Context(prec=100)


def storable(d: Decimal) -> bool:
    n = WIDE.normalize(d)
    return d == 0 or (len(n.as_tuple().digits) <= 38 and -130 <= n.adjusted() <= 125)


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(storable)
ints = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
text = st.text()
scalars = st.one_of(text, ints, st.booleans(), st.binary(), decimals, st.none())
any_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)

everything = st.builds(
    Everything,
    pk=st.text(min_size=1),
    sk=ints,
    s=text,
    i=ints,
    f=finite_floats,
    d=decimals,
    b=st.booleans(),
    raw=st.binary(),
    opt=st.none() | text,
    ss=st.sets(text, max_size=4),
    ns_int=st.sets(ints, max_size=4),
    ns_float=st.sets(finite_floats, max_size=4),
    ns_dec=st.sets(decimals, max_size=4).filter(
        lambda s: len({WIDE.normalize(d) for d in s}) == len(s)
    ),
    bs=st.sets(st.binary(), max_size=4),
    lst=st.lists(ints, max_size=4),
    tup=st.tuples(text, ints),
    anything=any_values,
    any_list=st.lists(any_values, max_size=3),
    mapping=st.dictionaries(st.text(min_size=1, max_size=5), any_values, max_size=3),
    typed_map=st.dictionaries(st.text(min_size=1, max_size=5), finite_floats, max_size=3),
    nested=st.none() | st.builds(Address, city=text, zip=st.none() | ints),
    nested_list=st.lists(st.builds(Address, city=text), max_size=2),
    when=st.none() | st.datetimes(timezones=st.just(dt.timezone.utc)),
    day=st.none() | st.dates(),
    uid=st.none() | st.uuids(),
    color=st.sampled_from(Color),
    lit=st.sampled_from(["a", "b"]),
)


def normalise(value: Any) -> Any:
    """Numbers compare by value (DynamoDB keeps 1.50 as 1.5), containers element-wise."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(everything)
def test_any_value_round_trips(e: Everything):
    back = from_item(Everything, to_item(e))
    assert normalise(back.model_dump()) == normalise(e.model_dump())
    assert type(back.i) is int


def test_values_written_by_other_clients_decode_or_fail_clearly():
    from pydantic import ValidationError

    base = {"pk": {"S": "e"}, "sk": {"N": "1"}}
    odd = from_item(
        Everything,
        base
        | {
            "i": {"N": "5.0"},  # an int spelled as a decimal
            "f": {"NULL": True},  # NULL reads as absent
            "d": {"N": "1E2"},
            "when": {"NULL": True},
            "lst": {"L": [{"N": "1"}, {"N": "2.0"}]},
            "ss": {"SS": ["a"]},
        },
    )
    assert (odd.i, odd.f, odd.d, odd.when, odd.lst, odd.ss) == (
        5,
        0.0,
        Decimal(100),
        None,
        [1, 2],
        {"a"},
    )
    with pytest.raises(ValidationError, match="s"):
        from_item(Everything, base | {"s": {"N": "5"}})  # never silently the default
    with pytest.raises(ValidationError):
        from_item(Everything, base | {"i": {"N": "1.5"}})
    with pytest.raises(ValidationError):
        from_item(Everything, base | {"b": {"S": "maybe"}})


@pytest.mark.parametrize(
    "shape",
    [
        lambda n: {"k": ["x" * n, 1234567, True, None]},  # a map holding a list
        lambda n: [{"a": "x" * n}, {"b": [10, 200, -3000]}],  # a list of maps
    ],
)
def test_size_while_encoding_matches_item_size_at_the_limit(shape):
    """The size computed while encoding nested data agrees with item_size to the byte."""
    from _dynamap.model.model import model_info

    codec = model_info(Everything).codec
    base = item_size(codec.encode(Everything(pk="e", sk=1, anything=shape(0))))
    room = MAX_ITEM_BYTES - base
    at_limit = Everything(pk="e", sk=1, anything=shape(room))
    assert item_size(codec.encode(at_limit)) == MAX_ITEM_BYTES
    assert to_item(at_limit) == codec.encode(at_limit)
    with pytest.raises(ItemTooLargeError) as info:
        to_item(Everything(pk="e", sk=1, anything=shape(room + 1)))
    assert info.value.size == MAX_ITEM_BYTES + 1


def test_an_item_whose_number_bound_passes_the_limit_is_sized_exactly():
    """encode_checked bounds top-level numbers by their text (len + 1): an item over the
    limit by that bound alone is sized exactly and accepted; one byte more is refused."""
    from _dynamap.model.model import model_info

    codec = model_info(Everything).codec
    big = 10**14  # "100000000000000": bounded at 16 bytes, stored in 2

    def item(text: str) -> Everything:
        return Everything(pk="e", sk=big, i=big, s=text)

    room = MAX_ITEM_BYTES - codec.encode_sized(item(""))[1]
    assert codec.encode_sized(item("x" * room))[1] == MAX_ITEM_BYTES
    assert codec.encode_checked(item("x" * room)) == codec.encode(item("x" * room))
    with pytest.raises(ItemTooLargeError) as info:
        codec.encode_checked(item("x" * (room + 1)))
    assert info.value.size == MAX_ITEM_BYTES + 1
