"""Transactions in the session, over a scripted transport: what the session keeps, hands
back or forgets for each outcome (applied, not applied, unknown, interrupted)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dynamap import (
    DynamapError,
    RequestRejectedError,
    RetryPolicy,
    Session,
    TransactionCanceledError,
    TransportError,
    UnprocessedError,
)
from tests.support.fake import FakeClock
from tests.support.models import Order

Answer = dict[str, Any] | BaseException
O = Order.path  # noqa: E741


class Scripted:
    """A transport answering each call with the next scripted answer (or raising it)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def session(transport: Scripted, attempts: int = 3) -> Session:
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.01)
    return Session(
        transport=transport, clock=clock, sleep=clock.sleep, rng=random.Random(1), retry=policy
    )


def loaded(s: Session, transport: Scripted, pk: str, total: int) -> Order:
    transport.answers.append(
        {"Responses": {"orders": [{"pk": {"S": pk}, "total": {"N": str(total)}}]}}
    )
    order = s.get(Order, pk).result()
    assert order is not None
    return order


DROPPED = TransportError(TransportError.NO_ANSWER, "dropped")
THROTTLED = TransportError("ThrottlingException", "slow", 400)


def test_atomic_flush_applied_advances_snapshots_and_fails_update_results() -> None:
    t = Scripted()
    s = session(t)
    order = loaded(s, t, "o1", 1)
    order.total = 2
    result = s.update_key(Order, "o2", O(lambda o: o.total).add(1))
    t.answers.append({})
    report = s.flush(atomic=True)
    operation, params = t.calls[-1]
    assert operation == "TransactWriteItems" and len(params["TransactItems"]) == 2
    assert "ReturnValues" not in params["TransactItems"][1]["Update"]
    assert report.items_written == 2
    with pytest.raises(DynamapError, match="returns no item"):
        result.result()
    calls = len(t.calls)
    s.flush()
    assert len(t.calls) == calls  # the change was taken as written


def test_atomic_flush_not_applied_keeps_the_writes_pending() -> None:
    t = Scripted()
    s = session(t, attempts=2)
    order = loaded(s, t, "o1", 1)
    t.answers += [THROTTLED, THROTTLED]
    order.total = 2
    s.put(Order(pk="o3"))
    with pytest.raises(UnprocessedError, match="stay pending") as caught:
        s.flush(atomic=True)
    assert caught.value.unprocessed == [] and caught.value.unknown == []
    t.answers.append({})
    s.flush(atomic=True)  # the same two writes, sent again
    assert len(t.calls[-1][1]["TransactItems"]) == 2
    assert t.calls[-1][1]["ClientRequestToken"] != t.calls[-2][1]["ClientRequestToken"]


def test_atomic_flush_of_unknown_outcome_hands_the_writes_back() -> None:
    t = Scripted()
    s = session(t, attempts=2)
    order = loaded(s, t, "o1", 1)
    t.answers += [DROPPED, THROTTLED]
    order.total = 2
    pending = s.update_key(Order, "o2", O(lambda o: o.total).add(1))
    with pytest.raises(UnprocessedError, match="outcome unknown") as caught:
        s.flush(atomic=True)
    assert sorted(u.key["pk"]["S"] for u in caught.value.unknown) == ["o1", "o2"]
    with pytest.raises(UnprocessedError):
        pending.result()
    calls = len(t.calls)
    s.flush()  # nothing pending, nothing tracked: nothing is sent twice
    assert len(t.calls) == calls


def test_a_rejected_transaction_hands_its_writes_back() -> None:
    t = Scripted(TransportError("ValidationException", "no", 400))
    s = session(t)
    order = Order(pk="o1")
    with pytest.raises(RequestRejectedError, match="ValidationException") as caught:  # noqa: SIM117
        with s.transaction() as tx:
            tx.put(order)
            tx.check(Order, "o2", condition=O(lambda o: o.total).gt(0))
    (handed,) = caught.value.unprocessed  # the check is no write: nothing to resend
    assert handed.instance is order and caught.value.operation == "TransactWriteItems"
    assert s.get(Order, "o1").done is False  # not tracked: a get reads the table


