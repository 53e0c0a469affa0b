"""The transaction engine on its own, under a fake clock: retries, finality, outcomes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from _dynamap.core.transact import (
    IDEMPOTENCY_WINDOW,
    TransactEngine,
    TransactRequest,
    retryable_cancellation,
)
from dynamap import RetryPolicy, TransportError

ITEMS: list[dict[str, Any]] = [
    {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}},
    {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "ADD n :one"}},
]
POLICY = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0, deadline=10.0)


def engine(policy: RetryPolicy = POLICY, operation: Any = "TransactWriteItems") -> TransactEngine:
    token = "tok-1" if operation == "TransactWriteItems" else None
    return TransactEngine(
        operation, ITEMS, token=token, policy=policy, rng=random.Random(3), start=0.0
    )


def send(e: TransactEngine, now: float) -> TransactRequest:
    wake = e.next_wakeup()
    request = e.next_request(max(now, wake or 0.0))
    assert request is not None
    return request


def cancelled(*codes: str) -> TransportError:
    reasons = [{"Code": code} for code in codes]
    return TransportError(
        "TransactionCanceledException", "cancelled", 400, {"CancellationReasons": reasons}
    )


def test_every_attempt_carries_the_same_token_and_parameters() -> None:
    e = engine()
    first = send(e, 0.0)
    assert first.params["ClientRequestToken"] == "tok-1"
    assert first.params["TransactItems"] is ITEMS
    e.on_error(first, TransportError(TransportError.NO_ANSWER, "dropped"), 0.0)
    assert e.next_request(0.0) is None or e.next_wakeup() == 0.0  # waits for its backoff
    second = send(e, 0.5)
    assert second.params == first.params
    e.on_response(second, {"ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 4.0}]}, 0.6)
    assert e.outcome == "done" and e.attempts == 2
    assert e.stats.requests == 2 and e.stats.retries == 1 and e.stats.capacity == {"t": 4.0}
    assert e.next_request(1.0) is None


def test_a_conflict_is_retried_then_succeeds() -> None:
    e = engine()
    e.on_error(send(e, 0.0), cancelled("None", "TransactionConflict"), 0.0)
    assert e.outcome == "pending" and e.reasons is None
    e.on_response(send(e, 0.0), {}, 1.0)
    assert e.outcome == "done"


@pytest.mark.parametrize(
    ("codes", "retried"),
    [
        (["None", "TransactionConflict"], True),
        (["ThrottlingError", "None"], True),
        (["ProvisionedThroughputExceeded"], True),
        (["None", "ConditionalCheckFailed"], False),
        (["TransactionConflict", "ConditionalCheckFailed"], False),
        (["ValidationError"], False),
        ([], False),
    ],
)
def test_which_cancellations_are_retried(codes: list[str], retried: bool) -> None:
    assert retryable_cancellation([{"Code": c} for c in codes]) is retried


def test_any_other_reason_is_final_and_kept() -> None:
    e = engine()
    e.on_error(send(e, 0.0), TransportError("InternalServerError", "boom", 500), 0.0)
    assert e.maybe_applied
    e.on_error(send(e, 0.0), cancelled("None", "ConditionalCheckFailed"), 0.5)
    # With the token, the cancellation says the earlier attempt was not applied either.
    assert e.outcome == "cancelled" and not e.maybe_applied
    assert e.reasons == [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}]
    assert e.next_request(5.0) is None and e.attempts == 2


def test_a_transaction_in_progress_is_waited_for() -> None:
    e = engine()
    e.on_error(send(e, 0.0), TransportError("TransactionInProgressException", "busy", 400), 0.0)
    assert e.outcome == "pending"
    e.on_response(send(e, 0.0), {}, 0.5)
    assert e.outcome == "done"


def test_attempts_running_out_after_a_drop_is_an_unknown_outcome() -> None:
    e = engine()
    e.on_error(send(e, 0.0), TransportError(TransportError.NO_ANSWER, "dropped"), 0.0)
    e.on_error(send(e, 0.0), TransportError("ThrottlingException", "slow", 400), 0.5)
    e.on_error(send(e, 0.0), TransportError("ThrottlingException", "slow", 400), 1.0)
    assert e.outcome == "unknown" and "all 3 attempts" in e.why
    assert e.next_request(9.0) is None and e.next_wakeup() is None


def test_attempts_running_out_without_a_drop_is_not_done() -> None:
    e = engine()
    for now in (0.0, 0.5, 1.0):
        e.on_error(send(e, now), TransportError(TransportError.NOT_SENT, "refused"), now)
    assert e.outcome == "not_done"


def test_a_read_transaction_is_never_of_unknown_outcome() -> None:
    e = engine(operation="TransactGetItems")
    request = send(e, 0.0)
    assert "ClientRequestToken" not in request.params
    e.on_error(request, TransportError(TransportError.NO_ANSWER, "dropped"), 0.0)
    e.abandon(send(e, 0.0))
    assert e.outcome == "not_done"


def test_a_rejection_is_final_and_unknown_after_a_drop() -> None:
    e = engine()
    e.on_error(send(e, 0.0), TransportError("ValidationException", "bad", 400), 0.0)
    assert e.outcome == "rejected" and e.error is not None and e.error.code == "ValidationException"
    e = engine()
    e.on_error(send(e, 0.0), TransportError(TransportError.NO_ANSWER, "dropped"), 0.0)
    e.on_error(send(e, 0.0), TransportError("ValidationException", "bad", 400), 0.5)
    assert e.outcome == "unknown"


def test_no_retry_is_planned_past_the_deadline() -> None:
    e = engine(RetryPolicy(max_attempts=10, base_delay=5.0, max_delay=5.0, deadline=1.0))
    e.on_error(send(e, 0.0), TransportError("ThrottlingException", "slow", 400), 0.9)
    assert e.outcome == "not_done" and "deadline" in e.why
    e = engine()
    assert e.next_request(10.0) is None and e.outcome == "not_done"


def test_no_resend_of_an_unclear_attempt_once_the_token_may_have_expired() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.0, deadline=3600.0)
    e = engine(policy)
    e.on_error(send(e, 0.0), TransportError(TransportError.NO_ANSWER, "dropped"), 0.0)
    assert e.next_request(IDEMPOTENCY_WINDOW) is None
    assert e.outcome == "unknown" and "idempotency window" in e.why


def test_abandoned_and_withdrawn_attempts() -> None:
    e = engine()
    e.abandon(send(e, 0.0))
    assert e.outcome == "unknown"
    e = engine()
    request = send(e, 0.0)
    e.withdraw(request)
    assert e.outcome == "not_done" and e.attempts == 0
    e.on_response(request, {}, 1.0)  # a second outcome of a settled attempt is ignored
    assert e.outcome == "not_done"


def test_stop_sends_nothing_more_but_an_answer_in_flight_counts() -> None:
    e = engine()
    request = send(e, 0.0)
    e.stop()
    e.on_response(request, {}, 0.1)
    assert e.outcome == "done"
    e = engine()
    e.on_error(send(e, 0.0), TransportError("ThrottlingException", "slow", 400), 0.0)
    e.stop()
    assert e.next_request(5.0) is None and e.outcome == "not_done"
