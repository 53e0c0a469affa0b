"""One call at a time: a session used by a second thread (or re-entered) refuses, never drops."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from _dynamap.model.model import model_info
from dynamap import DynamapError
from tests.support.fake import FakeDynamo
from tests.support.models import Order, User
from tests.unit.session.helpers import make, seed_users, session

WAIT = 10.0  # seconds; only reached if the test is broken


class Gate(FakeDynamo):
    """A transport whose first call waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__({"users": ("pk", "sk"), "orders": ("pk",)})
        self.entered = threading.Event()
        self.gate = threading.Event()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.entered.set()
        assert self.gate.wait(WAIT)
        return super().call(operation, params)


def run(target: Any) -> tuple[threading.Thread, list[BaseException]]:
    """Start `target` on a new thread; exceptions it raises are collected."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, errors


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_call_from_another_thread_during_a_flush_is_refused(concurrency):
    fake = Gate()
    s = session(fake, concurrency=concurrency)
    s.put(Order(pk="o1"))
    flushing, errors = run(s.flush)
    assert fake.entered.wait(WAIT)  # the flush is sending its first request
    late = Order(pk="o2")
    calls = [
        ("put", (late,)),
        ("delete", (late,)),
        ("get", (User, "u1", "p")),
        ("flush", ()),
        ("clear", ()),
        ("close", ()),
        ("expunge", (late,)),
    ]
    for name, args in calls:
        with pytest.raises(DynamapError, match=r"in use by another call \(in thread "):
            getattr(s, name)(*args)
    fake.gate.set()
    flushing.join(WAIT)
    assert errors == []
    assert list(fake.data["orders"]) == [("o1",)]
    # The refused put raised, so the caller knows; made again, it goes through.
    s.put(late)
    assert s.flush().items_written == 1
    assert sorted(fake.data["orders"]) == [("o1",), ("o2",)]


def test_a_put_during_the_planning_of_a_flush_is_refused_not_dropped():
    """The original bug: a put that replaced a write being planned was silently dropped."""
    fake = make()
    s = session(fake)
    first = Order(pk="o1", total=1)
    second = Order(pk="o1", total=2)
    refused: list[DynamapError] = []
    codec = model_info(Order).codec
    snapshot = codec.snapshot

    def put_while_planning(obj: Any) -> Any:  # runs inside the flush, between plan and send
        try:
            s.put(second)
        except DynamapError as exc:
            refused.append(exc)
        return snapshot(obj)

    s.put(first)
    codec.snapshot = put_while_planning
    try:
        s.flush()
    finally:
        codec.snapshot = snapshot
    assert len(refused) == 1
    assert "called during a flush of this session, from the flushing thread" in str(refused[0])
    assert fake.data["orders"][("o1",)]["total"] == {"N": "1"}
    s.put(second)  # after the flush: accepted and written
    assert s.flush().items_written == 1
    assert fake.data["orders"][("o1",)]["total"] == {"N": "2"}


def test_result_of_a_read_being_flushed_by_another_thread_is_refused_until_done():
    fake = Gate()
    s = session(fake)
    pending = s.get(User, "u1", "p")
    flushing, errors = run(s.flush)
    assert fake.entered.wait(WAIT)  # the read is in flight on the other thread
    with pytest.raises(DynamapError, match="in use by another call"):
        pending.result()
    fake.gate.set()
    flushing.join(WAIT)
    assert errors == [] and pending.result() is None


def test_a_session_can_be_handed_from_thread_to_thread():
    fake = make()
    seed_users(fake, 2)
    s = session(fake)
    first = s.get(User, "u0", "p")
    worker, errors = run(lambda: (s.flush(), s.put(Order(pk="o1")), s.get(User, "u1", "p")))
    worker.join(WAIT)
    assert errors == []
    assert first.result() is not None  # read by the other thread
    assert s.flush().items_written == 1  # its put, flushed here
    assert s.get(User, "u1", "p").result() is not None
    with s:  # and back to another thread inside a block
        worker, errors = run(lambda: s.put(Order(pk="o2")))
        worker.join(WAIT)
        assert errors == []
    assert ("o2",) in fake.data["orders"]
