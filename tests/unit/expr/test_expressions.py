"""Rendering of typed conditions and updates: exact expressions and placeholder maps."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pytest

from dynamap import (
    Condition,
    DynamapError,
    EncodeError,
    Model,
    PartitionKey,
    Update,
    render_expressions,
)
from tests.support.expr_models import Account, Address

P = Account.path


def test_comparisons_render_with_value_placeholders():
    status = P(lambda a: a.status)
    cases = [
        (status.eq("x"), "#status = :v0"),
        (status.ne("x"), "#status <> :v0"),
        (P(lambda a: a.visits).lt(3), "visits < :v0"),
        (P(lambda a: a.visits).le(3), "visits <= :v0"),
        (P(lambda a: a.visits).gt(3), "visits > :v0"),
        (P(lambda a: a.visits).ge(3), "visits >= :v0"),
    ]
    for condition, expected in cases:
        params = render_expressions(condition=condition)
        assert params["ConditionExpression"] == expected
        assert len(params["ExpressionAttributeValues"]) == 1
    assert render_expressions(condition=status.eq("x")) == {
        "ConditionExpression": "#status = :v0",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":v0": {"S": "x"}},
    }


def test_between_in_and_functions():
    visits = P(lambda a: a.visits)
    assert render_expressions(condition=visits.between(1, 9)) == {
        "ConditionExpression": "visits BETWEEN :v0 AND :v1",
        "ExpressionAttributeValues": {":v0": {"N": "1"}, ":v1": {"N": "9"}},
    }
    params = render_expressions(condition=P(lambda a: a.name).is_in("a", "b", "a"))
    assert params["ConditionExpression"] == "#name IN (:v0, :v1, :v0)"  # equal values share
    assert params["ExpressionAttributeValues"] == {":v0": {"S": "a"}, ":v1": {"S": "b"}}
    email = P(lambda a: a.email)
    assert render_expressions(condition=email.exists()) == {
        "ConditionExpression": "attribute_exists(email)"
    }
    assert str(email.not_exists()) == "attribute_not_exists(email)"
    assert render_expressions(condition=P(lambda a: a.sk).begins_with("order#")) == {
        "ConditionExpression": "begins_with(sk, :v0)",
        "ExpressionAttributeValues": {":v0": {"S": "order#"}},
    }
    raw = render_expressions(condition=P(lambda a: a.raw).begins_with(b"\x00"))
    assert raw["ExpressionAttributeValues"] == {":v0": {"B": b"\x00"}}
    contains = [
        (P(lambda a: a.tags).contains("vip"), {"S": "vip"}),
        (P(lambda a: a.codes).contains(7), {"N": "7"}),
        (P(lambda a: a.history).contains("login"), {"S": "login"}),
        (P(lambda a: a.name).contains("nn"), {"S": "nn"}),
    ]
    for condition, value in contains:
        assert render_expressions(condition=condition)["ExpressionAttributeValues"] == {
            ":v0": value
        }
    size = P(lambda a: a.tags).size().gt(2)
    assert render_expressions(condition=size)["ConditionExpression"] == "size(tags) > :v0"


def test_combinators_group_and_flatten():
    a = P(lambda x: x.status).eq("active")
    b = P(lambda x: x.email).exists()
    c = P(lambda x: x.visits).gt(3)
    cond = (a & b) | ~c
    assert str(cond) == "(status = ? AND attribute_exists(email)) OR NOT (visits > ?)"
    assert repr(cond).startswith("Condition((status = ?")
    assert str(a & b & c) == "status = ? AND attribute_exists(email) AND visits > ?"
    assert str(a & (b | c)) == "status = ? AND (attribute_exists(email) OR visits > ?)"
    assert str(~~c) == "visits > ?"
    with pytest.raises(TypeError, match="combine conditions with &"):
        bool(a)
    with pytest.raises(TypeError, match="combine conditions with &"):
        _ = a and b


def test_one_allocator_for_every_expression_of_a_request():
    params = render_expressions(
        key_condition=P(lambda a: a.pk).eq("u#1") & P(lambda a: a.sk).begins_with("o#"),
        filter=P(lambda a: a.status).eq("active"),
        projection=[P(lambda a: a.address).at(lambda d: d.city), "pk", "name", "pk"],
    )
    assert params == {
        "KeyConditionExpression": "pk = :v0 AND begins_with(sk, :v1)",
        "FilterExpression": "#status = :v2",
        "ProjectionExpression": "address.city, pk, #name",
        "ExpressionAttributeNames": {"#status": "status", "#name": "name"},
        "ExpressionAttributeValues": {
            ":v0": {"S": "u#1"},
            ":v1": {"S": "o#"},
            ":v2": {"S": "active"},
        },
    }
    with pytest.raises(ValueError, match="at least one"):
        render_expressions(projection=[])
    assert render_expressions() == {}


def test_update_actions_group_into_one_expression():
    visits = P(lambda a: a.visits)
    update = (
        visits.set(visits.if_not_exists(0) + 1)
        & P(lambda a: a.history).append("login")
        & P(lambda a: a.email).remove()
        & P(lambda a: a.total).add(Decimal("2.5"))
        & P(lambda a: a.codes).delete_elements(3)
        & P(lambda a: a.tags).add_elements("vip")
        & P(lambda a: a.ratio).set(P(lambda a: a.ratio) - 0.5)
        & P(lambda a: a.name).set("Ann")
    )
    params = render_expressions(condition=P(lambda a: a.name).eq("Ann"), update=update)
    assert params == {
        "ConditionExpression": "#name = :v0",
        "UpdateExpression": (
            "SET visits = if_not_exists(visits, :v1) + :v2, "
            "history = list_append(if_not_exists(history, :v3), :v4), "
            "ratio = ratio - :v5, #name = :v0 "
            "REMOVE email ADD #total :v6, tags :v7 DELETE codes :v8"
        ),
        "ExpressionAttributeNames": {"#name": "name", "#total": "total"},
        "ExpressionAttributeValues": {
            ":v0": {"S": "Ann"},
            ":v1": {"N": "0"},
            ":v2": {"N": "1"},
            ":v3": {"L": []},
            ":v4": {"L": [{"S": "login"}]},
            ":v5": {"N": "0.5"},
            ":v6": {"N": "2.5"},
            ":v7": {"SS": ["vip"]},
            ":v8": {"NS": ["3"]},
        },
    }
    assert str(P(lambda a: a.history).prepend("a", "b")) == (
        "SET history = list_append(?, if_not_exists(history, ?))"
    )
    assert repr(update).startswith("Update(SET visits = if_not_exists(visits, ?) + ?")
    assert str(Update.all(P(lambda a: a.name).set("x"), visits.add(1))) == (
        "SET name = ? ADD visits ?"
    )


def test_none_and_empty_sets_become_remove():
    assert str(P(lambda a: a.email).set(None)) == "REMOVE email"
    assert str(P(lambda a: a.tags).set(set())) == "REMOVE tags"
    assert str(P(lambda a: a.address).at(lambda d: d.zip).set(None)) == "REMOVE address.zip"
    # inside maps and lists a None is stored as NULL: the key or position stays
    params = render_expressions(update=P(lambda a: a.extra["k"]).set(None))
    assert params["UpdateExpression"] == "SET extra.#k = :v0"
    assert params["ExpressionAttributeValues"] == {":v0": {"NULL": True}}
    address = Address(city="Oslo")
    params = render_expressions(update=P(lambda a: a.address).set(address))
    assert params["ExpressionAttributeValues"] == {":v0": {"M": {"city": {"S": "Oslo"}}}}


def test_overlapping_paths_are_refused_when_combined():
    address = P(lambda a: a.address)
    city = address.at(lambda d: d.city)
    with pytest.raises(DynamapError, match=r"overlapping paths: address and address\.city"):
        address.set(None) & city.set("Oslo")
    with pytest.raises(DynamapError, match="overlapping paths: visits and visits"):
        P(lambda a: a.visits).add(1) & P(lambda a: a.visits).set(3)
    with pytest.raises(DynamapError, match="overlapping"):
        Update.all(P(lambda a: a.extra["k"]).remove(), P(lambda a: a.extra).set({}))
    # siblings do not overlap, however their names sort
    ok = P(lambda a: a.extra["a"]).set(1) & P(lambda a: a.extra["a b"]).set(2)
    assert str(ok) == 'SET extra.a = ?, extra."a b" = ?'
    ok = P(lambda a: a.extra["l"][1]).set(1) & P(lambda a: a.extra["l"]["1"]).set(2)
    assert str(ok) == 'SET extra.l[1] = ?, extra.l."1" = ?'


def test_names_reserved_words_stored_names_and_map_keys():
    update = (
        P(lambda a: a.user_id).set("u")
        & P(lambda a: a.nick).set("n")
        & P(lambda a: a.attrs["some key"]).set(1)
        & P(lambda a: a.attrs["plain"]).set(2)
        & P(lambda a: a.data).set("d")
    )
    params = render_expressions(update=update)
    assert params["UpdateExpression"] == (
        "SET #user_id_v2 = :v0, #nick_name = :v1, attrs.#some_key = :v2, "
        "attrs.#plain = :v3, #data = :v4"
    )
    assert params["ExpressionAttributeNames"] == {
        "#user_id_v2": "user-id.v2",
        "#nick_name": "nick-name",
        "#some_key": "some key",
        "#plain": "plain",  # a key from data is a placeholder even when it looks plain
        "#data": "data",
    }
    # no user value ever appears in an expression or its readable form
    secret = "s3cr3t value"
    cond = P(lambda a: a.name).eq(secret) | P(lambda a: a.attrs[secret]).exists()
    params = render_expressions(condition=cond)
    assert secret not in params["ConditionExpression"]
    assert secret not in str(P(lambda a: a.name).set(secret))


def test_wrong_values_fail_when_built_naming_model_and_path():
    cases = [
        (lambda: P(lambda a: a.visits).eq("3"), r"Account\.visits: .*valid integer"),  # type: ignore[arg-type]
        (lambda: P(lambda a: a.visits).eq(True), r"Account\.visits: .*valid integer"),
        (lambda: P(lambda a: a.ratio).set(float("nan")), r"Account\.ratio: .*finite"),
        (lambda: P(lambda a: a.total).add(Decimal("1" * 39)), r"Account\.total: .*38"),
        (lambda: P(lambda a: a.visits).set(10**40 + 1), r"Account\.visits: .*38"),
        (lambda: P(lambda a: a.score).set(-1), r"Account\.score: .*greater than or equal"),
        (lambda: P(lambda a: a.tags).contains(3), r"Account\.tags\[\]: .*valid string"),  # type: ignore[arg-type]
        (lambda: P(lambda a: a.attrs["k"]).eq("x"), r"Account\.attrs\['k'\]: .*integer"),  # type: ignore[arg-type]
        (lambda: P(lambda a: a.address).at(lambda d: d.zip).gt("1"), r"address\.zip"),  # type: ignore[arg-type]
        (lambda: P(lambda a: a.email).eq(None), r"Account\.email: .*use not_exists"),
        (lambda: P(lambda a: a.tags).add(set()), r"Account\.tags: ADD needs a stored value"),
    ]
    for build, message in cases:
        with pytest.raises(EncodeError, match=message):
            build()
    # an int is a fine Decimal; numbers are written in DynamoDB's canonical form
    params = render_expressions(update=P(lambda a: a.total).set(P(lambda a: a.total) + 2))
    assert params["ExpressionAttributeValues"] == {":v0": {"N": "2"}}


def test_actions_only_where_they_apply():
    with pytest.raises(DynamapError, match=r"Account\.pk is a key attribute"):
        P(lambda a: a.pk).set("x")
    with pytest.raises(DynamapError, match="append and prepend need a list"):
        P(lambda a: a.status).append("x")  # type: ignore[misc]
    with pytest.raises(DynamapError, match="begins_with needs a str or bytes"):
        P(lambda a: a.visits).begins_with("x")  # type: ignore[misc]
    with pytest.raises(DynamapError, match="ADD needs a number or a set"):
        P(lambda a: a.name).add(1)  # type: ignore[call-overload]
    with pytest.raises(DynamapError, match="needs a set attribute"):
        P(lambda a: a.history).add_elements("x")  # type: ignore[misc]
    with pytest.raises(DynamapError, match="at least one element"):
        P(lambda a: a.tags).add_elements()
    with pytest.raises(DynamapError, match="`\\+` needs a number"):
        P(lambda a: a.name) + 1  # type: ignore[operator]
    with pytest.raises(DynamapError, match="compares the path with itself"):
        P(lambda a: a.visits).gt(P(lambda a: a.visits))
    with pytest.raises(DynamapError, match="IN takes 1 to 100"):
        P(lambda a: a.visits).is_in(*range(101))
    with pytest.raises(DynamapError, match="not a nested model"):
        P(lambda a: a.visits).at(lambda v: v.real)  # type: ignore[misc]


def test_required_fields_cannot_be_removed():
    class Strict(Model, table="strict"):
        key: Annotated[str, PartitionKey()]
        must: str
        pk: str = ""

    with pytest.raises(DynamapError, match="required field"):
        Strict.path(lambda s: s.must).remove()
    assert str(Strict.path(lambda s: s.pk).remove()) == "REMOVE pk"


def test_selectors_reach_stored_fields_only():
    bad = {
        "model_dump": lambda a: a.model_dump,
        "label": lambda a: a.label,  # a property
        "greet": lambda a: a.greet,  # a method
        "by_status": lambda a: a.by_status,  # an index ClassVar
    }
    for name, select in bad.items():
        with pytest.raises(DynamapError, match=f"'{name}' is not a stored field of Account"):
            P(select)
    with pytest.raises(DynamapError, match="cannot call methods"):
        P(lambda a: a.greet())
    with pytest.raises(DynamapError, match="is set"):
        P(lambda a: a.tags[0])  # type: ignore[index]
    with pytest.raises(DynamapError, match="is str"):
        P(lambda a: a.status.upper)
    with pytest.raises(DynamapError, match="count from 0"):
        P(lambda a: a.history[-1])
    with pytest.raises(DynamapError, match="index it with a str key"):
        P(lambda a: a.attrs[0])  # type: ignore[index]
    with pytest.raises(DynamapError, match="must return an attribute"):
        P(lambda a: a)
    assert isinstance(P(lambda a: a.history[2]).eq("x"), Condition)
