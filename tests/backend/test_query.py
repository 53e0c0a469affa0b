"""Queries and scans on moto and DynamoDB Local: conditions, paging, cursors, counts, identity.

Results are compared with what the table holds, written directly with the client.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import pytest

from dynamap import (
    Attr,
    Boto3Transport,
    Cursor,
    DynamapError,
    GlobalIndex,
    InvalidCursorError,
    InvalidKeyError,
    LocalIndex,
    Model,
    PartitionKey,
    Session,
    SortKey,
    begins_with,
    between,
    ge,
    gt,
    lt,
)
from tests.support.tables import create_tables

pytestmark = pytest.mark.usefixtures("session_flavor")


class Order(Model, table="qorders"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    total: Decimal = Decimal(0)
    status: str = "new"  # a reserved word: a GSI key, filtered and projected
    user_id: Annotated[str, Attr("user-id")] = ""  # a stored name that needs a placeholder
    created: int = 0
    note: str = ""

    by_status: ClassVar[GlobalIndex] = GlobalIndex("status", "created")
    by_created: ClassVar[LocalIndex] = LocalIndex("created")
    by_user: ClassVar[GlobalIndex] = GlobalIndex("user_id", "created", projection="KEYS_ONLY")


class OrderTotal(Model, table="qorders"):
    """A view: the key and the total only."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    total: Decimal = Decimal(0)


class Counter(Model, table="qcounters"):
    pk: Annotated[str, PartitionKey()]
    n: Annotated[int, SortKey()]


class Flat(Model, table="qflat"):
    pk: Annotated[str, PartitionKey()]
    value: int = 0


class Recorder:
    """A transport that records every request (and checks its placeholders) before sending."""

    def __init__(self, client: Any) -> None:
        self.inner = Boto3Transport(client)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        check_placeholders(params)
        return self.inner.call(operation, params)

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [p for op, p in self.calls if op == operation]


def check_placeholders(params: dict[str, Any]) -> None:
    """Every placeholder defined is used by an expression, and every one used is defined."""
    text = " ".join(
        str(params[k])
        for k in (
            "KeyConditionExpression",
            "FilterExpression",
            "ProjectionExpression",
            "ConditionExpression",
            "UpdateExpression",
        )
        if k in params
    )
    used_names = set(re.findall(r"#[A-Za-z0-9_]+", text))
    used_values = set(re.findall(r":[A-Za-z0-9_]+", text))
    assert used_names == set(params.get("ExpressionAttributeNames", {})), params
    assert used_values == set(params.get("ExpressionAttributeValues", {})), params


def sk(i: int) -> str:
    return f"order#{i:02d}"


@pytest.fixture
def orders(client: Any, table_prefix: str) -> list[dict[str, Any]]:
    """20 orders order#00..19 of u#1 (status s, created 100 - i, totals 0..190), and others."""
    create_tables(client, table_prefix, Order)
    items = []
    for i in range(20):
        item = {
            "pk": {"S": "u#1"},
            "sk": {"S": sk(i)},
            "total": {"N": str(i * 10)},
            "status": {"S": "s"},
            "user-id": {"S": "me"},
            "created": {"N": str(100 - i)},
            "note": {"S": "x" * 10},
        }
        client.put_item(TableName=f"{table_prefix}qorders", Item=item)
        items.append(item)
    client.put_item(
        TableName=f"{table_prefix}qorders",
        Item={"pk": {"S": "u#2"}, "sk": {"S": "order#00"}, "status": {"S": "t"}},
    )
    return items


@pytest.fixture
def recorder(client: Any) -> Recorder:
    return Recorder(client)


