"""Query runs on a scripted transport: lazy positions, the call guard, interrupts."""

from __future__ import annotations

import threading
from typing import Annotated, Any, ClassVar

import pytest

from dynamap import (
    DynamapError,
    FlushError,
    GlobalIndex,
    Model,
    PartitionKey,
    QueryError,
    RetryPolicy,
    Session,
    SortKey,
    TransportError,
)


class Item(Model, table="runs"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]


class Pages:
    """Answers Query with pages of `size` items of 0..n-1, honouring ExclusiveStartKey."""

    def __init__(self, n: int, size: int) -> None:
        self.n, self.size = n, size
        self.calls: list[dict[str, Any]] = []
        self.interrupt_at: int | None = None

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(params)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if operation != "Query":
            return {}
        start = (
            int(params["ExclusiveStartKey"]["sk"]["N"]) + 1 if "ExclusiveStartKey" in params else 0
        )
        size = min(self.size, params.get("Limit", self.size))
        keys = list(range(start, min(start + size, self.n)))
        page: dict[str, Any] = {
            "Items": [{"pk": {"S": "p"}, "sk": {"N": str(k)}} for k in keys],
            "Count": len(keys),
            "ScannedCount": len(keys),
        }
        if keys and keys[-1] < self.n - 1:
            page["LastEvaluatedKey"] = {"pk": {"S": "p"}, "sk": {"N": str(keys[-1])}}
        return page


def test_breaking_out_mid_page_resumes_at_the_next_item() -> None:
    pages = Pages(10, 4)
    session = Session(transport=pages)
    q = session.query(Item, "p")
    seen = []
    items = q._iterate(session._start_read(q._config, None, False))  # pyright: ignore[reportPrivateUsage]
    for item in items:
        seen.append(item.sk)
        if item.sk == 5:
            break
    items.close()
    page = q.limit(100).page()
    assert [i.sk for i in page.items] == list(range(10))
    assert seen == [0, 1, 2, 3, 4, 5]


def test_the_session_is_free_between_items() -> None:
    pages = Pages(6, 2)
    session = Session(transport=pages)
    for item in session.query(Item, "p"):
        session.put(Item(pk="q", sk=item.sk))  # no "another call is running"
        assert session.get(Item, "p", item.sk).result() is item  # from the identity map
    assert len(session._state.writes) == 6  # pyright: ignore[reportPrivateUsage]


def test_an_interrupt_mid_query_propagates_and_the_session_goes_on() -> None:
    pages = Pages(10, 3)
    pages.interrupt_at = 2
    session = Session(transport=pages)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for item in session.query(Item, "p"):
            seen.append(item.sk)
    assert seen == [0, 1, 2]
    pages.interrupt_at = None
    assert [i.sk for i in session.query(Item, "p")] == list(range(10))


def test_limit_asks_for_no_more_than_it_needs_without_a_filter() -> None:
    pages = Pages(100, 50)
    session = Session(transport=pages)
    q = session.query(Item, "p").limit(7).page_size(5)
    assert [i.sk for i in q] == list(range(7))
    assert [c["Limit"] for c in pages.calls] == [5, 2]
    assert q.report is not None and q.report.requests == 2 and q.report.items == 7
    first = session.query(Item, "p").first()
    assert first is not None and first.sk == 0 and pages.calls[-1]["Limit"] == 1


class BlockingWrites(Pages):
    """Pages, and a BatchWriteItem that waits until `gate` is set (a flush in progress)."""

    def __init__(self, n: int, size: int) -> None:
        super().__init__(n, size)
        self.gate = threading.Event()
        self.writing = threading.Event()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "BatchWriteItem":
            self.writing.set()
            self.gate.wait(10)
            return {}
        return super().call(operation, params)


def test_handing_out_an_item_during_another_threads_flush_is_refused() -> None:
    pages = BlockingWrites(10, 10)
    session = Session(transport=pages)
    items = iter(session.query(Item, "p"))
    assert next(items).sk == 0  # the page of ten is read; nine are still to be handed out
    session.put(Item(pk="x", sk=1))
    flushing = threading.Thread(target=session.flush)
    flushing.start()
    try:
        assert pages.writing.wait(10)
        # Loading an item into the identity map now would race with the flush settling.
        with pytest.raises(DynamapError, match="in use by another call"):
            next(items)
    finally:
        pages.gate.set()
        flushing.join()
    assert len(session._state.identity) == 2  # pyright: ignore[reportPrivateUsage]
    again = [i.sk for i in session.query(Item, "p")]  # nothing was half-loaded
    assert again == list(range(10))


class Indexed(Model, table="runs-indexed"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    tag: str = "t"
    body: str = ""

    by_tag: ClassVar[GlobalIndex] = GlobalIndex("tag", "sk", projection="KEYS_ONLY")


class KeysThenThrottle:
    """Answers the index Query with two keys, then throttles every BatchGetItem."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.ops.append(operation)
        if operation == "Query":
            keys = [{"pk": {"S": "p"}, "sk": {"N": str(i)}, "tag": {"S": "t"}} for i in (1, 2)]
            return {"Items": keys, "Count": 2, "ScannedCount": 2}
        raise TransportError("ThrottlingException", "slow down", 400)


def test_a_hydration_that_cannot_read_its_items_raises_with_a_cursor() -> None:
    transport = KeysThenThrottle()
    session = Session(transport=transport, retry=RetryPolicy(max_attempts=1))
    q = session.query(Indexed, "t", index=Indexed.by_tag, hydrate=True)
    with pytest.raises(QueryError, match="full items of an index page") as caught:
        list(q)
    cursor = caught.value.cursor
    assert cursor is not None and cursor.positions == (None,)  # resume from the start
    assert isinstance(caught.value.__cause__, FlushError)
    assert transport.ops == ["Query", "BatchGetItem"]


class KeysThenPartial:
    """The index Query gives two keys; BatchGetItem returns them, but never `other`."""

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "Query":
            keys = [{"pk": {"S": "p"}, "sk": {"N": str(i)}, "tag": {"S": "t"}} for i in (1, 2)]
            return {"Items": keys, "Count": 2, "ScannedCount": 2}
        entry = params["RequestItems"]["runs-indexed"]
        found = [
            dict(k, tag={"S": "t"}, body={"S": "b"}) for k in entry["Keys"] if k["pk"]["S"] == "p"
        ]
        left = [k for k in entry["Keys"] if k["pk"]["S"] != "p"]
        answer: dict[str, Any] = {"Responses": {"runs-indexed": found}}
        if left:
            answer["UnprocessedKeys"] = {"runs-indexed": {"Keys": left}}
        return answer


def test_another_pending_get_failing_does_not_end_a_hydrated_query() -> None:
    session = Session(transport=KeysThenPartial(), retry=RetryPolicy(max_attempts=1))
    other = session.get(Indexed, "other", 9)  # pending when the query hydrates its page
    items = list(session.query(Indexed, "t", index=Indexed.by_tag, hydrate=True))
    assert [(i.sk, i.body) for i in items] == [(1, "b"), (2, "b")]
    with pytest.raises(FlushError):
        other.result()  # its own failure, reported on its own deferred
