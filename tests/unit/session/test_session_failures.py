"""What a session holds after a flush fails, is interrupted, or cannot tell what happened.

Every write ends as done, handed back as not done (`FlushError.unprocessed`), or handed
back as of unknown outcome (`FlushError.unknown`); an interrupted flush keeps what it did
not do pending. Over the in-memory transport, with a fake clock where time does not matter.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated, Any

import pytest
from pydantic import field_validator

from dynamap import (
    DecodeError,
    DynamapError,
    EncodeError,
    FlushError,
    Model,
    PartitionKey,
    RequestRejectedError,
    RetryPolicy,
    Session,
    TransportError,
    UnprocessedError,
)
from tests.support.fake import FakeDynamo
from tests.support.models import Order, User
from tests.unit.session.helpers import seed_users, session


def make() -> FakeDynamo:
    return FakeDynamo({"users": ("pk", "sk"), "orders": ("pk",)}, seed=1)


def rejected() -> TransportError:
    return TransportError("ValidationException", "no", 400)


def names(fake: FakeDynamo) -> dict[str, str]:
    return {k[0]: v["name"]["S"] for k, v in fake.data["users"].items()}


# -- decode failures (any exception) --------------------------------------------------------


class Strict(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    total: Any = 0

    @field_validator("total")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        value.bit_length()  # AttributeError on anything but an int: not a ValidationError
        return value


def test_a_decode_failure_of_any_kind_fails_only_that_read():
    fake = make()
    fake.data["orders"][("o1",)] = {"pk": {"S": "o1"}, "total": {"S": "written by another app"}}
    fake.data["orders"][("o2",)] = {"pk": {"S": "o2"}, "total": {"N": "2"}}
    s = session(fake)
    bad, good = s.get(Strict, "o1"), s.get(Strict, "o2")
    s.put(Order(pk="o3", total=3))
    report = s.flush()  # the rest of the flush completes
    assert (report.items_read, report.items_written) == (2, 1)
    assert fake.data["orders"][("o3",)]["total"] == {"N": "3"}
    with pytest.raises(
        DecodeError, match=r"Strict item \('o1',\) in 'orders'.*AttributeError"
    ) as info:
        bad.result()
    assert isinstance(info.value.__cause__, AttributeError)
    result = good.result()
    assert result is not None and result.total == 2


# -- the state after a failed flush: one rule for deletes, puts and write-backs -------------


def test_a_failed_delete_does_not_hide_the_stored_item():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    s.delete(user)
    fake.errors = [rejected()]
    with pytest.raises(RequestRejectedError) as info:
        s.flush()
    (undone,) = info.value.unprocessed
    assert (undone.operation, undone.instance) == ("delete", user)
    again = s.get(User, "u0", "p").result()  # read again: the item is still stored
    assert again is not None and again.name == "name0"
    assert info.value.resend(s) == 1  # the caller resends from the error
    s.flush()
    assert fake.data["users"] == {}


def test_a_failed_put_is_not_taken_for_stored():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    new = User(pk="u9", sk="p", name="new")
    replacement = User(pk="u0", sk="p", name="replacement")
    s.put(new)
    s.put(replacement)
    fake.errors = [rejected()]
    with pytest.raises(RequestRejectedError) as info:
        s.flush()
    assert {u.instance.pk for u in info.value.unprocessed} == {"u9", "u0"}
    assert s.get(User, "u9", "p").result() is None  # what is stored, not the unsaved one
    stored = s.get(User, "u0", "p").result()
    assert stored is not None and stored.name == "name0" and stored is not replacement
    s.flush()
    assert fake.ops("BatchWriteItem")[-1:] == [fake.ops("BatchWriteItem")[-1]]
    assert names(fake) == {"u0": "name0"}  # nothing was resent behind the caller's back
    new.name = "edited after the failure"  # later edits go with an explicit resend
    assert info.value.resend(s) == 2
    s.flush()
    assert names(fake) == {"u0": "replacement", "u9": "edited after the failure"}


def test_a_failed_write_back_is_not_resent_behind_the_callers_back():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    user.name = "renamed"
    fake.errors = [rejected()]
    with pytest.raises(RequestRejectedError) as info:
        s.flush()
    (undone,) = info.value.unprocessed
    assert (undone.operation, undone.instance) == ("update", user)  # written back as an update
    writes = len(fake.calls)
    s.flush()
    assert len(fake.calls) == writes  # the same rule as for a failed put
    stored = s.get(User, "u0", "p").result()
    assert stored is not None and stored.name == "name0"
    info.value.resend(s)
    s.flush()
    assert names(fake) == {"u0": "renamed"}


def test_writes_done_before_a_failure_stay_done():
    fake = make()
    seed_users(fake, 1)
    s = session(fake, retry=RetryPolicy(max_attempts=2, base_delay=0.0))
    fake.withhold = lambda table, item: item["pk"]["S"] == "stuck"
    user = s.get(User, "u0", "p").result()
    assert user is not None
    s.delete(user)
    kept = User(pk="u1", sk="p", name="kept")
    s.put(kept)
    s.put(User(pk="stuck", sk="p", name="x"))
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.key["pk"]["S"] for u in info.value.unprocessed] == ["stuck"]
    assert info.value.report.items_not_done == 1
    assert s.get(User, "u0", "p").result() is None  # the delete was done
    assert s.get(User, "u1", "p").result() is kept  # the put was done
    kept.name = "edited"  # and is tracked: edits are written back
    s.flush()
    assert names(fake) == {"u1": "edited"}


# -- a flush that fails before sending keeps everything pending -----------------------------


class Ratio(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    ratio: float = 0.0


def test_a_flush_that_fails_before_sending_keeps_all_its_work_pending():
    fake = make()
    seed_users(fake, 2)
    s = session(fake)
    loaded = s.get(User, "u0", "p").result()
    assert loaded is not None
    loaded.name = "changed"
    gone = s.get(User, "u1", "p").result()
    assert gone is not None
    s.delete(gone)
    s.put(Order(pk="o1", total=1))
    bad = Ratio(pk="o2", ratio=float("nan"))  # DynamoDB has no NaN
    s.put(bad)
    pending = s.get(Order, "o9")
    calls = len(fake.calls)
    with pytest.raises(EncodeError):
        s.flush()
    assert len(fake.calls) == calls  # nothing was sent
    assert not pending.done
    bad.ratio = 2.0
    report = s.flush()
    assert (report.items_written, report.items_deleted) == (3, 1)
    assert names(fake) == {"u0": "changed"}
    assert fake.data["orders"][("o1",)]["total"] == {"N": "1"}
    assert fake.data["orders"][("o2",)]["ratio"] == {"N": "2.0"}
    assert pending.result() is None


# -- writes whose outcome is unknown ----------------------------------------------------------


class LosesAnswers(FakeDynamo):
    """Applies each write, then loses the answer of the calls listed in `lose`."""

    def __init__(self, *args: Any, lose: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lose = lose

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        response = super().call(operation, params)
        if len(self.calls) in self.lose:
            raise TransportError("ResponseLost", "connection closed before the answer")
        return response


def test_a_write_sent_without_an_answer_is_unknown_not_unprocessed():
    fake = LosesAnswers({"orders": ("pk",)}, lose={1})
    s = session(fake, retry=RetryPolicy(max_attempts=1))
    for i in range(3):
        s.put(Order(pk=f"o{i}", total=i))
    with pytest.raises(UnprocessedError, match=r"3 write\(s\) of unknown outcome") as info:
        s.flush()
    assert info.value.unprocessed == []
    assert sorted(u.key["pk"]["S"] for u in info.value.unknown) == ["o0", "o1", "o2"]
    assert (info.value.report.items_not_done, info.value.report.items_unknown) == (0, 3)
    assert len(fake.data["orders"]) == 3  # they were in fact applied


def test_a_write_resent_after_a_lost_answer_and_done_is_done():
    fake = LosesAnswers({"orders": ("pk",)}, lose={1})
    s = session(fake, retry=RetryPolicy(max_attempts=3, base_delay=0.0))
    s.put(Order(pk="o1", total=1))
    report = s.flush()
    assert (report.items_written, report.retries) == (1, 1)


def test_a_lost_answer_stays_unknown_even_if_later_attempts_are_refused():
    fake = LosesAnswers({"orders": ("pk",)}, lose={1})
    s = session(fake, retry=RetryPolicy(max_attempts=3, base_delay=0.0))
    s.put(Order(pk="o1", total=1))
    fake.withhold = lambda table, item: len(fake.calls) > 1  # then throttled item by item
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.key for u in info.value.unknown] == [{"pk": {"S": "o1"}}]  # the first may have landed
    assert info.value.unprocessed == []


def test_a_server_error_on_a_write_is_unknown_unless_a_retry_succeeds():
    fake = make()
    fake.errors = [TransportError("InternalServerError", "oops", 500)]
    s = session(fake, retry=RetryPolicy(max_attempts=1))
    s.put(Order(pk="o1"))
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.operation for u in info.value.unknown] == ["put"]
    assert info.value.unprocessed == []
    fake.errors = [TransportError("InternalServerError", "oops", 500)] * 2
    s.put(Order(pk="o1"))
    s.retry = RetryPolicy(max_attempts=3, base_delay=0.0)
    assert s.flush().items_written == 1  # retried to success: done
    fake.errors = [TransportError("InternalServerError", "oops", 500)]
    s.retry = RetryPolicy(max_attempts=1)
    s.get(Order, "o3")
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.operation for u in info.value.unprocessed] == ["get"]  # a read is simply not done
    assert info.value.unknown == []


# -- interrupts: KeyboardInterrupt, SystemExit, BaseException from a transport ----------------


class Interrupting(FakeDynamo):
    """Raises `exc` on call number `at` (counting from 1), before doing anything."""

    def __init__(self, *args: Any, at: int, exc: type[BaseException], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at, self.exc, self.count = at, exc, 0
        self.counting = threading.Lock()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.counting:
            self.count += 1
            count = self.count
        if count == self.at:
            raise self.exc()
        return super().call(operation, params)


@pytest.mark.parametrize("at", [1, 4])
@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_flush_keeps_what_it_did_not_do_pending(concurrency, exc, at):
    fake = Interrupting({"users": ("pk", "sk"), "orders": ("pk",)}, at=at, exc=exc)
    for i in range(150):
        fake.data["orders"][(f"o{i}",)] = {"pk": {"S": f"o{i}"}, "total": {"N": str(i)}}
    s = session(fake, concurrency=concurrency)
    reads = [s.get(Order, f"o{i}") for i in range(150)]  # 2 read requests
    for i in range(100):  # 4 write requests
        s.put(User(pk=f"u{i}", sk="p", name=f"n{i}"))
    with pytest.raises(exc):
        s.flush()
    s.flush()  # sends what the interrupted flush did not do
    assert names(fake) == {f"u{i}": f"n{i}" for i in range(100)}
    assert [r.result().total for r in reads] == list(range(150))  # type: ignore[union-attr]
    # The interrupted call did nothing, and nothing done was sent twice.
    sent = [w for p in fake.ops("BatchWriteItem") for w in p["RequestItems"]["users"]]
    assert len(sent) == 100
    keys = [
        k["pk"]["S"] for p in fake.ops("BatchGetItem") for k in p["RequestItems"]["orders"]["Keys"]
    ]
    assert sorted(keys) == sorted(f"o{i}" for i in range(150))
    assert s.flush().requests == 0


class Gated(FakeDynamo):
    """Each call after the first waits for `gate`; counts calls started and ended."""

    request_timeout = 0.3  # how long a flush waits for requests still in flight

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.started = self.ended = 0
        self.counting = threading.Lock()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.counting:
            self.started += 1
            first = self.started == 1
        try:
            if not first:
                self.gate.wait(10)
            return super().call(operation, params)
        finally:
            with self.counting:
                self.ended += 1


def interrupting_clock(fake: Gated) -> Any:
    """A real clock that raises KeyboardInterrupt once, when an answer came back while the
    driver has its three other requests in flight."""
    fired = []

    def clock() -> float:
        if not fired and fake.ended >= 1:
            until = time.monotonic() + 5
            while fake.started < 4 and time.monotonic() < until:  # all four have started
                time.sleep(0.001)
            fired.append(True)
            raise KeyboardInterrupt
        return time.monotonic()

    return clock


def test_an_interrupt_in_the_driver_waits_for_requests_in_flight():
    fake = Gated({"orders": ("pk",)})
    s = Session(transport=fake, concurrency=4, clock=interrupting_clock(fake))
    for i in range(100):
        s.put(Order(pk=f"o{i}", total=1))
    threading.Timer(0.05, fake.gate.set).start()  # in-flight requests end within the wait
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    assert fake.ended == fake.started == 4  # none was abandoned
    assert len(fake.data["orders"]) == 100  # all four requests were answered and settled
    assert s.flush().requests == 0  # so nothing is left to send


def test_a_request_abandoned_by_an_interrupt_cannot_overtake_a_later_write():
    fake = Gated({"orders": ("pk",)})
    s = Session(transport=fake, concurrency=4, clock=interrupting_clock(fake))
    for i in range(100):
        s.put(Order(pk=f"o{i}", total=1))
    with pytest.raises(KeyboardInterrupt):
        s.flush()  # three requests hang past the wait: abandoned, still in flight
    assert fake.started == 4 and fake.ended == 1
    assert len(fake.data["orders"]) == 25
    s.put(Order(pk="o99", total=2))  # a newer write of a key an abandoned request carries
    with pytest.raises(UnprocessedError, match="may still be in flight") as info:
        s.flush()  # held back: sending it now could be overtaken by the old request
    undone = {u.key["pk"]["S"]: u for u in info.value.unprocessed}
    assert undone["o99"].instance.total == 2
    unknown = {u.key["pk"]["S"] for u in info.value.unknown}
    assert unknown == {f"o{i}" for i in range(25, 100)} - {"o99"}  # the same as in flight
    fake.gate.set()  # the old requests land now ...
    deadline = time.monotonic() + 5
    while fake.ended < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    info.value.resend(s)
    s.flush()  # ... and the resent newer write after them
    assert fake.data["orders"][("o99",)]["total"] == {"N": "2"}
    assert len(fake.data["orders"]) == 100


def test_a_transport_raising_a_base_exception_in_a_worker_is_not_lost():
    class Custom(BaseException):
        pass

    fake = Interrupting({"orders": ("pk",)}, at=2, exc=Custom)
    s = session(fake, concurrency=4)
    for i in range(100):
        s.put(Order(pk=f"o{i}"))
    with pytest.raises(Custom):
        s.flush()
    s.flush()
    assert len(fake.data["orders"]) == 100


def test_flush_error_is_a_dynamap_error():
    assert issubclass(FlushError, DynamapError)


def test_a_flush_stops_waiting_one_request_timeout_after_its_deadline():
    class Hung(FakeDynamo):
        request_timeout = 0.2

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gate = threading.Event()

        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.gate.wait(10)
            return super().call(operation, params)

    fake = Hung({"orders": ("pk",)})
    s = Session(transport=fake, concurrency=2, retry=RetryPolicy(deadline=0.3))
    for i in range(30):
        s.put(Order(pk=f"o{i}"))
    started = time.monotonic()
    with pytest.raises(UnprocessedError, match="still in flight when the flush stopped") as info:
        s.flush()
    assert time.monotonic() - started < 0.3 + 0.2 + 0.3  # deadline + request timeout + slack
    assert len(info.value.unknown) == 30 and info.value.unprocessed == []
    fake.gate.set()
    s.close()
    assert len(fake.data["orders"]) == 30  # they did land, later


def test_a_real_ctrl_c_during_a_flush_loses_nothing():
    """SIGINT delivered to the main thread while it waits for requests in flight."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.fail("this test needs Python's default SIGINT handler")
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()

    class CtrlC(Gated):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            with self.counting:
                third = self.started == 2
            if third:
                signal.pthread_kill(main, signal.SIGINT)
                threading.Timer(0.05, self.gate.set).start()
            return super().call(operation, params)

    fake = CtrlC({"orders": ("pk",)})
    s = Session(transport=fake, concurrency=4)
    for i in range(200):
        s.put(Order(pk=f"o{i}", total=1))
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    assert fake.ended == fake.started  # every request in flight was waited for
    s.flush()
    assert len(fake.data["orders"]) == 200
    sent = [w for p in fake.ops("BatchWriteItem") for w in p["RequestItems"]["orders"]]
    assert len(sent) == 200  # and none was sent twice


