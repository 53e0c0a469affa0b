"""DynamoDB Local is the judge: dynamap's size count and limit checks agree with the server.

Near the 400 KB limit, an item padded to exactly the limit by our count is stored and one
byte more is refused, by DynamoDB Local and by dynamap first. Every limit dynamap checks
before sending (key sizes, empty index keys, nesting, duplicate numbers in a set,
numbers DynamoDB would round) is shown to be refused by the server too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import Field

from _dynamap.codec.size import MAX_ITEM_BYTES, item_size
from _dynamap.model.model import model_info
from dynamap import (
    EncodeError,
    InvalidKeyError,
    ItemTooLargeError,
    Model,
    PartitionKey,
    Session,
    create_table_params,
    to_item,
)
from tests.support.models import BinKeyed, Keyed
from tests.support.tables import create_tables, scan_all
from tests.unit.codec.test_size import spellings, storable_decimals

TABLE_PREFIX = "limits-"
HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def ensure_table(client: Any, model: type[Model]) -> str:
    """The table of `model` under TABLE_PREFIX, created once per DynamoDB Local."""
    params = create_table_params(model, table_prefix=TABLE_PREFIX)
    if params["TableName"] not in client.list_tables()["TableNames"]:
        create_tables(client, TABLE_PREFIX, model)
    return str(params["TableName"])


def refused(client: Any, table: str, item: dict[str, Any]) -> str:
    """DynamoDB Local's message for putting `item` (which it must refuse)."""
    with pytest.raises(ClientError) as info:
        client.put_item(TableName=table, Item=item)
    return str(info.value.response["Error"]["Message"])


# --- item size, to the byte ------------------------------------------------------------------


class Sized(Model, table="sized"):
    pk: Annotated[str, PartitionKey()]
    data: Any = None
    naive: Any = Field(default=None, alias="naïve")
    kanji: Any = Field(default=None, alias="日本語")
    pad: str = ""


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6)
numbers = st.one_of(
    storable_decimals,
    st.integers(-(10**38) + 1, 10**38 - 1),
    st.integers(-(10**6), 10**6).map(lambda i: i * 10 ** (i % 30)).filter(lambda i: i < 10**38),
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: f == 0 or 1e-130 <= abs(f) < 1e125
    ),
)
leaves = st.one_of(
    numbers,
    numbers,
    text,
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.frozensets(text, min_size=1, max_size=4),
    st.frozensets(st.binary(max_size=4), min_size=1, max_size=4),
    st.frozensets(st.integers(-(10**20), 10**20), min_size=1, max_size=4),
    st.frozensets(storable_decimals, min_size=1, max_size=4),
)
documents = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=40,
)


@settings(HYPOTHESIS, max_examples=40)
@given(data=documents, naive=documents, kanji=st.none() | documents)
def test_size_matches_dynamodb_local_at_the_limit(direct_client, data, naive, kanji):
    table = ensure_table(direct_client, Sized)
    base = Sized(pk="k", data=data, naive=naive, kanji=kanji)
    room = MAX_ITEM_BYTES - item_size(to_item(base))
    assume(room >= 0)
    fits = base.model_copy(update={"pad": "x" * room})
    item = to_item(fits)  # our check passes, and our two counts agree
    assert item_size(item) == MAX_ITEM_BYTES
    direct_client.put_item(TableName=table, Item=item)  # the server agrees

    over = base.model_copy(update={"pad": "x" * (room + 1)})
    with pytest.raises(ItemTooLargeError) as info:
        to_item(over)
    assert info.value.size == MAX_ITEM_BYTES + 1
    unchecked = model_info(Sized).codec.encode(over)
    assert "Item size has exceeded" in refused(direct_client, table, unchecked)


