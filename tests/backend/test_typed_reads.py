"""Reads straight into models (codec/wireread.py) on real backends, both transports.

On the fast transports a flush's BatchGetItem answers are read by the model's reader;
botocore's path never is. Either way the instances are the same, and an item another
client wrote as another type fails its own read only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import pytest

from _dynamap.codec.wireread import ItemReader
from dynamap import DecodeError, Model, PartitionKey, Session, SortKey
from tests.support.tables import create_tables

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")


class Reading(Model, table="typed-readings"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    label: str
    value: float
    exact: Decimal
    ok: bool
    tags: set[str]
    history: list[int]
    extra: dict[str, Any] = {}
    note: str | None = None
    at: dt.datetime


def reading(i: int) -> Reading:
    return Reading(
        pk=f"p{i % 3}",
        sk=i,
        label=f"label {i}",
        value=i / 7,
        exact=Decimal(i).scaleb(-2),
        ok=i % 2 == 0,
        tags={f"t{i}", "all"},
        history=list(range(i % 5 + 1)),
        extra={"i": i, "nested": {"on": True, "list": ["a", i]}},
        note=None if i % 3 else f"note {i}",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=i),
    )


@pytest.fixture
def tables(client, table_prefix):
    create_tables(client, table_prefix, Reading)
    return table_prefix


@pytest.fixture
def built(monkeypatch) -> list[Any]:
    """Every instance an ItemReader builds in this test."""
    seen: list[Any] = []
    instance = ItemReader.instance

    def spy(self: ItemReader, item: Any) -> Any:
        seen.append(made := instance(self, item))
        return made

    monkeypatch.setattr(ItemReader, "instance", spy)
    return seen


def test_a_flush_reads_items_straight_into_models_on_the_fast_transport(
    client, tables, built, dynamap_transport
):
    written = [reading(i) for i in range(250)]  # three BatchGetItem requests
    with Session(client, table_prefix=tables) as session:
        for item in written:
            session.put(item)
    with Session(client, table_prefix=tables) as session:
        deferreds = [session.get(Reading, r.pk, r.sk) for r in written]
        session.flush()
        read = [d.result() for d in deferreds]
    assert read == written
    # What was stored is set; a None note is not stored, so it reads as the default.
    assert [r.model_fields_set for r in read] == [
        w.model_fields_set - ({"note"} if w.note is None else set()) for w in written
    ]
    if dynamap_transport == "fast":
        assert len(built) == len(written) and {id(b) for b in built} == {id(r) for r in read}
    else:
        assert not built  # botocore's path parses and decodes the general way


def test_an_item_of_another_type_fails_alone(client, tables, built, dynamap_transport):
    written = [reading(i) for i in range(5)]
    with Session(client, table_prefix=tables) as session:
        for item in written:
            session.put(item)
    bad = {"pk": {"S": "p9"}, "sk": {"N": "9"}, "label": {"N": "1"}}  # another client's item
    client.put_item(TableName=tables + "typed-readings", Item=bad)
    with Session(client, table_prefix=tables) as session:
        good = [session.get(Reading, r.pk, r.sk) for r in written]
        odd = session.get(Reading, "p9", 9)
        session.flush()
        assert [d.result() for d in good] == written
        with pytest.raises(DecodeError, match="Reading"):
            odd.result()
    assert not built  # the answer held an odd item: all of it took the general path