def test_requests_that_never_left_the_queue_are_not_done_not_unknown():
    """Both workers hang on requests an earlier flush gave up on: the next flush's requests
    wait in the pool's queue, are withdrawn at its deadline, and were certainly not sent."""

    class Hung(FakeDynamo):
        request_timeout = 0.2

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gate = threading.Event()

        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.gate.wait(10)
            return super().call(operation, params)

    fake = Hung({"orders": ("pk",)})
    s = Session(transport=fake, concurrency=2, retry=RetryPolicy(deadline=0.2))
    for i in range(50):
        s.put(Order(pk=f"a{i}"))
    with pytest.raises(UnprocessedError) as first:
        s.flush()
    assert len(first.value.unknown) == 50  # abandoned in flight
    for i in range(30):
        s.put(Order(pk=f"b{i}"))
    with pytest.raises(UnprocessedError, match="never sent") as info:
        s.flush()
    assert info.value.unknown == []
    assert sorted(u.key["pk"]["S"] for u in info.value.unprocessed) == sorted(
        f"b{i}" for i in range(30)
    )
    fake.gate.set()
    s.close()
    assert sorted(k[0] for k in fake.data["orders"]) == sorted(f"a{i}" for i in range(50))


def test_an_instance_forgotten_after_a_failed_write_is_untracked_for_every_call():
    # Review: the session forgot the key but kept the instance in its by-instance map, so
    # expunge() raised a raw KeyError and put() of a re-keyed copy was refused.
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    loaded = s.get(User, "u0", "p").result()
    assert loaded is not None
    loaded.name = "renamed"
    fresh = User(pk="u5", sk="p", name="new")
    s.put(fresh)
    fake.errors = [rejected()]
    with pytest.raises(RequestRejectedError) as info:
        s.flush()
    assert {id(u.instance) for u in info.value.unprocessed} == {id(loaded), id(fresh)}
    s.expunge(loaded)  # no longer tracked: left alone
    fresh.pk = "u6"  # not tracked under u5 any more: may be put under its new key
    s.put(fresh)
    s.flush()
    assert names(fake) == {"u0": "name0", "u6": "new"}


