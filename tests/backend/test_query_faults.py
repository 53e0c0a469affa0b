"""Queries and scans through the fault proxy: every item exactly once, whatever fails.

Throttling, 500s, connections dropped before and after forwarding, and pages cut short
(as the 1 MB page limit does), on Query and Scan, on the table and on an index.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest

from dynamap import (
    GlobalIndex,
    Model,
    PartitionKey,
    QueryError,
    RetryPolicy,
    Session,
    SortKey,
)
from tests.support.ddblocal import make_client
from tests.support.faultproxy import FaultPlan, Throttle, Truncate
from tests.support.faults import READ_OPS, ServerError
from tests.support.tables import create_tables

pytestmark = pytest.mark.usefixtures("session_flavor")


class Event(Model, table="qevents"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    kind: str = "a"
    body: str = ""

    by_kind: ClassVar[GlobalIndex] = GlobalIndex("kind", "sk")


PATIENT = RetryPolicy(max_attempts=25, base_delay=0.005, max_delay=0.05, deadline=60.0)
N = 60


@pytest.fixture
def bare_client(proxy: Any) -> Any:
    """A client through the proxy with botocore's own retries off: only dynamap retries."""
    return make_client(proxy.endpoint, retries={"max_attempts": 0, "mode": "standard"})


@pytest.fixture
def events(direct_client: Any, table_prefix: str) -> str:
    create_tables(direct_client, table_prefix, Event)
    with Session(direct_client, table_prefix=table_prefix) as session:
        for i in range(N):
            session.put(Event(pk="e", sk=i, body=f"b{i}"))
    return table_prefix


@pytest.mark.parametrize("seed", [1, 2])
def test_every_item_once_under_faults(proxy: Any, bare_client: Any, events: str, seed: int) -> None:
    proxy.set_plan(
        FaultPlan(
            throttle=0.15,
            server_error=0.1,
            # Order-dependent under parallel scans: rates high enough that some drop surely
            # happens (about 40 requests: 0.8**40, under 1 in 7,000, sends none).
            drop_before=0.1,
            drop_after=0.1,
            truncate=0.2,
            operations=READ_OPS,
            seed=seed,
        )
    )
    session = Session(bare_client, table_prefix=events, retry=PATIENT)
    expected = list(range(N))
    q = session.query(Event, "e").page_size(7)
    assert [e.sk for e in q] == expected
    assert q.report is not None and q.report.items == N
    assert [e.sk for e in session.query(Event, "a", index=Event.by_kind).page_size(9)] == expected
    assert sorted(e.sk for e in session.scan(Event, segments=3).page_size(5)) == expected
    limited = session.query(Event, "e").limit(25).page_size(10)
    assert [e.sk for e in limited] == expected[:25]
    assert session.query(Event, "e").count() == N
    faults = proxy.counts.faults
    assert faults["throttle"] and faults["server_error"] and faults["truncate"]
    assert faults["drop_before"] + faults["drop_after"] > 0, (dict(faults), proxy.counts)


def test_cut_pages_never_skip_or_repeat(proxy: Any, bare_client: Any, events: str) -> None:
    proxy.set_plan(FaultPlan(truncate=1.0, operations=READ_OPS))
    session = Session(bare_client, table_prefix=events, retry=PATIENT)
    q = session.query(Event, "e").page_size(10).limit(12)
    first = q.page()
    assert [e.sk for e in first.items] == list(range(12))  # 12 one-item pages
    assert first.report.requests == 12
    second = q.page(after=first.cursor)
    assert [e.sk for e in second.items] == list(range(12, 24))


def test_a_throttled_page_is_resent_with_the_same_start_key(
    proxy: Any, bare_client: Any, events: str
) -> None:
    proxy.set_plan(FaultPlan(operations=READ_OPS))
    session = Session(bare_client, table_prefix=events, retry=PATIENT)
    q = session.query(Event, "e").page_size(20)
    first = q.page()
    proxy.reset_counts()
    proxy.enqueue(Throttle(), ServerError())
    second = q.page(after=first.cursor)
    assert [e.sk for e in second.items] == list(range(20, 40))
    assert proxy.counts.requests["Query"] == 3
    assert second.report.retries == 2


def test_out_of_attempts_raises_with_a_cursor_that_resumes(
    proxy: Any, bare_client: Any, events: str
) -> None:
    proxy.set_plan(FaultPlan(operations=READ_OPS))
    fragile = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01)
    session = Session(bare_client, table_prefix=events, retry=fragile)
    seen: list[int] = []
    q = session.query(Event, "e").page_size(25)
    proxy.enqueue(Truncate(keep=5), Throttle(), Throttle())  # page 1 cut, page 2 fails twice
    with pytest.raises(QueryError) as caught:
        for event in q:
            seen.append(event.sk)
    assert caught.value.code == "ThrottlingException"
    assert seen == list(range(5))
    assert caught.value.cursor is not None
    rest = []
    cursor = caught.value.cursor
    while cursor is not None:
        page = q.page(after=cursor)
        rest.extend(e.sk for e in page.items)
        cursor = page.cursor
    assert seen + rest == list(range(N))
