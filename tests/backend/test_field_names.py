"""Field names and stored attribute names on real backends: hostile names, `Attr`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from dynamap import (
    Attr,
    GlobalIndex,
    LocalIndex,
    Model,
    PartitionKey,
    Session,
    SortKey,
    from_item,
    projection,
    to_item,
)
from tests.support.tables import create_tables, scan_all
from tests.unit.codec.test_attribute_names import HOSTILE, hostile_model

Hostile = hostile_model("HostileBackend")


def test_hostile_attribute_names_round_trip(client, table_prefix):
    create_tables(client, table_prefix, Hostile)
    table = f"{table_prefix}hostile"
    values: dict[str, Any] = {f"f{i}": f"value {i}" for i in range(len(HOSTILE))}
    instance = Hostile(pk="k", count=7, **values)
    with Session(client, table_prefix=table_prefix) as s:  # BatchWriteItem
        s.put(instance)
    (stored,) = scan_all(client, table)
    assert stored == to_item(instance)
    p = projection(Hostile)
    got = client.get_item(TableName=table, Key={"pk": {"S": "k"}}, **p.request_params())["Item"]
    assert from_item(Hostile, got) == instance
    with Session(client, table_prefix=table_prefix) as s:  # BatchGetItem with the projection
        loaded = s.get(Hostile, "k").result()
        assert loaded == instance
        assert loaded is not None
        loaded.count = 8  # a write-back keeps every other attribute
    (stored,) = scan_all(client, table)
    assert stored == to_item(instance) | {"{n}": {"N": "8"}}


class Member(Model, table="members"):
    pk: Annotated[str, PartitionKey(), Attr("PK")]
    sk: Annotated[int, SortKey(), Attr("SK")]
    user_id: Annotated[str, Attr("user-id")] = ""
    email: Annotated[str | None, Attr("e-mail")] = None
    name: Annotated[str, Attr("{name}")] = ""

    by_email: ClassVar[GlobalIndex] = GlobalIndex("e-mail", "SK", projection=["user_id"])
    by_user: ClassVar[LocalIndex] = LocalIndex("user_id", projection="KEYS_ONLY")


def test_attr_names_in_tables_indexes_and_reads(client, table_prefix):
    create_tables(client, table_prefix, Member)
    table = f"{table_prefix}members"
    described = client.describe_table(TableName=table)["Table"]
    assert described["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    member = Member(pk="m", sk=1, user_id="z", email="z@example.com", name="Zed")
    with Session(client, table_prefix=table_prefix) as s:
        s.put(member)
    (stored,) = scan_all(client, table)
    assert stored == {
        "PK": {"S": "m"},
        "SK": {"N": "1"},
        "user-id": {"S": "z"},
        "e-mail": {"S": "z@example.com"},
        "{name}": {"S": "Zed"},
    }
    with Session(client, table_prefix=table_prefix) as s:
        loaded = s.get(Member, "m", 1).result()
        assert loaded == member
    by_email = client.query(
        TableName=table,
        IndexName="by_email",
        KeyConditionExpression="#e = :e",
        ExpressionAttributeNames={"#e": "e-mail"},
        ExpressionAttributeValues={":e": {"S": "z@example.com"}},
    )["Items"]
    assert by_email == [{k: stored[k] for k in ("PK", "SK", "e-mail", "user-id")}]