def test_a_cancellation_with_fewer_reasons_than_actions_has_no_holes() -> None:
    cancel = TransportError(
        "TransactionCanceledException",
        "cancelled",
        400,
        {"CancellationReasons": [{"Code": "ValidationError", "Message": "bad"}]},
    )
    t = Scripted(cancel)
    s = session(t)
    with pytest.raises(TransactionCanceledError) as caught:  # noqa: SIM117
        with s.transaction() as tx:
            tx.put(Order(pk="o1"))
            tx.delete(Order(pk="o2"))
    assert [(r.operation, r.code, r.message) for r in caught.value.reasons] == [
        ("put", "ValidationError", "bad"),
        ("delete", "None", ""),
    ]


def test_an_interrupt_after_sending_forgets_the_keys() -> None:
    t = Scripted()
    s = session(t)
    order = loaded(s, t, "o1", 1)
    order.total = 5
    t.answers.append(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        s.flush(atomic=True)
    calls = len(t.calls)
    s.flush()  # the write-back may have been applied: it is not resent
    assert len(t.calls) == calls
    assert s.get(Order, "o1").done is False  # the key is read afresh


def test_a_transaction_applied_tracks_puts_and_forgets_deletes() -> None:
    t = Scripted()
    s = session(t)
    gone = loaded(s, t, "o1", 1)
    new = Order(pk="o2", total=3)
    t.answers.append({})
    with s.transaction() as tx:
        tx.delete(gone)
        tx.put(new)
    assert s.get(Order, "o2").result() is new
    assert s.get(Order, "o1").result() is None  # deleted: answered without a request
    assert len(t.calls) == 2
    with pytest.raises(DynamapError, match="ended"):
        tx.delete(new)


def test_an_empty_transaction_sends_nothing() -> None:
    t = Scripted()
    s = session(t)
    with s.transaction() as tx:
        pass
    with s.read_transaction():
        pass
    assert s.flush(atomic=True).requests == 0
    assert t.calls == [] and tx.report is not None and tx.report.requests == 0


class Stuck:
    """BatchWriteItem hangs until released (a request left in flight); the rest is scripted."""

    request_timeout = 0.05

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.calls: list[str] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "BatchWriteItem":
            self.release.wait(10)
        return {}


def test_a_transaction_on_a_key_an_abandoned_request_may_still_write_is_refused() -> None:
    transport = Stuck()
    s = Session(transport=transport, retry=RetryPolicy(deadline=0.05), concurrency=2)
    try:
        s.put(Order(pk="o1", total=1))
        with pytest.raises(UnprocessedError):
            s.flush()  # the BatchWriteItem is abandoned in flight: it may still land
        with pytest.raises(DynamapError, match="still in flight"), s.transaction() as tx:
            tx.put(Order(pk="o1", total=2))
        s.put(Order(pk="o1", total=3))
        with pytest.raises(DynamapError, match="still in flight"):
            s.flush(atomic=True)
        assert "TransactWriteItems" not in transport.calls  # nothing was sent
        with s.transaction() as tx:  # another key is free to go
            tx.put(Order(pk="o2", total=2))
        assert transport.calls.count("TransactWriteItems") == 1
    finally:
        transport.release.set()
        s.close()


def test_an_interrupt_while_recording_an_applied_atomic_flush_leaves_nothing_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from _dynamap.session import txplan

    t = Scripted({})
    s = session(t)
    result = s.update_key(Order, "o2", O(lambda o: o.total).add(1))
    s.put(Order(pk="o3", total=3))
    real_fail = txplan.fail
    calls = {"n": 0}

    def fail_once(deferred: Any, error: Exception) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # lands while the applied transaction is recorded
        real_fail(deferred, error)

    monkeypatch.setattr(txplan, "fail", fail_once)
    with pytest.raises(KeyboardInterrupt):
        s.flush(atomic=True)
    assert [op for op, _ in t.calls] == ["TransactWriteItems"]
    s.flush()  # both writes were applied: neither is sent again (no second increment)
    assert [op for op, _ in t.calls] == ["TransactWriteItems"]
    with pytest.raises(DynamapError, match="returns no item"):
        result.result()