@settings(HYPOTHESIS, max_examples=25)
@given(st.lists(storable_decimals, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_size_of_numbers_in_any_spelling_matches_dynamodb_local(direct_client, values, rnd):
    """item_size reads every spelling the server accepts (leading zeros, exponents, +)."""
    table = ensure_table(direct_client, Sized)
    spelled = [rnd.choice(sorted(spellings(d))) for d in values]
    item = {"pk": {"S": "k"}, "data": {"L": [{"N": t} for t in spelled]}, "pad": {"S": ""}}
    room = MAX_ITEM_BYTES - item_size(item)
    item["pad"] = {"S": "x" * room}
    assert item_size(item) == MAX_ITEM_BYTES
    direct_client.put_item(TableName=table, Item=item)
    item["pad"] = {"S": "x" * (room + 1)}
    assert "Item size has exceeded" in refused(direct_client, table, item)


NUMBERS_UNDERCOUNTED_BEFORE = [
    Decimal("1.5"),
    -1,
    Decimal("-1.5"),
    1000010,
    Decimal("3.14159"),
    -(10**37),
]


def test_a_batch_with_an_item_at_the_limit_is_stored_whole(direct_client, table_prefix):
    """An item at the limit by our count is at the limit by DynamoDB's, so no batch fails."""
    create_tables(direct_client, table_prefix, Sized)
    data = {"é日本": NUMBERS_UNDERCOUNTED_BEFORE * 200, "ключ": {"ü": 3.14159}}
    base = Sized(pk="big", data=data, naive={"naïve": -1.5})
    room = MAX_ITEM_BYTES - item_size(to_item(base))
    with Session(direct_client, table_prefix=table_prefix) as s:
        for i in range(24):
            s.put(Sized(pk=f"small{i}", data=NUMBERS_UNDERCOUNTED_BEFORE))
        s.put(base.model_copy(update={"pad": "x" * room}))
        assert s.flush().items_written == 25
    assert len(scan_all(direct_client, f"{table_prefix}sized")) == 25
    s = Session(direct_client, table_prefix=table_prefix)
    s.put(base.model_copy(update={"pad": "x" * (room + 1)}))
    with pytest.raises(ItemTooLargeError, match="409,601 bytes"):
        s.flush()
    s.close()


# --- keys and index keys -----------------------------------------------------------------------


KEY_SIZE = "Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024 bytes"  # noqa: E501


def test_key_sizes_are_checked_exactly_as_dynamodb_local_does(direct_client):
    table = ensure_table(direct_client, Keyed)
    bin_table = ensure_table(direct_client, BinKeyed)
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        s.put(Keyed(pk="é" * 1024, sk="😀" * 256))
        s.put(Keyed(pk="日" * 682 + "aa", sk="a" * 1024))
        s.put(BinKeyed(pk=b"\xff" * 2048, sk=b"\x00" * 1024))
    for pk, sk in [("é" * 1024 + "a", "x"), ("日" * 683, "x"), ("x", "😀" * 256 + "a")]:
        with pytest.raises(InvalidKeyError, match="bytes of UTF-8; DynamoDB allows at most"):
            Session(direct_client).put(Keyed(pk=pk, sk=sk))
        assert refused(direct_client, table, {"pk": {"S": pk}, "sk": {"S": sk}}) == KEY_SIZE
    for pk_b, sk_b in [(b"a" * 2049, b"x"), (b"x", b"a" * 1025)]:
        with pytest.raises(InvalidKeyError, match="bytes; DynamoDB allows at most"):
            Session(direct_client).get(BinKeyed, pk_b, sk_b)
        key = {"pk": {"B": pk_b}, "sk": {"B": sk_b}}
        assert refused(direct_client, bin_table, key) == KEY_SIZE


@pytest.mark.parametrize(
    ("fields", "server"),
    [
        ({"email": ""}, "IndexName: by_email, IndexKey: email"),
        ({"email": "e", "rank": ""}, "IndexKey: rank"),
        ({"rank": ""}, "IndexKey: rank"),
        ({"code": b""}, "IndexName: by_code, IndexKey: code"),
        ({"email": "a" * 2049}, "Size limit exceeded"),
        ({"rank": "é" * 512 + "a"}, "Size limit exceeded"),
        ({"code": b"c" * 2049}, "Size limit exceeded"),
    ],
)
def test_index_keys_are_checked_as_dynamodb_local_does(direct_client, fields, server):
    table = ensure_table(direct_client, Keyed)
    bad = Keyed(pk="bad", sk="s", **fields)
    s = Session(direct_client, table_prefix=TABLE_PREFIX)
    s.put(Keyed(pk="good", sk="s", email="e", rank="r"))
    s.put(bad)
    with pytest.raises(EncodeError, match=r"Keyed\.(email|rank|code) "):
        s.flush()
    assert server in refused(direct_client, table, model_info(Keyed).codec.encode(bad))


def test_index_keys_absent_or_at_the_limit_are_stored(direct_client):
    ensure_table(direct_client, Keyed)
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        s.put(Keyed(pk="none", sk="s"))
        s.put(Keyed(pk="max", sk="s", email="é" * 1024, rank="😀" * 256, code=b"c" * 2048))
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        assert s.get(Keyed, "max", "s").result().rank == "😀" * 256  # type: ignore[union-attr]


# --- nesting, sets, numbers --------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = []
    for i in range(depth - 1):
        value = {"a": value} if i % 2 else [value]
    return value


def test_nesting_is_checked_as_dynamodb_local_does(direct_client):
    table = ensure_table(direct_client, Sized)
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        s.put(Sized(pk="deep", data=nested(31)))
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        assert s.get(Sized, "deep").result() == Sized(pk="deep", data=nested(31))
    too_deep = Sized(pk="deeper", data=nested(32))
    with pytest.raises(EncodeError, match="nested more than 31 deep"):
        to_item(too_deep)
    av: dict[str, Any] = {"L": []}
    for i in range(31):
        av = {"M": {"a": av}} if i % 2 else {"L": [av]}
    item = {"pk": {"S": "deeper"}, "data": av}
    assert "Nesting Levels have exceeded" in refused(direct_client, table, item)
    item["data"] = av["L"][0]  # 31 levels
    direct_client.put_item(TableName=table, Item=item)


def test_duplicate_numbers_in_a_set_are_checked_as_dynamodb_local_does(direct_client):
    table = ensure_table(direct_client, Sized)
    for members in ({0.1, Decimal("0.1")}, {1.5e-07, Decimal("0.00000015")}):
        with pytest.raises(EncodeError, match="duplicate"):
            to_item(Sized(pk="set", data=members))
    for spelled in (["0.1", "0.1"], ["0.1", "0.10"], ["1", "1.0"], ["-0", "0"]):
        item = {"pk": {"S": "set"}, "data": {"NS": spelled}}
        assert "contains duplicates" in refused(direct_client, table, item)
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        s.put(Sized(pk="set", data={Decimal("1"), Decimal("1.0"), 0.5}))


class NumKeyed(Model, table="numkeyed"):
    pk: Annotated[int, PartitionKey()]
    value: Any = None


@pytest.mark.parametrize("digits", [39, 49, 50, 100])
def test_numbers_dynamodb_would_round_are_refused_as_it_does(direct_client, digits):
    table = ensure_table(direct_client, NumKeyed)
    near = 10 ** (digits - 1) + 1
    with pytest.raises(InvalidKeyError, match=f"{digits} significant digits"):
        Session(direct_client).put(NumKeyed(pk=near))
    with pytest.raises(EncodeError, match=f"{digits} significant digits"):
        to_item(NumKeyed(pk=1, value=Decimal("9" * digits)))
    message = refused(direct_client, table, {"pk": {"N": str(near)}})
    assert "precision up to 38 digits" in message or "Number overflow" in message
    assert "precision" in refused(
        direct_client, table, {"pk": {"N": "1"}, "value": {"N": "9" * 39}}
    )


def test_huge_exponents_are_refused_as_dynamodb_local_does(direct_client):
    table = ensure_table(direct_client, NumKeyed)
    with pytest.raises(EncodeError, match="too large"):
        to_item(NumKeyed(pk=1, value=Decimal("1E+1000000")))
    item = {"pk": {"N": "1"}, "value": {"N": "1E+1000000"}}
    assert "Number overflow" in refused(direct_client, table, item)
    with Session(direct_client, table_prefix=TABLE_PREFIX) as s:
        s.put(NumKeyed(pk=10**48, value=Decimal("0E+1000000")))