def test_resending_a_failed_delete_deletes_the_key_it_was_made_for():
    # Review: resend() deleted by the instance's current key; an instance reused (its key
    # reassigned) after its delete made resend() delete another item and keep this one.
    fake = make()
    seed_users(fake, 2)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    s.delete(user)
    user.pk = "u1"  # the instance is reused after the delete was queued ...
    fake.errors = [rejected()]
    with pytest.raises(RequestRejectedError) as info:
        s.flush()
    (undone,) = info.value.unprocessed
    assert undone.key == {"pk": {"S": "u0"}, "sk": {"S": "p"}}
    assert undone.instance is user
    assert info.value.resend(s) == 1
    s.flush()
    assert names(fake) == {"u1": "name1"}


def test_an_interrupt_while_settling_keeps_what_was_not_done_pending(monkeypatch):
    from _dynamap.session.flush import FlushPlan

    fake = make()
    fake.withhold = lambda table, item: item["pk"]["S"] == "late"  # never done this flush
    s = session(fake, retry=RetryPolicy(max_attempts=1))
    s.put(User(pk="late", sk="p", name="late"))
    s.put(User(pk="soon", sk="p", name="soon"))
    split = FlushPlan._split

    def interrupted(self: FlushPlan, unfinished: Any) -> Any:
        monkeypatch.setattr(FlushPlan, "_split", split)  # once
        raise KeyboardInterrupt

    monkeypatch.setattr(FlushPlan, "_split", interrupted)
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    assert names(fake) == {"soon": "soon"}  # done before the interrupt stays done
    fake.withhold = lambda table, item: False
    s.flush()  # the write that was not done is still pending, not lost
    assert names(fake) == {"soon": "soon", "late": "late"}
