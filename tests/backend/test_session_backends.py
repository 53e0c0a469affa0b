"""The Session against real backends: moto in-process and DynamoDB Local."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pytest

from dynamap import (
    InvalidKeyError,
    ItemTooLargeError,
    Model,
    PartitionKey,
    Session,
    SortKey,
    TableNotFoundError,
)
from tests.support.tables import create_tables, scan_all

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"
    tags: set[str] = set()


class UserStatus(Model, table="users"):
    """A view of User: same table, fewer attributes."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    status: str = ""


class Reading(Model, table="readings"):
    pk: Annotated[Decimal, PartitionKey()]
    value: str = ""


@pytest.fixture
def tables(client, table_prefix):
    create_tables(client, table_prefix, User, Reading)
    return table_prefix


def test_write_then_read_back(client, tables):
    with Session(client, table_prefix=tables) as s:
        for i in range(130):
            s.put(User(pk=f"u{i}", sk="profile", name=f"name {i}", tags={"t", str(i)}))
        report = s.flush()
    assert report.items_written == 130
    assert report.requests == 6
    assert len(scan_all(client, f"{tables}users")) == 130
    with Session(client, table_prefix=tables) as s:
        found = [s.get(User, f"u{i}", "profile") for i in range(140)]
        report = s.flush()
        assert (report.items_read, report.items_not_found) == (130, 10)
        for i, d in enumerate(found[:130]):
            assert d.result() == User(
                pk=f"u{i}", sk="profile", name=f"name {i}", tags={"t", str(i)}
            )
        assert all(d.result() is None for d in found[130:])
        assert report.consumed_capacity.get(f"{tables}users", 0) > 0


def test_full_model_and_view_in_one_flush(client, tables):
    with Session(client, table_prefix=tables) as s:
        s.put(User(pk="u", sk="p", name="Ann", status="gold"))
    with Session(client, table_prefix=tables) as s:
        full = s.get(User, "u", "p")
        view = s.get(UserStatus, "u", "p")
        report = s.flush()
        assert report.requests == 1
        assert full.result() == User(pk="u", sk="p", name="Ann", status="gold")
        assert view.result() == UserStatus(pk="u", sk="p", status="gold")


def test_delete_and_write_back(client, tables):
    with Session(client, table_prefix=tables) as s:
        s.put(User(pk="a", sk="p", name="A"))
        s.put(User(pk="b", sk="p", name="B"))
    with Session(client, table_prefix=tables) as s:
        a = s.get(User, "a", "p").result()
        b = s.get(User, "b", "p").result()
        assert a is not None and b is not None
        a.name = "changed"
        s.delete(b)
    items = {i["pk"]["S"]: i for i in scan_all(client, f"{tables}users")}
    assert set(items) == {"a"}
    assert items["a"]["name"] == {"S": "changed"}


def test_numeric_keys_match_in_any_spelling(client, tables):
    with Session(client, table_prefix=tables) as s:
        s.put(Reading(pk=Decimal("1.50"), value="one and a half"))
        s.put(Reading(pk=Decimal("-0"), value="zero"))
        s.put(Reading(pk=Decimal("1E2"), value="hundred"))
    stored = sorted(i["pk"]["N"] for i in scan_all(client, f"{tables}readings"))
    assert stored == ["0", "1.5", "100"]
    with Session(client, table_prefix=tables) as s:
        a = s.get(Reading, Decimal("1.5"))
        zero = s.get(Reading, Decimal("0.000"))
        hundred = s.get(Reading, 100)
        s.flush()
        assert a.result() is not None and a.result().value == "one and a half"  # type: ignore[union-attr]
        assert zero.result() is not None and zero.result().value == "zero"  # type: ignore[union-attr]
        assert hundred.result() is not None and hundred.result().pk == 100  # type: ignore[union-attr]


def test_exception_in_block_writes_nothing(client, tables):
    with pytest.raises(RuntimeError), Session(client, table_prefix=tables) as s:
        s.put(User(pk="x", sk="p", name="X"))
        raise RuntimeError
    assert scan_all(client, f"{tables}users") == []


def test_missing_table_is_named(client, tables):
    s = Session(client, table_prefix=tables + "nope-")
    s.put(User(pk="x", sk="p", name="X"))
    with pytest.raises(TableNotFoundError, match=r"BatchWriteItem on table '.*nope-users'") as info:
        s.flush()
    assert [u.key["pk"] for u in info.value.unprocessed] == [{"S": "x"}]


def test_bad_input_is_refused_before_sending(client, tables):
    with pytest.raises(ItemTooLargeError), Session(client, table_prefix=tables) as s:
        s.put(User(pk="fine", sk="p", name="x"))
        s.put(User(pk="big", sk="p", name="x" * 410_000))
        with pytest.raises(InvalidKeyError, match="cannot be empty"):
            s.put(User(pk="", sk="p", name="x"))
        with pytest.raises(InvalidKeyError, match="expected 2"):
            s.get(User, "only-pk")
    assert scan_all(client, f"{tables}users") == []  # the flush on exit sent nothing
