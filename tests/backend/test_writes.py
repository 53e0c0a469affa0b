"""Conditional writes, updates, write-back of changed attributes and versions, on real backends.

Results are checked in the table itself (raw items), not only through dynamap.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import pytest

from dynamap import (
    Attr,
    ConditionFailedError,
    DynamapError,
    Model,
    PartitionKey,
    Session,
    SortKey,
    StaleDataError,
    Version,
)
from tests.support.tables import create_tables, scan_all

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")


class Account(Model, table="accounts"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"  # a reserved word
    visits: int = 0
    email: str | None = None
    tags: set[str] = set()
    user_id: Annotated[str, Attr("user-id")] = ""  # a stored name that needs a placeholder


class AccountName(Model, table="accounts"):
    """A view: the name only."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str


class Doc(Model, table="vdocs"):
    pk: Annotated[str, PartitionKey()]
    body: str
    version: Annotated[int, Version()] = 0


P = Account.path


@pytest.fixture
def tables(client, table_prefix):
    create_tables(client, table_prefix, Account, Doc)
    return table_prefix


def raw(client: Any, table: str, **key: str) -> dict[str, Any] | None:
    wire = {k: {"S": v} for k, v in key.items()}
    item: dict[str, Any] | None = client.get_item(
        TableName=table, Key=wire, ConsistentRead=True
    ).get("Item")
    return item


def spy(transport: Any, record: Callable[[str, dict[str, Any]], None]) -> None:
    """Record each request `transport` makes: through `call`, or `prepare` for a
    transport whose requests the sync driver prepares ahead (drivers/threads.py)."""
    for name in ("call", "prepare"):
        real = getattr(transport, name, None)
        if real is not None:
            setattr(transport, name, partial(_recorded, record, real))


def _recorded(
    record: Callable[[str, dict[str, Any]], None], real: Any, op: str, params: Any
) -> Any:
    record(op, params)
    return real(op, params)


def seed(client: Any, prefix: str) -> None:
    with Session(client, table_prefix=prefix) as s:
        s.put(Account(pk="a", sk="p", name="Ann", visits=1, email="a@x", tags={"x", "y"}))
    client.update_item(  # an attribute no model knows
        TableName=f"{prefix}accounts",
        Key={"pk": {"S": "a"}, "sk": {"S": "p"}},
        UpdateExpression="SET extra = :e",
        ExpressionAttributeValues={":e": {"S": "keep me"}},
    )


def test_a_view_writes_back_only_the_changed_attribute(client, tables):
    seed(client, tables)
    sent: list[tuple[str, dict[str, Any]]] = []
    with Session(client, table_prefix=tables) as s:
        spy(s.transport, lambda op, params: sent.append((op, params)))
        view = s.get(AccountName, "a", "p").result()
        assert view is not None
        view.name = "Anna"
    ((op, params),) = [c for c in sent if c[0] != "BatchGetItem"]
    assert op == "UpdateItem"
    assert params["UpdateExpression"] == "SET #name = :v0"
    assert params["ExpressionAttributeNames"] == {"#name": "name"}
    assert params["ExpressionAttributeValues"] == {":v0": {"S": "Anna"}}
    item = raw(client, f"{tables}accounts", pk="a", sk="p")
    assert item is not None
    assert item["name"] == {"S": "Anna"}
    assert item["extra"] == {"S": "keep me"}  # unknown to every model: untouched
    assert item["email"] == {"S": "a@x"} and item["visits"] == {"N": "1"}


def test_two_sessions_changing_different_attributes_both_keep_their_change(client, tables):
    seed(client, tables)
    one, two = (Session(client, table_prefix=tables) for _ in range(2))
    a, b = one.get(Account, "a", "p").result(), two.get(Account, "a", "p").result()
    assert a is not None and b is not None
    a.name, b.status = "Anna", "banned"
    one.flush()
    two.flush()
    item = raw(client, f"{tables}accounts", pk="a", sk="p")
    assert item is not None
    assert (item["name"], item["status"]) == ({"S": "Anna"}, {"S": "banned"})


def test_two_sessions_each_adding_one_add_two(client, tables):
    seed(client, tables)
    one, two = (Session(client, table_prefix=tables) for _ in range(2))
    a, b = one.get(Account, "a", "p").result(), two.get(Account, "a", "p").result()
    assert a is not None and b is not None
    first = one.update(a, P(lambda u: u.visits).add(1))
    second = two.update(b, P(lambda u: u.visits).add(1))
    one.flush()
    two.flush()
    assert first.result() is a and a.visits == 2  # refreshed from ALL_NEW
    assert second.result() is b and b.visits == 3
    item = raw(client, f"{tables}accounts", pk="a", sk="p")
    assert item is not None and item["visits"] == {"N": "3"}
    assert one.flush().requests == 0  # the refreshed instance is unchanged


def test_none_and_empty_set_remove_the_attribute(client, tables):
    seed(client, tables)
    with Session(client, table_prefix=tables) as s:
        account = s.get(Account, "a", "p").result()
        assert account is not None
        account.email = None
        account.tags = set()
    item = raw(client, f"{tables}accounts", pk="a", sk="p")
    assert item is not None
    assert "email" not in item and "tags" not in item and item["extra"] == {"S": "keep me"}


