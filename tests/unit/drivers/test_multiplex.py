"""The multiplexing driver: requests started, polled and read on the flushing thread.

The fake transport applies a request when it starts (as a server would on receiving
it) and answers through a pipe that becomes readable when the answer is released.
Every unit ends written or handed back, once, whatever fails or is cut short.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import pytest

from _dynamap.core.engine import WriteUnit
from _dynamap.drivers import multiplex
from _dynamap.transport.base import Multiplexing, Prepared
from dynamap import FlushError, RetryPolicy, Session, TransportError
from tests.support.fake import FakeClock
from tests.unit.drivers.helpers import drive_until_interrupted
from tests.unit.drivers.test_lookahead import PreparingFake, session, users


class Started:
    """A request the fake started: its answer waits in `response` until released."""

    def __init__(self, fake: MultiplexFake, response: dict[str, Any] | Exception) -> None:
        self.fake = fake
        self.response = response
        self.done = False
        self.wants_write = False
        self.closed = False
        self.cut_short = False
        self.sent = False
        self.interrupt_after_send = len(fake.started) + 1 == fake.interrupt_after_send
        self.read, self.write = os.pipe()
        if fake.answer_at_once:
            self.release()

    def release(self) -> None:
        os.write(self.write, b"x")

    def fileno(self) -> int:
        return self.read

    def step(self) -> None:
        if not self.sent:  # the first step sends it (as an Exchange's does)
            self.sent = True
            if self.interrupt_after_send:
                raise KeyboardInterrupt  # right after the send: how much left is unsure
        elif os.read(self.read, 1):
            self._end()

    def expired(self, now: float) -> bool:
        if self.fake.expire and not self.done:
            self.response = TransportError(TransportError.NO_ANSWER, "no answer within 0 s")
            self._end()
            return True
        return False

    def cut(self) -> None:
        if self.fake.cut_error is not None:
            raise self.fake.cut_error
        self.cut_short = True
        self.response = TransportError(TransportError.NO_ANSWER, "cut")

    def close(self) -> None:
        self.closed = True
        self._end()

    def _end(self) -> None:
        if not self.done:
            self.done = True
            self.fake.live.discard(self)
            os.close(self.read)
            os.close(self.write)

    def result(self) -> dict[str, Any]:
        if self.fake.interrupt_on_result == self.fake.results:
            self.fake.interrupt_on_result = None
            raise KeyboardInterrupt
        self.fake.results += 1
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


class MultiplexFake(PreparingFake):
    """PreparingFake that can also start requests and leave them to the driver."""

    multiplexed = True
    request_timeout = 0.2  # the flush's linger

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock or FakeClock())
        self.live: set[Started] = set()
        self.started: list[Started] = []
        self.most_live = 0
        self.threads: set[int] = set()
        self.start_errors: list[Exception] = []
        self.answer_at_once = True
        self.expire = False
        self.results = 0
        self.interrupt_on_result: int | None = None
        self.interrupt_after_send: int | None = None  # the n-th started request's (from 1)
        self.cut_error: Exception | None = None  # what cutting a request raises

    def start(self, operation: str, prepared: Prepared) -> Started:
        self.threads.add(threading.get_ident())
        if self.start_errors:
            raise self.start_errors.pop(0)
        try:
            response: dict[str, Any] | Exception = self.send(operation, prepared)
        except TransportError as exc:
            response = exc
        started = Started(self, response)
        self.started.append(started)
        self.live.add(started)
        self.most_live = max(self.most_live, len(self.live))
        return started


def test_the_fake_multiplexes():
    fake = MultiplexFake()
    assert isinstance(fake, Multiplexing) and multiplex.multiplexes(fake)


@pytest.mark.parametrize("concurrency", [2, 4])
def test_requests_go_out_at_most_concurrency_at_once_on_the_flushing_thread(concurrency: int):
    fake = MultiplexFake()
    threads = threading.active_count()
    with session(fake, concurrency) as s:
        for user in users(300):
            s.put(user)
    assert len(fake.started) == 12 == fake.sent_prepared == fake.results
    assert fake.most_live == concurrency
    assert fake.threads == {threading.get_ident()}
    assert threading.active_count() <= threads  # no worker was started
    assert len(fake.data["users"]) == 300 and not fake.live


def test_answers_held_back_are_read_as_they_come():
    fake = MultiplexFake()
    fake.answer_at_once = False
    released: list[Started] = []

    def release_later() -> None:
        deadline = time.monotonic() + 10
        while len(released) < 12 and time.monotonic() < deadline:
            for started in list(fake.started):
                if started not in released:
                    released.append(started)
                    time.sleep(0.005)
                    started.release()
            time.sleep(0.001)

    helper = threading.Thread(target=release_later)
    helper.start()
    with session(fake, 4) as s:
        for user in users(300):
            s.put(user)
    helper.join()
    assert len(fake.data["users"]) == 300 and len(fake.started) == 12


class Failing(MultiplexFake):
    """Fails its first `failures` sends (threads) or starts (multiplexed) with `error`."""

    def __init__(self, error: Exception, failures: int = 1) -> None:
        super().__init__()
        self.error, self.failures = error, failures

    def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise self.error
        return super().send(operation, prepared)

    def start(self, operation: str, prepared: Prepared) -> Started:
        if self.failures:
            self.failures -= 1
            raise self.error
        return super().start(operation, prepared)


def _sizes(fake: MultiplexFake) -> list[int]:
    return sorted(len(params["RequestItems"]["users"]) for _, params in fake.calls)


def test_a_start_that_fails_is_retried_as_a_failed_call_is(monkeypatch: pytest.MonkeyPatch):
    sent: list[list[int]] = []
    for multiplexed in (True, False):
        monkeypatch.setattr(multiplex, "MULTIPLEX", multiplexed)
        fake = Failing(TransportError("ThrottlingException", "slow down", 400), failures=2)
        with session(fake, 4) as s:
            for user in users(100):
                s.put(user)
        assert len(fake.data["users"]) == 100 and fake.failures == 0
        sent.append(_sizes(fake))
    assert sent[0] == sent[1]  # the engine decides alike (here: throttled batches split)


@pytest.mark.parametrize("multiplexed", [True, False])
def test_a_client_side_failure_to_start_ends_as_a_failed_call_does(
    multiplexed: bool, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(multiplex, "MULTIPLEX", multiplexed)
    fake = Failing(OSError("x"))
    s = session(fake, 1 if not multiplexed else 4)  # inline: the first request fails first
    for user in users(100):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert "ClientError: OSError: x" in str(caught.value)
    assert len(caught.value.unknown) == 25  # it may have left: maybe applied
    assert len(caught.value.unprocessed) == 75 and not fake.data["users"]


def test_a_request_not_prepared_ahead_is_prepared_as_it_starts():
    fake = MultiplexFake()
    fake.prepare_errors = [RuntimeError("not now")]
    with session(fake, 4) as s:
        for user in users(50):
            s.put(user)
    assert len(fake.data["users"]) == 50
    assert fake.events.count("prepare") == 3  # failed once ahead, then again as it started


def test_an_answer_that_never_comes_is_no_answer_and_retried():
    fake = MultiplexFake()
    fake.answer_at_once = False
    fake.expire = True
    s = session(fake, 2)
    for user in users(10):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    # Applied on the server (the fake stored them), but never answered: unknown.
    assert len(caught.value.unknown) == 10 and len(fake.data["users"]) == 10
    assert len(fake.started) > 1  # retried before giving up


def test_what_is_live_at_an_interrupt_comes_back_and_is_reported():
    fake = MultiplexFake()
    fake.interrupt_on_result = 1  # reading the second answer
    s = session(fake, 4)
    for user in users(200):
        s.put(user)
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    assert not fake.live  # every live request was read or closed
    s.flush()  # what was not done waits in the session: sent now
    assert len(fake.data["users"]) == 200


@pytest.mark.parametrize("interrupt_at", [0, 1, 3])
def test_every_unit_is_accounted_for_after_an_interrupt(interrupt_at: int):
    fake = MultiplexFake()
    fake.interrupt_on_result = interrupt_at
    engine = drive_until_interrupted(multiplex.drive_multiplexed, fake, 200, concurrency=3)
    assert len(engine.written) <= len(fake.data["a"])  # the interrupted one was applied, unknown
    assert all(isinstance(u, WriteUnit) for u in engine.unfinished())
    assert not fake.live


def test_past_the_deadline_live_requests_are_closed_as_of_unknown_outcome():
    fake = MultiplexFake()
    fake.answer_at_once = False  # never answered
    policy = RetryPolicy(deadline=0.2)
    s = Session(transport=fake, concurrency=2, retry=policy, rng=random.Random(1))
    for user in users(50):
        s.put(user)
    began = time.monotonic()
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert time.monotonic() - began < 0.2 + fake.request_timeout + 1.5  # deadline + linger
    # Still in flight: they end on workers, as stragglers the next flush waits for.
    assert len(fake.started) == 2 and len(s._stragglers) == 2
    assert len(caught.value.unknown) == 50  # 2 x 25 sent; the rest never went out
    fake.expire = True  # their read timeout
    s.close()  # waits for the workers
    assert not fake.live


def test_a_transport_wrapping_call_or_send_is_not_multiplexed():
    class Counted(MultiplexFake):
        def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
            return super().send(operation, prepared)

    class Logged(MultiplexFake):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return super().call(operation, params)

    class Own(Logged):
        def start(self, operation: str, prepared: Prepared) -> Started:
            return super().start(operation, prepared)

    assert not multiplex.multiplexes(Counted())
    assert not multiplex.multiplexes(Logged())
    assert multiplex.multiplexes(Own())  # its own start comes after both
    with session(fake := Counted(), 4) as s:
        for user in users(100):
            s.put(user)
    assert fake.started == [] and fake.sent_prepared == 4


def test_without_concurrency_or_when_switched_off_the_threads_send(monkeypatch: pytest.MonkeyPatch):
    fake = MultiplexFake()
    with session(fake, 1) as s:  # inline on the flushing thread, as before
        for user in users(50):
            s.put(user)
    assert fake.started == [] and fake.sent_prepared == 2
    monkeypatch.setattr(multiplex, "MULTIPLEX", False)
    assert not multiplex.multiplexes(fake)


def test_a_request_cut_by_an_interrupt_while_it_leaves_is_waited_for_as_unknown():
    """An interrupt inside a request's first step (its send): how much left is unsure.
    It is cut (sends no more), waited for like every live request, and of unknown
    outcome; nothing is lost or counted twice."""
    fake = MultiplexFake()
    fake.interrupt_after_send = 2
    engine = drive_until_interrupted(multiplex.drive_multiplexed, fake, 100, concurrency=3)
    cut = fake.started[1]
    assert cut.cut_short and cut.done and not fake.live  # waited for, not left behind
    assert sum(u.maybe_applied for u in engine.unfinished()) == 25  # the cut request's


def test_a_request_that_fails_to_be_cut_is_closed_as_of_unknown_outcome():
    """Cutting the request an interrupt left unsure raises: it is closed instead (it
    must send no more), its writes of unknown outcome; the interrupt propagates."""
    fake = MultiplexFake()
    fake.interrupt_after_send = 2
    fake.cut_error = OSError("cannot shut the socket")
    engine = drive_until_interrupted(multiplex.drive_multiplexed, fake, 100, concurrency=3)
    cut = fake.started[1]
    assert cut.closed and not cut.cut_short and not fake.live
    assert sum(u.maybe_applied for u in engine.unfinished()) == 25  # the cut request's


def test_a_cut_request_still_unanswered_after_the_linger_becomes_a_straggler():
    fake = MultiplexFake()
    fake.interrupt_after_send = 1
    fake.answer_at_once = False  # never answered within the linger
    s = session(fake, 2)
    s._linger = lambda: 0.2  # type: ignore[method-assign]
    for user in users(25):
        s.put(user)
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    cut = fake.started[0]
    assert cut.cut_short and not cut.done and not cut.closed
    assert len(s._stragglers) == 1  # the next flush waits for it
    fake.expire = True
    s.close()
    assert cut.done
