"""Adversarial: batched puts by the JSON shortcut, on real backends and through faults."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest

from dynamap import FlushError, Model, PartitionKey, RetryPolicy, Session, from_item, to_item
from tests.support.faultproxy import DropAfter, DropBefore, ServerError, Throttle
from tests.support.tables import create_tables, scan_all
from tests.unit.session.test_raw_adversarial import Wild, _cases


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        if "SS" in value:
            return {"SS": sorted(value["SS"])}
        return {k: Decimal(v) if k == "N" else _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


def test_hostile_names_and_limit_numbers_read_back_as_written(client, table_prefix):
    create_tables(client, table_prefix, Wild)
    cases = [c for c in _cases() if c.sk != 14]  # 5e-324: refused before sending
    with Session(client, table_prefix=table_prefix) as s:
        for c in cases:
            s.put(c)
    stored = scan_all(client, f"{table_prefix}wild")
    assert len(stored) == len(cases)
    by_key = {(i['p"k\\']["S"], i["s\x01k😀"]["N"]): i for i in stored}
    for c in cases:
        item = by_key[(c.pk, str(c.sk))]
        assert _canon(item) == _canon(to_item(c))  # numbers are stored canonically
        assert from_item(Wild, item).model_dump(exclude={"d", "h", "m"}) == c.model_dump(
            exclude={"d", "h", "m"}
        )


class Row(Model, table="rawrows"):
    pk: Annotated[str, PartitionKey()]
    text: str = ""
    n: int = 0


TIGHT = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, deadline=20.0)


@pytest.mark.parametrize("fault", [Throttle, ServerError, DropBefore, DropAfter])
def test_every_shortcut_put_is_accounted_for(
    proxy, proxy_client, direct_client, table_prefix, fault
):
    create_tables(direct_client, table_prefix, Row)
    rows = [Row(pk=f"r{i}", text='q"\\\x00😀' * i, n=i) for i in range(60)]
    proxy.enqueue(*[fault() for _ in range(6)])
    s = Session(proxy_client, table_prefix=table_prefix, retry=TIGHT)
    for r in rows:
        s.put(r)
    handed: dict[str, str] = {}
    try:
        s.flush()
    except FlushError as exc:
        for u in exc.unprocessed:
            assert u.instance is not None and u.item == to_item(u.instance)
            handed[u.instance.pk] = "not done"
        for u in exc.unknown:
            assert u.instance is not None and u.item == to_item(u.instance)
            handed[u.instance.pk] = "unknown"
    stored = {i["pk"]["S"]: i for i in scan_all(direct_client, f"{table_prefix}rawrows")}
    for r in rows:
        if r.pk in stored:
            assert from_item(Row, stored[r.pk]) == r
            assert handed.get(r.pk) in (None, "unknown")
        else:
            assert r.pk in handed, r.pk
    s.close()
