"""The Session through the fault-injecting proxy in front of DynamoDB Local.

Every item must be accounted for: written items are checked directly in the table
(not through dynamap), and every deferred read must be right.
"""

from __future__ import annotations

import random
import time
from typing import Annotated

import pytest

from dynamap import (
    Model,
    PartitionKey,
    RetryPolicy,
    Session,
    SortKey,
    UnprocessedError,
)
from tests.support.ddblocal import make_client
from tests.support.faultproxy import FaultPlan
from tests.support.tables import create_tables, scan_all


class Doc(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    body: str = ""
    n: int = 0


class Tag(Model, table="tags"):
    pk: Annotated[str, PartitionKey()]
    label: str = ""


# A tight budget keeps tests quick; the defaults are exercised in the engine's unit tests.
FAST = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.2, deadline=60.0)


@pytest.fixture
def bare_client(proxy):
    """A client through the proxy with botocore's own retries off: only dynamap retries."""
    return make_client(proxy.endpoint, retries={"max_attempts": 0, "mode": "standard"})


@pytest.fixture
def tables(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, Doc, Tag)
    return table_prefix


def test_call_counts_for_reads(proxy, proxy_client, tables):
    with Session(proxy_client, table_prefix=tables) as s:
        for i in range(150):
            s.put(Doc(pk=f"d{i}", sk=i))
        for i in range(100):
            s.put(Tag(pk=f"t{i}"))
    proxy.reset_counts()
    with Session(proxy_client, table_prefix=tables) as s:
        docs = [s.get(Doc, f"d{i}", i) for i in range(150)]
        tags = [s.get(Tag, f"t{i}") for i in range(100)]
        repeats = [s.get(Doc, f"d{i}", i) for i in range(0, 150, 3)]
        repeats += [s.get(Tag, f"t{i}") for i in range(0, 100, 4)]
        s.flush()
        assert all(d.result() is not None for d in docs + tags + repeats)
    assert proxy.counts.requests["BatchGetItem"] == 3
    assert proxy.counts.keys["BatchGetItem"] == 250


def test_call_counts_for_writes(proxy, proxy_client, direct_client, tables):
    with Session(proxy_client, table_prefix=tables) as s:
        for i in range(40):
            s.put(Doc(pk=f"d{i}", sk=i))
            s.put(Doc(pk=f"d{i}", sk=i, body="latest"))  # a repeat: only the last is sent
        for i in range(25):
            s.put(Tag(pk=f"t{i}"))
    assert proxy.counts.requests["BatchWriteItem"] == 3
    assert proxy.counts.items["BatchWriteItem"] == 65
    docs = scan_all(direct_client, f"{tables}docs")
    assert len(docs) == 40 and all(d["body"] == {"S": "latest"} for d in docs)


FAULTS = FaultPlan(
    withhold=0.25, throttle=0.10, server_error=0.05, drop_before=0.01, drop_after=0.01, seed=7
)


@pytest.mark.slow
def test_nothing_is_lost_under_faults(proxy, proxy_client, direct_client, tables):
    proxy.set_plan(FAULTS)
    with Session(proxy_client, table_prefix=tables, retry=FAST) as s:
        for i in range(1000):
            s.put(Doc(pk=f"d{i % 97}", sk=i, body=f"body {i}", n=i))
        report = s.flush()
    assert report.items_written == 1000
    assert report.retries > 0
    assert proxy.counts.withheld["BatchWriteItem"] > 0
    request_faults = ("throttle", "server_error", "drop_before", "drop_after")
    assert sum(proxy.counts.faults[f] for f in request_faults) > 0
    # Checked directly in the table, not through dynamap.
    stored = {
        (i["pk"]["S"], int(i["sk"]["N"])): i for i in scan_all(direct_client, f"{tables}docs")
    }
    assert len(stored) == 1000
    for i in range(1000):
        item = stored[(f"d{i % 97}", i)]
        assert item["body"] == {"S": f"body {i}"} and item["n"] == {"N": str(i)}

    proxy.reset_counts()
    keys = [(f"d{i % 97}", i) for i in range(1000)] + [(f"missing{i}", i) for i in range(100)]
    random.Random(3).shuffle(keys)
    with Session(proxy_client, table_prefix=tables, retry=FAST) as s:
        deferred = {key: s.get(Doc, *key) for key in keys}
        report = s.flush()
        assert (report.items_read, report.items_not_found) == (1000, 100)
        for (pk, sk), d in deferred.items():
            doc = d.result()
            if pk.startswith("missing"):
                assert doc is None
            else:
                assert doc == Doc(pk=pk, sk=sk, body=f"body {sk}", n=sk)
    assert proxy.counts.withheld["BatchGetItem"] > 0


def test_read_budget_runs_out_on_a_key_withheld_every_time(proxy, bare_client, tables):
    with Session(bare_client, table_prefix=tables) as s:
        for i in range(5):
            s.put(Doc(pk="p", sk=i, body=str(i)))
    proxy.withhold_always(lambda table, key: key.get("sk") == {"N": "3"})
    policy = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.1, deadline=20.0)
    started = time.monotonic()
    s = Session(bare_client, table_prefix=tables, retry=policy)
    results = [s.get(Doc, "p", i) for i in range(5)]
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert time.monotonic() - started < policy.deadline
    assert [u.key for u in info.value.unprocessed] == [{"pk": {"S": "p"}, "sk": {"N": "3"}}]
    # 10 attempts: all 5 keys, then the withheld one alone 9 times (answered with
    # ProvisionedThroughputExceededException, which counts against the same budget).
    assert proxy.counts.requests["BatchGetItem"] == 10
    for i in (0, 1, 2, 4):  # what was processed stays available
        doc = results[i].result()
        assert doc is not None and doc.body == str(i)
    with pytest.raises(UnprocessedError):
        results[3].result()


def test_write_budget_runs_out_on_an_item_withheld_every_time(
    proxy, bare_client, direct_client, tables
):
    proxy.withhold_always(lambda table, item: item.get("pk") == {"S": "stuck"})
    policy = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.1, deadline=20.0)
    started = time.monotonic()
    s = Session(bare_client, table_prefix=tables, retry=policy)
    stuck = Tag(pk="stuck", label="never stored")
    for i in range(30):
        s.put(Tag(pk=f"t{i}"))
    s.put(stuck)
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert time.monotonic() - started < policy.deadline
    (lost,) = info.value.unprocessed
    assert lost.operation == "put" and lost.instance is stuck
    assert lost.key == {"pk": {"S": "stuck"}}
    stored = {i["pk"]["S"] for i in scan_all(direct_client, f"{tables}tags")}
    assert stored == {f"t{i}" for i in range(30)}  # everything else landed
    # 2 requests carry the 31 puts; the stuck one then goes alone 9 more times.
    assert proxy.counts.requests["BatchWriteItem"] == 11


def test_exception_in_block_sends_no_write(proxy, proxy_client, direct_client, tables):
    with pytest.raises(KeyError), Session(proxy_client, table_prefix=tables) as s:
        s.put(Tag(pk="a"))
        raise KeyError("boom")
    assert proxy.counts.requests["BatchWriteItem"] == 0
    assert scan_all(direct_client, f"{tables}tags") == []
