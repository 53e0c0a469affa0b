"""Typed conditions and updates on real backends, sent through the raw boto3 client.

DynamoDB Local rejects unused and undefined placeholders, so every request sent
here also proves its name and value maps hold exactly the placeholders it uses.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamap import Condition, Update, from_item, render_expressions, to_item
from tests.support.expr_models import Account, Address
from tests.support.tables import create_tables

P = Account.path
KEY = {"pk": {"S": "u#1"}, "sk": {"S": "profile"}}


def _account() -> Account:
    return Account(
        pk="u#1",
        sk="profile",
        status="active",
        name="Ann",
        data="d",
        email="ann@example.com",
        visits=5,
        total=Decimal("1.5"),
        raw=b"\x01\x02",
        tags={"vip", "new"},
        codes={1, 2},
        history=["signup", "login"],
        address=Address(city="Oslo", zip=150),
        attrs={"some key": 1, "plain": 2},
        user_id="z",
        nick="annie",
    )


def _exact(params: dict[str, Any]) -> dict[str, Any]:
    """Check the maps hold exactly the placeholders the expressions use (moto does not)."""
    text = " ".join(v for k, v in params.items() if k.endswith("Expression"))
    assert set(re.findall(r"#\w+", text)) == set(params.get("ExpressionAttributeNames", {}))
    assert set(re.findall(r":\w+", text)) == set(params.get("ExpressionAttributeValues", {}))
    return params


@pytest.fixture
def table(client: Any, table_prefix: str) -> str:
    create_tables(client, table_prefix, Account)
    name = f"{table_prefix}accounts"
    client.put_item(TableName=name, Item=to_item(_account()))
    return name


def _holds(client: Any, table: str, condition: Condition) -> bool:
    """Whether `condition` holds for the stored item, asked with a conditional PutItem."""
    item = client.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]
    params = _exact(render_expressions(condition=condition))
    try:
        client.put_item(TableName=table, Item=item, **params)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _update(client: Any, table: str, update: Update, condition: Condition | None = None) -> Account:
    params = _exact(render_expressions(update=update, condition=condition))
    client.update_item(TableName=table, Key=KEY, **params)
    return from_item(
        Account, client.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]
    )


def test_every_condition_operator(client, backend, table):
    status, visits = P(lambda a: a.status), P(lambda a: a.visits)
    city = P(lambda a: a.address).at(lambda d: d.city)
    cases: list[tuple[Condition, Condition]] = [  # (holds, does not hold)
        (status.eq("active"), status.eq("gone")),
        (status.ne("gone"), status.ne("active")),
        (visits.lt(6), visits.lt(5)),
        (visits.le(5), visits.le(4)),
        (visits.gt(4), visits.gt(5)),
        (visits.ge(5), visits.ge(6)),
        (visits.between(5, 9), visits.between(6, 9)),
        (visits.is_in(1, 5), visits.is_in(1, 2)),
        (P(lambda a: a.total).eq(Decimal("1.50")), P(lambda a: a.total).gt(2)),
        (P(lambda a: a.email).exists(), P(lambda a: a.email).not_exists()),
        (P(lambda a: a.extra["nope"]).not_exists(), P(lambda a: a.extra["nope"]).exists()),
        (P(lambda a: a.name).begins_with("An"), P(lambda a: a.name).begins_with("Bo")),
        (P(lambda a: a.tags).contains("vip"), P(lambda a: a.tags).contains("old")),
        (P(lambda a: a.codes).contains(2), P(lambda a: a.codes).contains(3)),
        (P(lambda a: a.history).contains("login"), P(lambda a: a.history).contains("x")),
        (P(lambda a: a.email).contains("@example"), P(lambda a: a.email).contains("@other")),
        (P(lambda a: a.tags).size().eq(2), P(lambda a: a.tags).size().gt(2)),
        (P(lambda a: a.history).size().between(1, 2), P(lambda a: a.name).size().lt(3)),
        (city.eq("Oslo"), city.eq("Bergen")),
        (P(lambda a: a.attrs["some key"]).eq(1), P(lambda a: a.attrs["plain"]).eq(1)),
        (P(lambda a: a.history[1]).eq("login"), P(lambda a: a.history[0]).eq("login")),
        (P(lambda a: a.user_id).eq("z"), P(lambda a: a.nick).eq("z")),
        (
            P(lambda a: a.data).eq("d") & P(lambda a: a.name).eq("Ann"),
            status.eq("x") & city.exists(),
        ),
        (status.eq("x") | visits.eq(5), status.eq("x") | visits.eq(6)),
        (~status.eq("x"), ~status.eq("active")),
        (visits.gt(P(lambda a: a.score)), visits.lt(P(lambda a: a.score))),
        (
            (status.eq("active") & visits.gt(1)) | ~city.exists(),
            ~(status.eq("active") | visits.gt(1)),
        ),
    ]
    if backend != "moto":  # moto's begins_with does not handle binary values
        raw = P(lambda a: a.raw)
        cases.append((raw.begins_with(b"\x01"), raw.begins_with(b"\x02")))
    for holds, fails in cases:
        assert _holds(client, table, holds), str(holds)
        assert not _holds(client, table, fails), str(fails)


def test_every_update_action(client, table):
    visits = P(lambda a: a.visits)
    got = _update(
        client,
        table,
        visits.set(visits + 2)
        & P(lambda a: a.total).add(1)
        & P(lambda a: a.tags).add_elements("gold")
        & P(lambda a: a.codes).delete_elements(1)
        & P(lambda a: a.history).append("logout", "login")
        & P(lambda a: a.email).remove()
        & P(lambda a: a.data).set(None)
        & P(lambda a: a.status).set("paused")
        & P(lambda a: a.name).set("Bo")
        & P(lambda a: a.user_id).set("y")
        & P(lambda a: a.nick).set("bobby")
        & P(lambda a: a.attrs["some key"]).set(10)
        & P(lambda a: a.attrs["new key"]).set(11)
        & P(lambda a: a.address).at(lambda d: d.zip).set(None)
        & P(lambda a: a.ratio).set(P(lambda a: a.ratio).if_not_exists(1.5) - 0.25),
        condition=P(lambda a: a.status).eq("active") & P(lambda a: a.name).eq("Ann"),
    )
    assert got.visits == 7
    assert got.total == Decimal("2.5")
    assert got.tags == {"vip", "new", "gold"}
    assert got.codes == {2}
    assert got.history == ["signup", "login", "logout", "login"]
    assert got.email is None and got.data is None
    assert (got.status, got.name, got.user_id, got.nick) == ("paused", "Bo", "y", "bobby")
    assert got.attrs == {"some key": 10, "plain": 2, "new key": 11}
    assert got.address == Address(city="Oslo", zip=None)
    assert got.ratio == -0.25  # ratio was stored (0.0): if_not_exists keeps it
    got = _update(
        client,
        table,
        P(lambda a: a.history).prepend("first")
        & P(lambda a: a.tags).set(set())
        & P(lambda a: a.codes).add({5, 6})
        & P(lambda a: a.attrs["plain"]).remove()
        & P(lambda a: a.address).set(Address(city="Rome")),
    )
    assert got.history == ["first", "signup", "login", "logout", "login"]
    assert got.tags == set()  # the attribute was removed: DynamoDB stores no empty set
    assert got.codes == {2, 5, 6}
    assert got.attrs == {"some key": 10, "new key": 11}
    assert got.address == Address(city="Rome")


def test_if_not_exists_and_list_append_on_absent_attributes(client, table_prefix):
    create_tables(client, table_prefix, Account)
    table = f"{table_prefix}accounts"
    client.put_item(TableName=table, Item=KEY)  # keys only: every other attribute is absent
    visits = P(lambda a: a.visits)
    bump = (
        visits.set(visits.if_not_exists(0) + 1)
        & P(lambda a: a.history).append("login")
        & P(lambda a: a.total).set(P(lambda a: a.total).if_not_exists(Decimal(10)) - 1)
        & P(lambda a: a.tags).add_elements("vip")
        & P(lambda a: a.codes).add({1})
        & P(lambda a: a.score).add(3)
    )
    params = _exact(render_expressions(update=bump, condition=P(lambda a: a.pk).exists()))
    assert params["UpdateExpression"] == (
        "SET visits = if_not_exists(visits, :v0) + :v1, "
        "history = list_append(if_not_exists(history, :v2), :v3), "
        "#total = if_not_exists(#total, :v4) - :v1 ADD tags :v5, codes :v6, score :v7"
    )
    for _ in range(2):
        client.update_item(TableName=table, Key=KEY, **params)
    got = from_item(Account, client.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"])
    assert got.visits == 2
    assert got.history == ["login", "login"]
    assert got.total == Decimal(8)
    assert (got.tags, got.codes, got.score) == ({"vip"}, {1}, 6)
    got = _update(client, table, P(lambda a: a.history).prepend("signup"))
    assert got.history == ["signup", "login", "login"]


def test_a_failed_condition_changes_nothing(client, table):
    update = P(lambda a: a.visits).add(1)
    params = _exact(render_expressions(update=update, condition=P(lambda a: a.status).eq("gone")))
    with pytest.raises(ClientError) as caught:
        client.update_item(TableName=table, Key=KEY, **params)
    assert caught.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    got = from_item(Account, client.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"])
    assert got == _account()