def test_create_only_put_on_an_existing_key_fails_and_the_rest_is_written(client, tables):
    seed(client, tables)
    with Session(client, table_prefix=tables) as s:
        s.put(Account(pk="a", sk="p", name="Impostor"), condition=P(lambda u: u.pk).not_exists())
        for i in range(3):
            s.put(Account(pk=f"n{i}", sk="p", name="new"))
        s.put(Account(pk="c", sk="p", name="C"), condition=P(lambda u: u.pk).not_exists())
        with pytest.raises(ConditionFailedError) as info:
            s.flush()
    error = info.value
    assert not isinstance(error, StaleDataError)
    (failure,) = error.failures
    assert (failure.operation, failure.key) == ("put", {"pk": {"S": "a"}, "sk": {"S": "p"}})
    assert isinstance(failure.current, Account) and failure.current.name == "Ann"
    assert failure.instance.name == "Impostor"
    assert error.unprocessed == [] and error.unknown == []
    names = {i["pk"]["S"]: i["name"]["S"] for i in scan_all(client, f"{tables}accounts")}
    assert names == {"a": "Ann", "n0": "new", "n1": "new", "n2": "new", "c": "C"}


def test_conditional_delete_and_delete_key(client, tables):
    seed(client, tables)
    with Session(client, table_prefix=tables) as s:
        s.put(Account(pk="b", sk="p", name="Bob", status="banned"))
    with Session(client, table_prefix=tables) as s:
        a, b = s.get(Account, "a", "p").result(), s.get(Account, "b", "p").result()
        assert a is not None and b is not None
        banned = P(lambda u: u.status).eq("banned")
        s.delete(a, condition=banned)
        s.delete(b, condition=banned)
        with pytest.raises(ConditionFailedError) as info:
            s.flush()
    assert [f.key["pk"]["S"] for f in info.value.failures] == ["a"]
    assert raw(client, f"{tables}accounts", pk="b", sk="p") is None
    with Session(client, table_prefix=tables) as s:
        s.delete_key(Account, "a", "p")
    assert scan_all(client, f"{tables}accounts") == []


def test_update_key_with_and_without_create(client, tables):
    with Session(client, table_prefix=tables) as s:
        made = s.update_key(
            Account, ("u", "p"), P(lambda u: u.visits).add(5) & P(lambda u: u.name).set("U")
        )
        s.flush()
        account = made.result()
        assert account is not None and (account.visits, account.name) == (5, "U")
        assert s.get(Account, "u", "p").result() is account  # tracked like a loaded one
    with Session(client, table_prefix=tables) as s:
        s.update_key(Account, ("nobody", "p"), P(lambda u: u.visits).add(1), create=False)
        with pytest.raises(ConditionFailedError) as info:
            s.flush()
    assert info.value.failures[0].current is None
    assert raw(client, f"{tables}accounts", pk="nobody", sk="p") is None


def test_conditions_and_updates_on_reserved_and_attr_named_fields(client, tables):
    seed(client, tables)
    sent: list[dict[str, Any]] = []
    with Session(client, table_prefix=tables) as s:
        spy(s.transport, lambda op, params: sent.append(params))
        account = s.get(Account, "a", "p").result()
        assert account is not None
        s.update(
            account,
            P(lambda u: u.user_id).set("id-1") & P(lambda u: u.status).set("vip"),
            condition=P(lambda u: u.status).eq("active") & P(lambda u: u.user_id).eq(""),
        )
    params = sent[-1]
    expressions = params["UpdateExpression"] + " " + params["ConditionExpression"]
    for placeholder in (*params["ExpressionAttributeNames"], *params["ExpressionAttributeValues"]):
        assert placeholder in expressions
    item = raw(client, f"{tables}accounts", pk="a", sk="p")
    assert item is not None
    assert (item["user-id"], item["status"]) == ({"S": "id-1"}, {"S": "vip"})


def test_a_stale_versioned_write_raises_and_keeps_the_first(client, tables):
    with Session(client, table_prefix=tables) as s:
        s.put(Doc(pk="d", body="v1"))
    one, two = (Session(client, table_prefix=tables) for _ in range(2))
    a, b = one.get(Doc, "d").result(), two.get(Doc, "d").result()
    assert a is not None and b is not None and a.version == b.version == 1
    a.body, b.body = "from A", "from B"
    one.flush()
    assert a.version == 2  # advanced once done
    with pytest.raises(StaleDataError) as info:
        two.flush()
    (failure,) = info.value.failures
    assert failure.stale and failure.current.version == 2 and failure.current.body == "from A"
    assert b.version == 1  # not advanced: the write failed
    item = raw(client, f"{tables}vdocs", pk="d")
    assert item is not None and item["body"] == {"S": "from A"} and item["version"] == {"N": "2"}


def test_a_new_versioned_instance_is_create_only(client, tables):
    with Session(client, table_prefix=tables) as s:
        s.put(Doc(pk="d", body="first"))
    with Session(client, table_prefix=tables) as s:
        s.put(Doc(pk="d", body="second"))
        with pytest.raises(StaleDataError):
            s.flush()
    with Session(client, table_prefix=tables) as s:
        doc = s.get(Doc, "d").result()
        assert doc is not None and doc.body == "first"
        s.delete(doc)
    assert scan_all(client, f"{tables}vdocs") == []


def test_write_back_put_is_refused_for_a_view(client, tables):
    seed(client, tables)
    s = Session(client, table_prefix=tables, write_back="put")
    view = s.get(AccountName, "a", "p").result()
    assert view is not None
    view.name = "Anna"
    with pytest.raises(DynamapError, match="write_back"):
        s.flush()
    s.close()


def test_a_conditional_write_cannot_replace_another_write_of_its_key(client, tables):
    with Session(client, table_prefix=tables) as s:
        account = Account(pk="a", sk="p", name="Ann")
        s.put(account)
        with pytest.raises(DynamapError, match="flush first"):
            s.update(account, P(lambda u: u.visits).add(1))