class AsyncRecorder:
    """For the AsyncSession run: records (and checks) into a Recorder's list, then sends."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.recorder.calls.append((operation, params))
        check_placeholders(params)
        result: dict[str, Any] = await self.inner.call(operation, params)
        return result


@pytest.fixture
def session(client: Any, recorder: Recorder, table_prefix: str, session_flavor: str) -> Session:
    if session_flavor == "sync":
        return Session(transport=recorder, table_prefix=table_prefix, concurrency=4)
    session = Session(client, table_prefix=table_prefix, concurrency=4)  # the async one
    session.transport = AsyncRecorder(session.transport, recorder)  # type: ignore[assignment]
    return session


def sks(items: list[Any]) -> list[str]:
    return [o.sk for o in items]


# -- sort-key conditions ----------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_begins_with_in_order_and_reversed(session: Session) -> None:
    q = session.query(Order, "u#1", begins_with("order#1"))
    assert sks(list(q)) == [sk(i) for i in range(10, 20)]
    assert sks(list(q.reverse())) == [sk(i) for i in reversed(range(10, 20))]
    assert sks(list(session.query(Order, "u#1", between("order#05", "order#07")))) == [
        sk(5),
        sk(6),
        sk(7),
    ]
    assert len(list(session.query(Order, "u#1", gt("order#17")))) == 2
    assert len(list(session.query(Order, "u#1", ge("order#17")))) == 3
    assert len(list(session.query(Order, "u#1", lt("order#02")))) == 2
    assert sks(list(session.query(Order, "u#1", "order#04"))) == [sk(4)]  # a bare value: =
    first = session.query(Order, "u#1").reverse().first()
    assert first is not None and first.sk == sk(19)
    assert session.query(Order, "u#9").first() is None


@pytest.mark.usefixtures("orders")
def test_a_view_reads_only_its_attributes(session: Session, recorder: Recorder) -> None:
    totals = list(session.query(OrderTotal, "u#1", begins_with("order#0")))
    assert [t.total for t in totals] == [Decimal(i * 10) for i in range(10)]
    projection = recorder.ops("Query")[-1]["ProjectionExpression"]
    assert "note" not in projection and "created" not in projection


# -- paging -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_a_filter_with_small_pages_goes_on_past_empty_pages(
    session: Session, recorder: Recorder
) -> None:
    rich = Order.path(lambda o: o.total).ge(Decimal(160))  # order#16..19: all in the last page
    q = session.query(Order, "u#1").filter(rich).page_size(5)
    assert sks(list(q)) == [sk(16), sk(17), sk(18), sk(19)]
    assert q.report is not None
    assert q.report.scanned_count == 20 and q.report.count == 4 and q.report.items == 4
    assert q.report.requests >= 4  # the first three pages were empty but continued
    assert all(p["Limit"] == 5 for p in recorder.ops("Query"))


@pytest.mark.parametrize("where", ["table", "gsi", "lsi"])
@pytest.mark.usefixtures("orders")
def test_limit_stops_mid_page_and_the_cursor_resumes_at_the_next_item(
    session: Session, where: str
) -> None:
    if where == "table":
        q = session.query(Order, "u#1")
    elif where == "gsi":
        q = session.query(Order, "s", index=Order.by_status)
    else:
        q = session.query(Order, "u#1", index="by_created")
    everything = sks(list(q))
    assert len(everything) == 20
    page = q.limit(3).page_size(10).page()
    assert sks(page.items) == everything[:3]
    assert page.cursor is not None
    seen = list(sks(page.items))
    token = page.cursor.encode()
    while token is not None:
        page = q.limit(3).page_size(10).page(after=Cursor.decode(token))
        seen.extend(sks(page.items))
        token = page.cursor.encode() if page.cursor is not None else None
    assert seen == everything  # nothing skipped, nothing repeated


@pytest.mark.usefixtures("orders")
def test_pages_without_a_limit_are_one_request_each(session: Session) -> None:
    q = session.query(Order, "u#1").page_size(8)
    first = q.page()
    assert len(first.items) == 8 and first.cursor is not None
    assert first.count == 8 and first.scanned_count == 8
    second = q.page(after=first.cursor)
    third = q.page(after=second.cursor)
    assert sks(first.items + second.items + third.items) == [sk(i) for i in range(20)]
    # A page that ends exactly at the end may still carry a cursor; the next is empty.
    rest = q.page(after=third.cursor) if third.cursor is not None else None
    assert rest is None or (rest.items == [] and rest.cursor is None)


# -- counts -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_count_applies_every_condition(session: Session, recorder: Recorder) -> None:
    cheap = Order.path(lambda o: o.total).lt(Decimal(50))
    for q in (
        session.query(Order, "u#1"),
        session.query(Order, "u#1", begins_with("order#1")),
        session.query(Order, "u#1").filter(cheap),
        session.query(Order, "u#1", between("order#03", "order#12")).filter(cheap),
        session.query(Order, "u#1").filter(cheap).page_size(3),
    ):
        assert q.count() == len(list(q))
    counts = [p for p in recorder.ops("Query") if p.get("Select") == "COUNT"]
    assert counts and all("ProjectionExpression" not in p for p in counts)
    assert session.query(Order, "u#1").limit(7).count() == 7


# -- scans ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_parallel_scan_returns_every_item_once(session: Session, recorder: Recorder) -> None:
    keys = [(o.pk, o.sk) for o in session.scan(Order, segments=4).page_size(3)]
    assert sorted(keys) == sorted([("u#1", sk(i)) for i in range(20)] + [("u#2", "order#00")])
    segments = {p["Segment"] for p in recorder.ops("Scan")}
    assert segments == {0, 1, 2, 3}
    parts = [
        {(o.pk, o.sk) for o in session.scan(Order, segment=(i, 4)).page_size(4)} for i in range(4)
    ]
    union = set().union(*parts)
    assert union == set(keys) and sum(len(p) for p in parts) == len(keys)
    assert session.scan(Order, segments=4).count() == 21
    limited = list(session.scan(Order, segments=4).limit(5))
    assert len(limited) == 5


@pytest.mark.usefixtures("orders")
def test_a_parallel_scan_resumes_from_its_cursor(session: Session) -> None:
    q = session.scan(Order, segments=3).page_size(2).limit(4)
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(30):
        page = q.page(after=cursor)
        seen.extend((o.pk, o.sk) for o in page.items)
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted([("u#1", sk(i)) for i in range(20)] + [("u#2", "order#00")])


# -- identity map -----------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_loaded_items_come_back_as_the_same_objects(session: Session) -> None:
    loaded = session.get(Order, "u#1", sk(3)).result()
    assert loaded is not None
    loaded.note = "changed here"
    again = next(o for o in session.query(Order, "u#1") if o.sk == sk(3))
    assert again is loaded and again.note == "changed here"
    session.delete_key(Order, "u#1", sk(4))
    assert sk(4) not in sks(list(session.query(Order, "u#1")))  # deleted in the session
    session.flush()
    first = next(iter(session.query(Order, "u#1", gt(sk(2)))))
    assert first is loaded and first.note == "changed here"  # written back by the flush


@pytest.mark.usefixtures("orders")
def test_query_results_are_written_back_when_changed(client: Any, session: Session) -> None:
    for order in session.query(Order, "u#1", begins_with("order#0")):
        order.total += 1
    session.flush()
    fresh = Session(client, table_prefix=session.table_prefix)
    totals = [o.total for o in fresh.query(Order, "u#1", begins_with("order#0"))]
    assert totals == [Decimal(i * 10 + 1) for i in range(10)]


# -- names ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_reserved_and_aliased_names_in_every_expression(
    session: Session, recorder: Recorder
) -> None:
    mine = Order.path(lambda o: o.user_id).eq("me") & Order.path(lambda o: o.status).eq("s")
    with pytest.raises(DynamapError, match="cannot use status, the partition key of index"):
        session.query(Order, "s", index=Order.by_status).filter(mine)
    mine = Order.path(lambda o: o.user_id).eq("me") & Order.path(lambda o: o.note).ne("")
    q = session.query(Order, "s", ge(95), index=Order.by_status).filter(mine)
    assert sks(list(q)) == [sk(i) for i in (5, 4, 3, 2, 1, 0)]  # created 95..100, ascending
    request = recorder.ops("Query")[-1]
    assert request["IndexName"] == "by_status"
    assert "#status" in request["KeyConditionExpression"]
    assert request["ExpressionAttributeNames"]["#user_id"] == "user-id"
    assert q.count() == 6  # the placeholders of a COUNT request hold no projection names
    scan = Order.path(lambda o: o.user_id).eq("me") & Order.path(lambda o: o.status).eq("s")
    assert len(list(session.scan(Order).filter(scan))) == 20  # a scan may filter on keys
    assert recorder.calls  # every request was checked by the recorder


# -- errors at the call -----------------------------------------------------------------------


def test_bad_key_values_and_conditions_fail_at_the_call(session: Session) -> None:
    with pytest.raises(InvalidKeyError, match=r"Order\.pk"):
        session.query(Order, 7)
    with pytest.raises(InvalidKeyError, match="no sort key"):
        session.query(Flat, "a", begins_with("x"))
    with pytest.raises(InvalidKeyError, match="numeric sort key"):
        session.query(Counter, "a", begins_with("1"))  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match=r"Counter\.n"):
        session.query(Counter, "a", gt("x"))
    with pytest.raises(InvalidKeyError, match=r"created"):
        session.query(Order, "s", gt("not a number"), index=Order.by_status)
    with pytest.raises(DynamapError, match="strong consistency"):
        session.query(Order, "s", index=Order.by_status).consistent()
    session.query(Order, "u#1", index=Order.by_created).consistent()  # an LSI can
    with pytest.raises(DynamapError, match=r"KEYS_ONLY.*hydrate=True"):
        session.query(Order, "me", index=Order.by_user)
    with pytest.raises(DynamapError, match="no index 'nope'"):
        session.query(Order, "me", index="nope")
    with pytest.raises(ValueError, match="segments"):
        session.scan(Order, segments=0)
    with pytest.raises(ValueError, match="segment="):
        session.scan(Order, segment=(4, 4))


# -- hydrate ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_a_keys_only_index_query_hydrates_full_items(session: Session, recorder: Recorder) -> None:
    loaded = session.get(Order, "u#1", sk(19)).result()
    q = session.query(Order, "me", lt(85), index=Order.by_user, hydrate=True)
    got = list(q)
    assert sks(got) == [sk(i) for i in (19, 18, 17, 16)]  # created 81..84
    assert got[0] is loaded  # through the identity map
    assert all(o.note == "x" * 10 for o in got)  # full items
    assert recorder.ops("BatchGetItem")
    page = q.limit(2).page()
    assert sks(page.items) == [sk(19), sk(18)]
    rest = q.page(after=page.cursor)
    assert sks(rest.items) == [sk(17), sk(16)]


# -- cursors ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("orders")
def test_a_cursor_of_another_query_is_refused(client: Any, session: Session) -> None:
    page = session.query(Order, "u#1").limit(2).page()
    assert page.cursor is not None
    token = page.cursor.encode()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert Cursor.decode(token) == page.cursor
    with pytest.raises(InvalidCursorError, match="index"):
        session.query(Order, "s", index=Order.by_status).page(after=token)
    with pytest.raises(InvalidCursorError, match="partition"):
        session.query(Order, "u#2").page(after=token)
    with pytest.raises(InvalidCursorError, match="segments"):
        session.scan(Order, segments=2).page(after=token)
    with pytest.raises(InvalidCursorError, match="belongs to a query, not to this scan"):
        session.scan(Order).page(after=token)
    scan_page = session.scan(Order).limit(2).page()
    assert scan_page.cursor is not None
    with pytest.raises(InvalidCursorError, match="belongs to a scan, not to this query"):
        session.query(Order, "u#1").page(after=scan_page.cursor)
    with pytest.raises(InvalidCursorError):
        session.query(Order, "u#1").page(after=token[:-3] + "AAA")
    with pytest.raises(InvalidCursorError):
        Cursor.decode("not a cursor!")
    other = Session(client, table_prefix="other-")
    with pytest.raises(InvalidCursorError, match="belongs to"):
        other.query(Order, "u#1").page(after=token)


def _tampered(cursor: Cursor, position: dict[str, Any]) -> str:
    """`cursor`'s token with its position replaced, as a hostile client would send it."""
    return Cursor(cursor.table, cursor.index, cursor.scope, cursor.streams, (position,)).encode()


