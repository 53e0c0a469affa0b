"""The pager under a fake clock: retries with the same start key, budget, deadline, stop."""

from __future__ import annotations

import random

from _dynamap.core.pager import Pager, PageRequest
from _dynamap.core.retry import RetryPolicy
from dynamap import TransportError

THROTTLED = TransportError("ThrottlingException", "slow down", 400)
REJECTED = TransportError("ValidationException", "bad", 400)


def pager(*streams: int, policy: RetryPolicy | None = None) -> Pager:
    requests = [
        PageRequest("Query", {"TableName": "t", "ExclusiveStartKey": {"pk": {"S": str(s)}}}, s)
        for s in streams
    ]
    return Pager(
        requests, policy=policy or RetryPolicy(base_delay=1.0), rng=random.Random(1), start=0.0
    )


def test_one_request_per_stream_then_pages_by_stream() -> None:
    p = pager(0, 1)
    a, b = p.next_request(0.0), p.next_request(0.0)
    assert a is not None and b is not None and p.next_request(0.0) is None
    p.on_response(b, {"Items": [{"x": 1}], "Count": 1, "ScannedCount": 3}, 0.0)
    p.on_response(
        a,
        {
            "Items": [],
            "LastEvaluatedKey": {"pk": {"S": "k"}},
            "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5},
        },
        0.0,
    )
    assert p.idle and not p.failed
    assert p.pages[0].items == [] and p.pages[0].last_key == {"pk": {"S": "k"}}
    assert p.pages[1].scanned == 3 and p.pages[1].last_key is None
    assert p.stats.requests == 2 and p.stats.capacity == {"t": 0.5}
    p.on_response(a, {"Items": [{"late": 1}]}, 0.0)  # a second outcome is ignored
    assert p.pages[0].items == []


def test_a_throttled_page_is_resent_later_with_the_same_start_key() -> None:
    p = pager(7)
    first = p.next_request(0.0)
    assert first is not None
    p.on_error(first, THROTTLED, 0.0)
    wake = p.next_wakeup()
    assert wake is not None and 0.0 < wake <= 1.0  # full jitter up to base_delay
    assert p.next_request(0.0) is None and not p.idle
    again = p.next_request(wake)
    assert again is not None and again is not first
    assert again.params == first.params and again.attempts == 2
    assert p.stats.retries == 1 and p.stats.requests == 2


def test_out_of_attempts_or_time_leaves_the_stream_failed() -> None:
    p = pager(0, policy=RetryPolicy(max_attempts=2, base_delay=0.0))
    for _ in range(2):
        request = p.next_request(0.0)
        assert request is not None
        p.on_error(request, THROTTLED, 0.0)
    assert p.failed[0] is THROTTLED and p.idle
    late = pager(0, policy=RetryPolicy(deadline=1.0, base_delay=0.0))
    request = late.next_request(0.0)
    assert request is not None
    late.on_error(request, THROTTLED, 0.5)  # due at once, but only sent after the deadline
    assert late.next_request(1.0) is None and late.failed[0].code == "DeadlineExceeded"
    past = pager(0, policy=RetryPolicy(deadline=1.0, base_delay=0.0))
    request = past.next_request(0.0)
    assert request is not None
    past.on_error(request, THROTTLED, 1.0)  # no retry is planned past the deadline
    assert past.failed[0] is THROTTLED


def test_a_rejection_stops_the_round() -> None:
    p = pager(0, 1)
    a = p.next_request(0.0)
    assert a is not None
    p.on_error(a, REJECTED, 0.0)
    assert p.fatal is REJECTED and p.failed[0] is REJECTED
    assert p.next_request(0.0) is None and p.next_wakeup() is None


def test_abandoned_withdrawn_and_stopped() -> None:
    p = pager(0, 1)
    a, b = p.next_request(0.0), p.next_request(0.0)
    assert a is not None and b is not None
    p.abandon(a)
    p.withdraw(b)
    assert p.failed[0].code == TransportError.NO_ANSWER
    assert p.failed[1].code == TransportError.NOT_SENT
    q = pager(0)
    q.stop()
    assert q.next_request(0.0) is None and q.next_wakeup() is None
