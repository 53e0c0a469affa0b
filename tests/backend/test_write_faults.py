"""Conditional, versioned and update writes through the fault proxy, in front of DynamoDB Local.

Every write must end exactly once: done, failed with its reason, not done, or of unknown
outcome; and the table must agree (checked directly, not through dynamap). An increment
is never applied twice.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from dynamap import (
    FlushError,
    Model,
    PartitionKey,
    RetryPolicy,
    Session,
    Version,
)
from tests.support.faultproxy import DropAfter, FaultPlan, ServerError, Throttle
from tests.support.faults import ALL_OPS
from tests.support.tables import create_tables, scan_all

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")


class Counter(Model, table="wcounters"):
    pk: Annotated[str, PartitionKey()]
    n: int = 0
    label: str = ""


class Page(Model, table="wpages"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""
    version: Annotated[int, Version()] = 0


C = Counter.path
MIXED = FaultPlan(
    throttle=0.1, server_error=0.08, drop_before=0.05, drop_after=0.08, operations=ALL_OPS, seed=5
)
TIGHT = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=30.0)


@pytest.fixture
def tables(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, Counter, Page)
    return table_prefix


def stored(client: Any, table: str) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in scan_all(client, table)}


def test_the_proxy_counts_and_faults_single_item_writes(proxy, proxy_client, direct_client, tables):
    proxy.set_plan(FaultPlan(operations=ALL_OPS))  # scripted faults for single writes too
    proxy.enqueue(Throttle(), ServerError())
    with Session(proxy_client, table_prefix=tables) as s:
        s.put(Page(pk="p"))
    # Throttled, then a 500 (unclear), then retried: a put is resent even so, and here it
    # finds the key free (the proxy never forwarded the first two), so it is done.
    assert proxy.counts.faults["throttle"] == 1 and proxy.counts.faults["server_error"] == 1
    assert proxy.counts.items["PutItem"] == 3
    (item,) = scan_all(direct_client, f"{tables}wpages")
    assert item["version"] == {"N": "1"}


def test_versioned_changes_go_one_by_one_and_plain_puts_in_batches(
    proxy, proxy_client, direct_client, tables
):
    with Session(proxy_client, table_prefix=tables) as s:
        for i in range(30):
            s.put(Counter(pk=f"c{i}"))
            s.put(Page(pk=f"p{i}"))
    assert proxy.counts.requests["BatchWriteItem"] == 2  # the 30 plain puts
    assert proxy.counts.requests["PutItem"] == 30  # versioned: create-only, one by one
    with Session(proxy_client, table_prefix=tables) as s:
        pages = [s.get(Page, f"p{i}") for i in range(30)]
        s.flush()
        proxy.reset_counts()
        for page in pages:
            page.result().body = "changed"  # type: ignore[union-attr]
    assert proxy.counts.requests["UpdateItem"] == 30
    assert proxy.counts.requests["BatchWriteItem"] == 0
    assert {i["version"]["N"] for i in scan_all(direct_client, f"{tables}wpages")} == {"2"}


def test_every_conditional_and_versioned_write_ends_exactly_once_under_faults(
    proxy, proxy_client, direct_client, tables
):
    counters, pages = f"{tables}wcounters", f"{tables}wpages"
    for i in range(40):
        direct_client.put_item(TableName=counters, Item={"pk": {"S": f"old{i}"}, "n": {"N": "0"}})
        direct_client.put_item(
            TableName=pages,
            Item={"pk": {"S": f"page{i}"}, "body": {"S": "v1"}, "version": {"N": "1"}},
        )
    s = Session(proxy_client, table_prefix=tables, retry=TIGHT)
    loaded = [s.get(Page, f"page{i}") for i in range(40)]
    s.flush()
    proxy.set_plan(MIXED)
    proxy.enqueue(DropAfter(), ServerError(), DropAfter())
    fresh = C(lambda c: c.pk).not_exists()
    expected: dict[str, str] = {}  # key -> what done means
    for i in range(20):
        s.put(Counter(pk=f"new{i}", label="created"), condition=fresh)  # done: created
        expected[f"new{i}"] = "created"
        s.put(Counter(pk=f"old{i}", label="clobbered"), condition=fresh)  # must fail
        expected[f"old{i}"] = "fails"
    for i in range(20, 40):
        s.update_key(Counter, f"old{i}", C(lambda c: c.n).add(1), create=False)
        expected[f"old{i}"] = "incremented"
    for deferred in loaded:
        page = deferred.result()
        assert page is not None
        page.body = "v2"
    outcome: dict[str, str] = {}
    try:
        s.flush()
    except FlushError as error:
        for kind, entries in (("not done", error.unprocessed), ("unknown", error.unknown)):
            for u in entries:
                assert u.key["pk"]["S"] not in outcome
                outcome[u.key["pk"]["S"]] = kind
        for f in error.failures:
            assert f.key["pk"]["S"] not in outcome
            outcome[f.key["pk"]["S"]] = "failed"
            assert f.current is not None and f.current.label == ""  # the stored item
    assert proxy.counts.faults["drop_after"] > 0 and proxy.counts.faults["server_error"] > 0
    assert "unknown" in outcome.values()
    now_counters, now_pages = stored(direct_client, counters), stored(direct_client, pages)
    for pk, meaning in expected.items():
        item, state = now_counters.get(pk), outcome.get(pk, "done")
        if meaning == "created":
            applied = item is not None and item["label"] == {"S": "created"}
            assert applied == (state == "done") or state == "unknown", (pk, state)
        elif meaning == "fails":  # never applied, whatever happened
            assert item is not None and item.get("label") is None, pk
            assert state in ("failed", "not done", "unknown"), (pk, state)
        else:
            assert item is not None
            n = int(item["n"]["N"])
            assert n in (0, 1), (pk, n)  # never twice
            assert (n == 1) == (state == "done") or state == "unknown", (pk, state, n)
    for i in range(40):
        pk, state = f"page{i}", outcome.get(f"page{i}", "done")
        version = now_pages[pk]["version"]["N"]
        assert state != "failed", pk  # nobody else wrote: no stale version
        if state == "done":
            assert (version, now_pages[pk]["body"]["S"]) == ("2", "v2"), pk
            assert loaded[i].result().version == 2  # type: ignore[union-attr]
        elif state == "not done":
            assert version == "1", pk
        else:
            assert version in ("1", "2"), pk
    assert proxy.counts.items["UpdateItem"] >= 60 and proxy.counts.requests["BatchWriteItem"] == 0