@pytest.mark.usefixtures("orders")
def test_a_tampered_cursor_key_is_refused_before_it_is_sent(
    session: Session, recorder: Recorder
) -> None:
    q = session.query(Order, "u#1", begins_with("order#1"))
    page = q.limit(2).page()
    assert page.cursor is not None
    sent = len(recorder.calls)
    for position in (
        {"pk": {"S": "u#1"}, "sk": {"N": "1"}},  # a string key given as a number
        {"pk": {"S": "u#1"}, "sk": {"B": b"order#11"}},
        {"pk": {"S": "u#1"}, "sk": {"S": "x" * 1025}},  # longer than a sort key can be
        {"pk": {"S": "u#1"}, "sk": {"S": "order#05"}},  # outside begins_with("order#1")
        {"pk": {"S": "u#1"}, "sk": {"S": "other"}},
    ):
        with pytest.raises(InvalidCursorError, match="sk"):
            q.page(after=_tampered(page.cursor, position))
    narrow = session.query(Order, "u#1", between("order#05", "order#07"))
    start = narrow.limit(1).page().cursor
    assert start is not None
    for outside in ("order#04", "order#08"):
        with pytest.raises(InvalidCursorError, match="outside"):
            narrow.page(after=_tampered(start, {"pk": {"S": "u#1"}, "sk": {"S": outside}}))
    assert len(recorder.calls) == sent + 1  # only the page of `narrow` was sent
    inside = narrow.page(after=_tampered(start, {"pk": {"S": "u#1"}, "sk": {"S": "order#05"}}))
    assert sks(inside.items) == [sk(6), sk(7)]


