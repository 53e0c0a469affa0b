"""What only the real engine can tell: DynamoDB Local accepts exactly what dynamap sends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from pydantic import Field, create_model

from _dynamap.codec.size import MAX_ITEM_BYTES, item_size
from _dynamap.expr.names import reserved_words
from dynamap import (
    GlobalIndex,
    LocalIndex,
    Model,
    PartitionKey,
    Session,
    SortKey,
    create_table_params,
    from_item,
    projection,
    to_item,
)
from tests.support.models import Everything
from tests.support.tables import create_tables
from tests.unit.codec.test_codec import everything, normalise


class Account(Model, table="accounts"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    email: str | None = None
    region: str = "eu"
    created: dt.date = dt.date(2024, 1, 1)
    balance: Decimal = Decimal(0)
    label: bytes = b""
    note: str = ""

    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "sk", projection=["note", "region"])
    by_balance: ClassVar[GlobalIndex] = GlobalIndex("balance", projection="KEYS_ONLY")
    by_label: ClassVar[GlobalIndex] = GlobalIndex("label", "region", name="label.region-ix")
    by_region: ClassVar[LocalIndex] = LocalIndex("region", projection="KEYS_ONLY")


def test_create_table_params_are_accepted(direct_client, table_prefix):
    params = create_table_params(Account, table_prefix=table_prefix)
    direct_client.create_table(**params)
    table = direct_client.describe_table(TableName=params["TableName"])["Table"]
    assert table["KeySchema"] == params["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        params["AttributeDefinitions"], key=str
    )
    gsis = {g["IndexName"]: g for g in table["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"by_email", "by_balance", "label.region-ix"}
    assert gsis["by_email"]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["note", "region"],
    }
    (lsi,) = table["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "by_region"
    assert lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_provisioned_table_is_accepted(direct_client, table_prefix):
    params = create_table_params(
        Account,
        table_prefix=table_prefix,
        billing_mode="PROVISIONED",
        read_capacity=3,
        write_capacity=2,
    )
    direct_client.create_table(**params)
    table = direct_client.describe_table(TableName=params["TableName"])["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 3


# --- every reserved word, and names that are not identifiers, in real projections ------------

WORDS = sorted(reserved_words())
CHUNK = 120  # keeps each ProjectionExpression well under DynamoDB's 4 KB expression limit


def word_view(words: list[str], name: str) -> type[Model]:
    # Field names are safe identifiers; the DynamoDB attribute names are the reserved words.
    fields: dict[str, Any] = {
        f"f{i}": (str, Field(default="", alias=word.lower())) for i, word in enumerate(words)
    }
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=Model,
        __cls_kwargs__={"table": "words"},
        pk=(Annotated[str, PartitionKey()], ...),
        **fields,
    )


VIEWS = [word_view(WORDS[i : i + CHUNK], f"Words{i}") for i in range(0, len(WORDS), CHUNK)]


class Awkward(Model, table="words"):
    pk: Annotated[str, PartitionKey()]
    dash: str = Field(default="", alias="user-id")
    dot: str = Field(default="", alias="a.b")
    digit: str = Field(default="", alias="9lives")
    space: str = Field(default="", alias="with space")
    plain: str = Field(default="", alias="user_id")
    hash_: str = Field(default="", alias="#hash")
    unicode: str = Field(default="", alias="naïve")


def test_every_reserved_word_works_in_getitem_and_batchgetitem(direct_client, table_prefix):
    assert len(WORDS) == 573
    create_tables(direct_client, table_prefix, VIEWS[0])
    table = f"{table_prefix}words"
    item = {"pk": {"S": "k"}} | {w.lower(): {"S": f"value of {w}"} for w in WORDS}
    direct_client.put_item(TableName=table, Item=item)
    covered: set[str] = set()
    for view in VIEWS:
        p = projection(view)
        assert len(p.expression) < 4096
        got = direct_client.get_item(TableName=table, Key={"pk": {"S": "k"}}, **p.request_params())[
            "Item"
        ]
        assert set(got) == {"pk"} | {w.lower() for w in p.names.values()}
        decoded = from_item(view, got)
        values = decoded.model_dump(by_alias=True)
        assert {k: v for k, v in values.items() if k != "pk"} == {
            k: f"value of {k.upper()}" for k in values if k != "pk"
        }
        covered.update(k.upper() for k in values if k != "pk")
        with Session(direct_client, table_prefix=table_prefix) as s:  # BatchGetItem
            batch = s.get(view, "k").result()
        assert batch == decoded
    assert covered == set(WORDS)


def test_merged_projection_over_4kb_reads_whole_items(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, VIEWS[0])
    item = {"pk": {"S": "k"}} | {w.lower(): {"S": w} for w in WORDS}
    direct_client.put_item(TableName=f"{table_prefix}words", Item=item)
    with Session(direct_client, table_prefix=table_prefix) as s:
        results = [s.get(view, "k") for view in VIEWS]
        report = s.flush()
        assert report.requests == 1
        assert all(r.result() is not None for r in results)


def test_awkward_names_work(direct_client, table_prefix):
    p = projection(Awkward)
    assert "user_id" in p.expression.split(", ")  # needs no placeholder
    assert set(p.names.values()) == {"user-id", "a.b", "9lives", "with space", "#hash", "naïve"}
    create_tables(direct_client, table_prefix, Awkward)
    value = Awkward(
        pk="k", dash="d", dot="o", digit="9", space="s", plain="p", hash_="h", unicode="u"
    )
    direct_client.put_item(TableName=f"{table_prefix}words", Item=to_item(value))
    got = direct_client.get_item(
        TableName=f"{table_prefix}words", Key={"pk": {"S": "k"}}, **p.request_params()
    )["Item"]
    assert from_item(Awkward, got) == value
    with Session(direct_client, table_prefix=table_prefix) as s:
        assert s.get(Awkward, "k").result() == value


# --- item size and numbers, as the engine counts them -----------------------------------------


class Blob(Model, table="blobs"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""
    n: Decimal | None = None


@pytest.mark.parametrize("number", [None, Decimal("12345678901234567890.12345678901234567")])
def test_item_size_matches_the_engine(direct_client, table_prefix, number):
    """An item of exactly 400 KB by our count is stored; one byte more is refused by DynamoDB."""
    create_tables(direct_client, table_prefix, Blob)
    table = f"{table_prefix}blobs"
    base = Blob(pk="k", body="", n=number)
    room = MAX_ITEM_BYTES - item_size(to_item(base))
    fits = Blob(pk="k", body="x" * room, n=number)
    assert item_size(to_item(fits)) == MAX_ITEM_BYTES
    with Session(direct_client, table_prefix=table_prefix) as s:
        s.put(fits)
    too_big = to_item(fits)
    too_big["body"] = {"S": "x" * (room + 1)}
    with pytest.raises(ClientError, match="Item size has exceeded"):
        direct_client.put_item(TableName=table, Item=too_big)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=everything)
def test_any_value_round_trips_through_dynamodb_local(direct_client, value: Everything):
    table = "hypothesis-everything"
    existing = direct_client.list_tables()["TableNames"]
    if table not in existing:
        direct_client.create_table(**create_table_params(Everything, table_prefix="hypothesis-"))
    item = to_item(value)
    direct_client.put_item(TableName=table, Item=item)
    key = {"pk": item["pk"], "sk": item["sk"]}
    stored = direct_client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    back = from_item(Everything, stored)
    assert normalise(back.model_dump()) == normalise(value.model_dump())
