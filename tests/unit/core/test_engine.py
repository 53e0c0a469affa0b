"""The flush engine on its own: planning, matching and retry decisions, with no I/O."""

from __future__ import annotations

import random
from typing import Any

import pytest

from _dynamap.core.engine import FlushEngine, GetUnit, TableRead, WriteUnit
from _dynamap.expr.names import render_projection
from _dynamap.model.keys import canonical_value
from dynamap import RetryPolicy, TransportError


def key_of(table: str, item: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return table, (canonical_value(item["pk"]),)


def get_unit(table: str, pk: str) -> GetUnit:
    key = {"pk": {"S": pk}}
    return GetUnit(table, key, key_of(table, key))


def put_unit(table: str, pk: str) -> WriteUnit:
    item = {"pk": {"S": pk}, "v": {"N": "1"}}
    return WriteUnit(table, {"PutRequest": {"Item": item}}, key_of(table, item))


def engine(**kwargs: Any) -> FlushEngine:
    kwargs.setdefault("policy", RetryPolicy())
    return FlushEngine(key_of=key_of, rng=random.Random(1), start=0.0, **kwargs)


def drain(e: FlushEngine, now: float = 0.0) -> list[Any]:
    requests = []
    while (r := e.next_request(now)) is not None:
        requests.append(r)
    return requests


def test_gets_are_chunked_by_100_and_pack_tables():
    gets = [get_unit("a", f"k{i}") for i in range(150)] + [
        get_unit("b", f"k{i}") for i in range(100)
    ]
    requests = drain(engine(gets=gets))
    assert [sum(len(e["Keys"]) for e in r.params["RequestItems"].values()) for r in requests] == [
        100,
        100,
        50,
    ]
    assert list(requests[1].params["RequestItems"]) == ["a", "b"]  # two tables in one call
    assert all(r.params["ReturnConsumedCapacity"] == "TOTAL" for r in requests)


def test_writes_are_chunked_by_25_across_tables():
    writes = [put_unit("a", f"k{i}") for i in range(40)] + [
        put_unit("b", f"k{i}") for i in range(25)
    ]
    requests = drain(engine(writes=writes))
    assert [sum(len(v) for v in r.params["RequestItems"].values()) for r in requests] == [
        25,
        25,
        15,
    ]
    assert list(requests[1].params["RequestItems"]) == ["a", "b"]


def test_a_get_request_carries_the_readers_of_its_tables():
    from _dynamap.model.model import model_info
    from tests.support.models import Order

    reader = model_info(Order).item_reader
    assert reader is not None
    gets = [get_unit("a", "x"), get_unit("b", "y")] + [get_unit("c", f"k{i}") for i in range(99)]
    reads = {
        "a": TableRead(None, False, reader),
        "b": TableRead(None, False),
        "c": TableRead(None, False),
    }
    first, second = drain(engine(gets=gets, reads=reads))
    assert first.reader is not None and first.reader.readers == {"a": reader, "b": None, "c": None}
    assert second.reader is None  # only table c, which has no reader: parsed as plain dicts
    assert drain(engine(gets=[get_unit("b", "y")]))[0].reader is None


def test_table_read_settings_are_applied():
    projection = render_projection(["pk", "name"])
    e = engine(gets=[get_unit("a", "x")], reads={"a": TableRead(projection, True)})
    (request,) = drain(e)
    assert request.params["RequestItems"]["a"] == {
        "Keys": [{"pk": {"S": "x"}}],
        "ProjectionExpression": "pk, #name",
        "ExpressionAttributeNames": {"#name": "name"},
        "ConsistentRead": True,
    }


def test_responses_are_matched_by_key_not_position():
    e = engine(gets=[get_unit("a", "1"), get_unit("a", "2"), get_unit("a", "3")])
    (request,) = drain(e)
    response = {"Responses": {"a": [{"pk": {"S": "3"}, "v": {"S": "three"}}, {"pk": {"S": "1"}}]}}
    e.on_response(request, response, 0.0)
    assert e.found[("a", ("3",))] == {"pk": {"S": "3"}, "v": {"S": "three"}}
    assert ("a", ("1",)) in e.found
    assert e.missing == {("a", ("2",))}
    assert e.idle


def test_numeric_keys_match_in_canonical_form():
    key = {"pk": {"N": "1.50"}}
    unit = GetUnit("a", key, key_of("a", key))
    e = engine(gets=[unit])
    (request,) = drain(e)
    e.on_response(request, {"Responses": {"a": [{"pk": {"N": "1.5"}}]}}, 0.0)
    assert e.found == {("a", ("1.5",)): {"pk": {"N": "1.5"}}}


def test_unprocessed_keys_are_retried_with_backoff_and_refill_later_requests():
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.3)
    gets = [get_unit("a", f"k{i}") for i in range(150)]
    e = engine(gets=gets, policy=policy)
    first = e.next_request(0.0)
    assert first is not None
    withheld = first.params["RequestItems"]["a"]["Keys"][:10]
    e.on_response(first, {"UnprocessedKeys": {"a": {"Keys": withheld}}}, 0.0)
    wake = e.next_wakeup()
    assert wake == 0.0  # the 50 fresh keys are ready now
    second = e.next_request(0.0)
    assert second is not None
    assert len(second.params["RequestItems"]["a"]["Keys"]) == 50
    e.on_response(second, {}, 0.0)
    retry_at = e.next_wakeup()
    assert retry_at is not None and 0.0 <= retry_at <= 0.1  # full jitter up to base_delay
    assert e.next_request(retry_at - 1e-9 if retry_at > 0 else -1.0) is None
    third = e.next_request(1.0)
    assert third is not None
    retried = third.params["RequestItems"]["a"]["Keys"]
    assert sorted(k["pk"]["S"] for k in retried) == sorted(k["pk"]["S"] for k in withheld)
    assert e.stats.retries == 10


