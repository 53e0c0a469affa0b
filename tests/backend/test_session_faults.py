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
    to_item,
)
from tests.support.ddblocal import make_client
from tests.support.faultproxy import DropAfter, DropBefore, FaultPlan, ServerError
from tests.support.tables import create_tables, scan_all

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")


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
# Under FAULTS an attempt fails ~38% of the time: 12 attempts all fail with p ~ 9e-6 per
# unit, ~2% per run of 2,100 units (seen once in CI-like load). 20 make it ~4e-9 per unit.
PATIENT = RetryPolicy(max_attempts=20, base_delay=0.01, max_delay=0.2, deadline=60.0)


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
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
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
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
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
    assert lost.item == to_item(stuck)  # the item itself, whatever form it was sent in
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


@pytest.mark.parametrize(
    "retries",
    [None, {"mode": "legacy"}, {"max_attempts": 10, "mode": "standard"}],
    ids=["default", "legacy", "max_attempts=10"],
)
def test_the_deadline_holds_whatever_the_clients_retry_configuration(proxy, tables, retries):
    """Every call throttled: the flush ends within its deadline plus one request timeout,
    not after botocore's own retries inside each call."""
    config: dict[str, object] = {"connect_timeout": 1, "read_timeout": 1}
    if retries is not None:
        config["retries"] = retries
    client = make_client(proxy.endpoint, **config)
    proxy.set_plan(FaultPlan(throttle=1.0))
    policy = RetryPolicy(max_attempts=1000, base_delay=0.05, max_delay=0.5, deadline=2.0)
    s = Session(client, table_prefix=tables, retry=policy)
    for i in range(60):
        s.put(Tag(pk=f"t{i}"))
    started = time.monotonic()
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    elapsed = time.monotonic() - started
    assert elapsed < policy.deadline + 2.0 + 0.5  # deadline + one request timeout + slack
    message = str(info.value)
    assert "60 were waiting when the 2s deadline passed" in message
    assert "ThrottlingException" in message and "used all" not in message
    assert len(info.value.unprocessed) == 60 and info.value.unknown == []  # throttled: not applied
    # Each request was one call: no retries inside botocore.
    assert proxy.counts.requests["BatchWriteItem"] == info.value.report.requests


def test_a_write_whose_answer_is_lost_is_reported_as_unknown(
    proxy, proxy_client, direct_client, tables
):
    proxy.enqueue(DropAfter(), DropBefore())
    s = Session(proxy_client, table_prefix=tables, retry=RetryPolicy(max_attempts=1))
    for i in range(3):
        s.put(Tag(pk=f"a{i}", label="applied"))
    with pytest.raises(UnprocessedError, match=r"3 write\(s\) of unknown outcome") as info:
        s.flush()  # forwarded, then the connection closed: applied, but no answer
    assert info.value.unprocessed == []
    assert sorted(u.key["pk"]["S"] for u in info.value.unknown) == ["a0", "a1", "a2"]
    assert (info.value.report.items_not_done, info.value.report.items_unknown) == (0, 3)
    assert len(scan_all(direct_client, f"{tables}tags")) == 3
    s.put(Tag(pk="b0"))
    with pytest.raises(UnprocessedError) as info:
        s.flush()  # closed before forwarding: not applied, but the client cannot tell
    assert [u.key["pk"]["S"] for u in info.value.unknown] == ["b0"]
    assert len(scan_all(direct_client, f"{tables}tags")) == 3
    s.retry = RetryPolicy(max_attempts=3, base_delay=0.01)
    proxy.enqueue(DropAfter())
    s.put(Tag(pk="c0"))
    assert s.flush().items_written == 1  # resent after the lost answer, then done


SOAK = FaultPlan(
    withhold=0.25, throttle=0.08, server_error=0.05, drop_before=0.03, drop_after=0.04, seed=11
)


@pytest.mark.slow
def test_every_unit_is_done_not_done_or_unknown_under_faults(
    proxy, proxy_client, direct_client, tables
):
    """1,000 writes and 1,000 reads through mixed faults on a tight budget, so that some are
    not done and some unknown: each is checked directly against the table."""
    old = {f"k{i}": f"old {i}" for i in range(0, 1000, 2)}  # stored before the flush
    for pk, body in old.items():
        direct_client.put_item(
            TableName=f"{tables}docs",
            Item={"pk": {"S": pk}, "sk": {"N": "0"}, "body": {"S": body}, "n": {"N": "0"}},
        )
    proxy.set_plan(SOAK)
    # Never processed: one key in each of the first 4 requests, which the scripted faults
    # hit (so at least one is of unknown outcome), and 10 keys further on.
    stuck = {"k1", "k27", "k53", "k79"} | {f"k{i}" for i in range(601, 621, 2)}
    proxy.withhold_always(lambda table, item: item["pk"]["S"] in stuck)
    proxy.enqueue(DropAfter(), ServerError())
    tight = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=30.0)
    deleted = {f"k{i}" for i in range(0, 400, 2)}  # 200 deletes of stored items
    s = Session(proxy_client, table_prefix=tables, retry=tight)
    for i in range(1000):
        pk = f"k{i}"
        if pk in deleted:
            s.delete(Doc(pk=pk, sk=0))
        else:
            s.put(Doc(pk=pk, sk=0, body=f"new {i}", n=i))
    not_done: dict[str, str] = {}
    unknown: dict[str, str] = {}
    try:
        s.flush()
    except UnprocessedError as exc:
        not_done = {u.key["pk"]["S"]: u.operation for u in exc.unprocessed}
        unknown = {u.key["pk"]["S"]: u.operation for u in exc.unknown}
    assert not_done and unknown
    assert stuck <= set(not_done) | set(unknown)
    assert not set(not_done) & set(unknown)
    stored = {i["pk"]["S"]: i["body"]["S"] for i in scan_all(direct_client, f"{tables}docs")}
    for i in range(1000):
        pk = f"k{i}"
        before = old.get(pk)  # None: absent
        after = None if pk in deleted else f"new {i}"
        now = stored.get(pk)
        if pk in unknown:
            assert now in (before, after), pk
        elif pk in not_done:
            assert now == before, pk
        else:
            assert now == after, pk

    assert proxy.counts.faults["drop_after"] > 0 and proxy.counts.faults["server_error"] > 0
    proxy.reset_counts()
    keys = [f"k{i}" for i in range(1000)]
    s = Session(proxy_client, table_prefix=tables, retry=tight)
    reads = {pk: s.get(Doc, pk, 0) for pk in keys}
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert info.value.unknown == []  # reads are never of unknown outcome
    failed = {u.key["pk"]["S"] for u in info.value.unprocessed}
    report = info.value.report
    assert stuck <= failed
    assert report.items_read + report.items_not_found + len(failed) == 1000
    for pk, deferred in reads.items():
        if pk in failed:
            with pytest.raises(UnprocessedError):
                deferred.result()
            continue
        doc = deferred.result()
        assert (doc.body if doc is not None else None) == stored.get(pk), pk
    assert proxy.counts.withheld["BatchGetItem"] > 0