def test_a_tampered_number_key_is_refused(session: Session, client: Any, table_prefix: str) -> None:
    create_tables(client, table_prefix, Counter)
    for n in range(5):
        session.put(Counter(pk="c", n=n))
    session.flush()
    q = session.query(Counter, "c", ge(1))
    page = q.limit(2).page()
    assert page.cursor is not None and sks_n(page.items) == [1, 2]
    for text in ("abc", "1" * 39, "1E200", "NaN", "1_0", " 2", "0"):
        with pytest.raises(InvalidCursorError, match="n"):
            q.page(after=_tampered(page.cursor, {"pk": {"S": "c"}, "n": {"N": text}}))
    rest = q.page(after=_tampered(page.cursor, {"pk": {"S": "c"}, "n": {"N": "2.0"}}))
    assert sks_n(rest.items) == [3, 4]  # another spelling of the same number


def sks_n(items: list[Counter]) -> list[int]:
    return [c.n for c in items]


def test_between_with_its_bounds_reversed_fails_at_the_call(session: Session) -> None:
    # DynamoDB rejects such a query when it is sent; the bounds compare as it compares keys.
    with pytest.raises(InvalidKeyError, match="between"):
        session.query(Counter, "c", between(10, 9))
    with pytest.raises(InvalidKeyError, match="between"):
        session.query(Order, "u#1", between("order#9", "order#10"))  # by UTF-8 bytes
    session.query(Counter, "c", between(9, 10))
    session.query(Counter, "c", between(5, 5))  # equal bounds
    session.query(Order, "u#1", between("order#10", "order#9"))