def test_backoff_grows_exponentially_with_cap():
    policy = RetryPolicy(base_delay=0.05, max_delay=0.3)
    rng = random.Random(7)
    for retry, ceiling in [(1, 0.05), (2, 0.1), (3, 0.2), (4, 0.3), (9, 0.3)]:
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spans the whole range


class ScriptedRandom(random.Random):
    """Always the top of the jitter range, so delays are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_budget_runs_out_after_max_attempts():
    policy = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=5.0)
    e = FlushEngine(
        gets=[get_unit("a", "stuck"), get_unit("a", "fine")],
        key_of=key_of,
        policy=policy,
        rng=ScriptedRandom(),
        start=0.0,
    )
    now, sent = 0.0, 0
    while not e.idle:
        request = e.next_request(now)
        if request is None:
            wake = e.next_wakeup()
            assert wake is not None
            now = wake
            continue
        sent += 1
        keys = request.params["RequestItems"]["a"]["Keys"]
        stuck = [k for k in keys if k["pk"]["S"] == "stuck"]
        e.on_response(request, {"UnprocessedKeys": {"a": {"Keys": stuck}}}, now)
    assert sent == 4
    assert now == pytest.approx(0.05 + 0.1 + 0.2)
    assert [u.key for u in e.unfinished()] == [{"pk": {"S": "stuck"}}]
    assert e.missing == {("a", ("fine",))}


def test_deadline_ends_retries():
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=1.0, deadline=2.5)
    e = FlushEngine(
        writes=[put_unit("a", "x")], key_of=key_of, policy=policy, rng=ScriptedRandom(), start=0.0
    )
    now = 0.0
    while not e.idle:
        request = e.next_request(now)
        if request is None:
            now = e.next_wakeup() or now
            continue
        e.on_response(request, {"UnprocessedItems": request.params["RequestItems"]}, now)
    assert now <= 2.5
    assert len(e.unfinished()) == 1


def test_throttling_errors_count_against_the_same_budget():
    e = engine(writes=[put_unit("a", "x")], policy=RetryPolicy(max_attempts=2, base_delay=0.0))
    request = e.next_request(0.0)
    assert request is not None
    e.on_error(request, TransportError("ThrottlingException", "slow down", 400), 0.0)
    retry = e.next_request(0.0)
    assert retry is not None and retry.units == request.units
    e.on_error(retry, TransportError("InternalServerError", "oops", 500), 0.0)
    assert e.idle
    assert e.unfinished() == request.units
    assert e.fatal is None


def test_fatal_error_stops_the_flush_and_keeps_the_rest():
    writes = [put_unit("a", f"k{i}") for i in range(60)]
    e = engine(writes=writes)
    first = e.next_request(0.0)
    second = e.next_request(0.0)
    assert first is not None and second is not None
    e.on_error(first, TransportError("ValidationException", "bad", 400), 0.0)
    assert e.next_request(0.0) is None  # nothing new goes out
    e.on_response(second, {}, 0.0)  # in-flight work still counts
    assert len(e.written) == 25
    unfinished = e.unfinished()
    assert len(unfinished) == 35
    assert {u.ident for u in unfinished}.isdisjoint({u.ident for u in e.written})
    assert e.fatal is not None and e.fatal.code == "ValidationException"


def test_a_write_whose_answer_is_lost_is_in_doubt_until_a_retry_is_done():
    policy = RetryPolicy(max_attempts=2, base_delay=0.0)
    e = engine(writes=[put_unit("a", "x"), put_unit("a", "y")], policy=policy)
    request = e.next_request(0.0)
    assert request is not None
    e.on_error(request, TransportError(TransportError.NO_ANSWER, "closed"), 0.0)
    retry = e.next_request(0.0)
    assert retry is not None
    y = [w for w in retry.params["RequestItems"]["a"] if w["PutRequest"]["Item"]["pk"]["S"] == "y"]
    e.on_response(retry, {"UnprocessedItems": {"a": y}}, 0.0)  # refused the second time
    assert [u.ident for u in e.written] == [("a", ("x",))]  # done, whatever came before
    (left,) = e.unfinished()
    assert isinstance(left, WriteUnit) and left.ident == ("a", ("y",))
    assert left.maybe_applied  # the first attempt may have landed


def test_only_failures_after_sending_put_a_write_in_doubt():
    for code, status, doubt in [
        ("ThrottlingException", 400, False),
        (TransportError.NOT_SENT, None, False),
        ("ValidationException", 400, False),
        ("InternalServerError", 500, True),
        (TransportError.NO_ANSWER, None, True),
        ("ClientError", None, True),
    ]:
        e = engine(writes=[put_unit("a", "x")], gets=[get_unit("a", "k")])
        read, write = e.next_request(0.0), e.next_request(0.0)
        assert read is not None and write is not None
        e.on_error(read, TransportError(code, "m", status), 0.0)
        e.on_error(write, TransportError(code, "m", status), 0.0)
        assert write.units[0].maybe_applied is doubt, code  # type: ignore[union-attr]
        assert not hasattr(read.units[0], "maybe_applied")  # a read is never in doubt


def test_an_abandoned_request_is_in_doubt_and_its_late_answer_ignored():
    e = engine(writes=[put_unit("a", "x")], gets=[get_unit("a", "k")])
    read, write = e.next_request(0.0), e.next_request(0.0)
    assert read is not None and write is not None
    e.abandon(read)
    e.abandon(write)
    assert e.idle
    e.on_response(write, {}, 1.0)  # came back after all: too late to count
    e.on_error(read, TransportError("ThrottlingException", "m", 400), 1.0)
    assert e.written == [] and e.idle
    assert e.abandoned == [*read.units, *write.units]
    assert write.units[0].maybe_applied  # type: ignore[union-attr]
    assert [u.error for u in e.unfinished()] == ["no answer", "no answer"]


def test_the_deadline_and_the_attempts_are_told_apart():
    policy = RetryPolicy(max_attempts=2, base_delay=1.0, max_delay=1.0, deadline=10.0)
    units = [put_unit("a", f"k{i}") for i in range(30)]
    e = FlushEngine(writes=units, key_of=key_of, policy=policy, rng=ScriptedRandom(), start=0.0)
    first = e.next_request(0.0)
    assert first is not None  # 25 items; 5 wait for a slot
    e.on_error(first, TransportError("ThrottlingException", "slow", 400), 0.0)
    second = e.next_request(0.0)
    assert second is not None and len(second.units) == 5
    e.on_response(second, {"UnprocessedItems": second.params["RequestItems"]}, 9.5)
    retry = e.next_request(1.0)
    assert retry is not None and len(retry.units) == 25
    e.on_error(retry, TransportError("ThrottlingException", "slow", 400), 1.0)
    assert e.next_request(10.0) is None
    assert len(e.exhausted) == 25 and {u.error for u in e.exhausted} == {"ThrottlingException"}
    assert len(e.expired) == 5 and {u.error for u in e.expired} == {"UnprocessedItems"}
    assert len(e.unfinished()) == 30


def test_units_never_sent_before_the_deadline_expire():
    policy = RetryPolicy(deadline=1.0)
    e = engine(writes=[put_unit("a", f"k{i}") for i in range(30)], policy=policy)
    assert e.next_request(0.0) is not None
    assert e.next_request(1.0) is None  # past the deadline: nothing more goes out
    assert [u.attempts for u in e.expired] == [0] * 5


def test_stop_sends_nothing_more_and_leaves_the_rest_unsent():
    e = engine(writes=[put_unit("a", f"k{i}") for i in range(30)])
    request = e.next_request(0.0)
    assert request is not None
    e.stop()
    assert e.next_request(0.0) is None and e.next_wakeup() is None
    e.on_response(request, {}, 0.0)  # an answer in flight still counts
    assert len(e.written) == 25
    assert len(e.unfinished()) == 5 and len(e.unsent) == 5


def test_a_withdrawn_request_was_never_sent():
    e = engine(writes=[put_unit("a", "x")])
    request = e.next_request(0.0)
    assert request is not None
    request.units[0].maybe_applied = False  # type: ignore[union-attr]
    e.withdraw(request)
    e.abandon(request)  # a second outcome is ignored
    assert e.idle and e.abandoned == []
    (left,) = e.unfinished()
    assert left.attempts == 0 and not left.maybe_applied  # type: ignore[union-attr]


def test_a_requeued_request_leaves_its_units_as_if_never_taken():
    e = engine(
        gets=[get_unit("a", "g")],
        writes=[put_unit("a", f"k{i}") for i in range(3)] + [single_unit("s")],
    )
    taken = drain(e)
    assert [r.operation for r in taken] == ["BatchGetItem", "BatchWriteItem", "UpdateItem"]
    for request in taken:
        e.requeue(request)
        e.abandon(request)  # a second outcome is ignored
    assert e.stats.requests == 0 and e.stats.retries == 0 and e.abandoned == []
    assert not e.idle and e.next_wakeup() == 0.0
    again = drain(e)  # the same units, sent as if for the first time
    assert [r.operation for r in again] == ["BatchGetItem", "BatchWriteItem", "UpdateItem"]
    assert [u.attempts for r in again for u in r.units] == [1] * 5
    assert e.stats.requests == 3 and e.stats.retries == 0


def test_a_requeued_retry_keeps_its_earlier_attempts():
    e = engine(writes=[put_unit("a", "x")], policy=RetryPolicy(base_delay=0.1, max_delay=0.1))
    first = e.next_request(0.0)
    assert first is not None
    e.on_error(first, TransportError("ThrottlingException", "slow"), 0.0)
    retry = e.next_request(1.0)
    assert retry is not None and e.stats.retries == 1
    e.requeue(retry)
    assert e.stats.retries == 0 and retry.units[0].attempts == 1
    assert e.next_request(1.0) is not None and e.stats.retries == 1


def test_may_send_ends_with_a_stop_a_fatal_error_or_the_deadline():
    e = engine(writes=[put_unit("a", "x")], policy=RetryPolicy(deadline=5.0))
    assert e.may_send(4.9) and not e.may_send(5.0)
    e.stop()
    assert not e.may_send(0.0)
    fatal = engine(writes=[put_unit("a", f"k{i}") for i in range(30)])
    request = fatal.next_request(0.0)
    assert request is not None
    fatal.on_error(request, TransportError("ValidationException", "no"), 0.0)
    assert not fatal.may_send(0.0)


def test_requeued_units_expire_at_the_deadline_or_stay_unsent_after_a_stop():
    expiring = engine(writes=[put_unit("a", "x")], policy=RetryPolicy(deadline=1.0))
    request = expiring.next_request(0.0)
    assert request is not None
    expiring.requeue(request)
    assert expiring.next_request(1.0) is None
    assert len(expiring.unfinished()) == 1 and len(expiring.expired) == 1
    stopped = engine(writes=[put_unit("a", "x")])
    request = stopped.next_request(0.0)
    assert request is not None
    stopped.stop()
    stopped.requeue(request)
    assert len(stopped.unfinished()) == 1 and len(stopped.unsent) == 1


# -- single-item writes -------------------------------------------------------------------------


def single_unit(pk: str, *, retry_unclear: bool = True) -> WriteUnit:
    key = {"pk": {"S": pk}}
    params = {"TableName": "a", "Key": key, "UpdateExpression": "ADD n :v0"}
    unit = WriteUnit("a", params, key_of("a", key), single="UpdateItem")
    unit.retry_unclear = retry_unclear
    return unit


def test_single_writes_go_one_per_request_after_the_batches():
    e = engine(writes=[single_unit("s1"), put_unit("a", "p1"), single_unit("s2")])
    requests = drain(e)
    assert [r.operation for r in requests] == ["BatchWriteItem", "UpdateItem", "UpdateItem"]
    assert requests[1].tables == ["a"] and len(requests[1].units) == 1
    e.on_response(requests[1], {"ConsumedCapacity": {"TableName": "a", "CapacityUnits": 1.0}}, 0)
    assert e.stats.capacity == {"a": 1.0}  # a single write's capacity is one dict, not a list
    assert e.written == [requests[1].units[0]]


def test_a_failed_condition_is_final_and_keeps_the_stored_item():
    e = engine(writes=[single_unit("s")])
    (request,) = drain(e)
    stored = {"pk": {"S": "s"}, "n": {"N": "4"}}
    failed = TransportError("ConditionalCheckFailedException", "no", 400, {"Item": stored})
    e.on_error(request, failed, 0.0)
    assert e.failed == request.units and e.failed[0].current == stored
    assert e.next_wakeup() is None and e.unfinished() == []  # never retried


def test_a_failed_condition_after_an_unclear_attempt_is_of_unknown_outcome():
    e = engine(writes=[single_unit("s")])
    (request,) = drain(e)
    e.on_error(request, TransportError(TransportError.NO_ANSWER, "lost"), 0.0)
    (retry,) = drain(e, 10.0)
    e.on_error(retry, TransportError("ConditionalCheckFailedException", "no", 400), 10.0)
    assert e.failed == [] and e.unclear == retry.units  # it may have failed against itself
    assert e.unfinished() == retry.units and retry.units[0].maybe_applied


@pytest.mark.parametrize("code", [TransportError.NO_ANSWER, "InternalServerError"])
def test_an_increment_is_never_sent_twice(code: str):
    e = engine(writes=[single_unit("s", retry_unclear=False)])
    (request,) = drain(e)
    e.on_error(request, TransportError(code, "?", 500), 0.0)
    assert e.unclear == request.units and drain(e, 10.0) == []


def test_a_throttled_increment_is_retried():
    e = engine(writes=[single_unit("s", retry_unclear=False)])
    (request,) = drain(e)
    e.on_error(request, TransportError("ThrottlingException", "slow", 400), 0.0)
    (retry,) = drain(e, 10.0)
    assert retry.operation == "UpdateItem" and retry.units == request.units
