"""Field names and stored attribute names on real backends: hostile names, `Attr`."""

from __future__ import annotations

from typing import Any

from dynamap import Session, from_item, projection, to_item
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
