"""The thread driver's lookahead: requests prepared in runs on the flushing thread.

Every request prepared ahead is either sent (as prepared, or signed again when it waited
too long) or handed back to the engine unsent: a fatal error, the deadline or an
interrupt never sends one late, and never loses one.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from _dynamap.drivers import ahead, threads
from _dynamap.transport.asyncbase import AsyncPreparing
from _dynamap.transport.base import Prepared, Preparing, wraps_call
from dynamap import FlushError, RetryPolicy, Session, TransportError
from tests.support.fake import FakeClock, FakeDynamo
from tests.support.models import User


class PreparingFake(FakeDynamo):
    """FakeDynamo that prepares requests (recording where and when) and sends them."""

    def __init__(
        self, clock: FakeClock, seconds_per_call: float = 0.0, seconds_per_prepare: float = 0.0
    ) -> None:
        super().__init__({"users": ("pk", "sk")})
        self.clock = clock
        self.seconds_per_call = seconds_per_call
        self.seconds_per_prepare = seconds_per_prepare
        self.sent_at: list[float] = []  # the clock at each call (sent as prepared or not)
        self.events: list[str] = []  # "prepare" and "call", in order
        self.prepared: list[tuple[int, float]] = []  # (thread, clock) of each prepare
        self.sent_prepared = 0
        self.prepare_errors: list[Exception] = []
        self.interrupt_on_send: int | None = None  # raise KeyboardInterrupt on that send

    def prepare(self, operation: str, params: dict[str, Any]) -> Prepared:
        self.prepared.append((threading.get_ident(), self.clock.now))
        self.events.append("prepare")
        self.clock.now += self.seconds_per_prepare
        if self.prepare_errors:
            raise self.prepare_errors.pop(0)
        return Prepared((operation, params), 100)

    def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        assert prepared.request[0] == operation
        self.sent_prepared += 1
        return self.call(operation, prepared.request[1])

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.interrupt_on_send is not None and len(self.calls) == self.interrupt_on_send:
            self.interrupt_on_send = None
            raise KeyboardInterrupt
        self.sent_at.append(self.clock.now)
        self.events.append("call")
        self.clock.now += self.seconds_per_call
        return super().call(operation, params)


def prepares(transport: object) -> bool:
    """Whether the thread driver prepares `transport`'s requests ahead."""
    return isinstance(transport, Preparing) and not wraps_call(transport)


def aio_prepares(transport: object) -> bool:
    """Whether the asyncio driver prepares `transport`'s requests ahead."""
    return isinstance(transport, AsyncPreparing) and not wraps_call(transport)


def users(n: int) -> list[User]:
    return [User(pk=f"u{i:04d}", sk="p", name=f"n{i}") for i in range(n)]


def session(fake: PreparingFake, concurrency: int = 1, deadline: float = 1000.0) -> Session:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, deadline=deadline)
    return Session(
        transport=fake,
        clock=fake.clock,
        sleep=fake.clock.sleep,
        rng=random.Random(1),
        concurrency=concurrency,
        retry=policy,
    )


def test_the_fake_is_a_preparing_transport():
    assert isinstance(PreparingFake(FakeClock()), Preparing)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_requests_are_prepared_in_one_run_on_the_flushing_thread(concurrency: int):
    fake = PreparingFake(FakeClock())
    with session(fake, concurrency) as s:
        for user in users(300):
            s.put(user)
    assert len(fake.calls) == 12 == fake.sent_prepared  # every request sent as prepared
    assert {thread for thread, _ in fake.prepared} == {threading.get_ident()}
    assert len(fake.data["users"]) == 300


def test_runs_are_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 3)
    fake = PreparingFake(FakeClock())
    runs: list[int] = []
    prepare = fake.prepare

    def counting(operation: str, params: dict[str, Any]) -> Prepared:
        if len(fake.prepared) == len(fake.calls):  # nothing waiting: a new run starts
            runs.append(0)
        runs[-1] += 1
        return prepare(operation, params)

    fake.prepare = counting  # type: ignore[method-assign]
    with session(fake) as s:
        for user in users(250):
            s.put(user)
    assert runs == [3, 3, 3, 1] and len(fake.data["users"]) == 250


def test_a_request_that_waited_too_long_is_prepared_again_as_it_is_sent():
    fake = PreparingFake(FakeClock(), seconds_per_call=ahead.PREPARED_FOR / 2)
    with session(fake) as s:
        for user in users(100):
            s.put(user)
    # Prepared together at t=0; sent at t=0, 15, 30 (still fresh) and 45 (too old).
    assert len(fake.calls) == 4 and fake.sent_prepared == 3
    assert len(fake.data["users"]) == 100


def test_a_request_that_fails_to_prepare_is_sent_by_call_which_reports_the_failure():
    fake = PreparingFake(FakeClock())
    fake.prepare_errors = [RuntimeError("no credentials")]
    with session(fake) as s:
        for user in users(50):
            s.put(user)
    assert len(fake.calls) == 2 and fake.sent_prepared == 1  # the first went through call
    assert len(fake.data["users"]) == 50


def test_after_a_fatal_error_nothing_prepared_ahead_is_sent():
    fake = PreparingFake(FakeClock())
    fake.errors = [TransportError("ValidationException", "refused")]
    s = session(fake)
    for user in users(100):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert len(fake.calls) == 1 and len(fake.prepared) == 4  # three prepared, never sent
    assert len(caught.value.unprocessed) == 100 and not caught.value.unknown
    fake.errors = []
    caught.value.resend(s)
    s.flush()
    assert len(fake.data["users"]) == 100


def test_requests_waiting_ahead_at_the_deadline_expire_unsent():
    fake = PreparingFake(FakeClock(), seconds_per_call=4.0)
    s = session(fake, deadline=10.0)
    for user in users(100):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert len(fake.calls) == 3  # at t=0, 4 and 8; the fourth would go at t=12
    assert "25 were waiting when the 10s deadline passed" in str(caught.value)
    assert len(caught.value.unprocessed) == 25 and not caught.value.unknown


@pytest.mark.parametrize("concurrency", [1, 4])
def test_nothing_goes_out_when_a_slow_prepare_run_ends_past_the_deadline(concurrency: int):
    # Preparing takes time (a large run, or credentials refreshed over the network): the
    # run starts at t=0 and ends at t=12, past the 10s deadline. Sending what it prepared
    # then, on the time read before the run, would break the deadline.
    fake = PreparingFake(FakeClock(), seconds_per_prepare=3.0)
    s = session(fake, concurrency, deadline=10.0)
    for user in users(100):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert fake.sent_at == []  # nothing sent at t >= 10
    assert len(caught.value.unprocessed) == 100 and not caught.value.unknown


def test_a_run_ends_at_the_first_request_that_fails_to_prepare():
    # A transport failing to prepare (credentials that fail to refresh, each attempt
    # possibly a network round trip) fails the same way on `call`, which stops the flush:
    # trying to prepare every other request of the run first only delays that, unbounded
    # by the deadline.
    fake = PreparingFake(FakeClock())
    fake.prepare_errors = [RuntimeError("no credentials")] * 4
    fake.errors = [TransportError("ValidationException", "as call fails")]
    s = session(fake)
    for user in users(100):
        s.put(user)
    with pytest.raises(FlushError) as caught:
        s.flush()
    assert fake.events == ["prepare", "call"]
    assert len(caught.value.unprocessed) == 100


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_interrupt_hands_back_what_was_prepared_ahead(concurrency: int):
    fake = PreparingFake(FakeClock())
    fake.interrupt_on_send = 2
    s = session(fake, concurrency)
    for user in users(200):
        s.put(user)
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    sent = len(fake.calls)
    assert sent <= 2 + concurrency
    s.flush()  # what was not done waits in the session: sent now, nothing twice
    assert len(fake.data["users"]) == 200
    assert len(fake.calls) - sent <= 8 - 2 + 1  # the rest, plus any write of unknown outcome


def test_an_interrupt_before_a_request_leaves_the_ahead_run_hands_it_back_unsent(
    monkeypatch: pytest.MonkeyPatch,
):
    """Inline (no pool): an interrupt while the driver takes a request out of the run,
    before the transport has it, must not report its writes as maybe applied."""
    from _dynamap.core.engine import FlushEngine, WriteUnit
    from tests.unit.core.test_engine import key_of

    def interrupted(self: Any, request: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(threads._Driver, "_taken", interrupted)  # pyright: ignore[reportPrivateUsage]
    fake = PreparingFake(FakeClock())
    fake.keys, fake.data = {"a": ("pk",)}, {"a": {}}
    item = {"pk": {"S": "k"}}
    unit = WriteUnit("a", {"TableName": "a", "Item": item}, key_of("a", item), single="PutItem")
    engine = FlushEngine(
        writes=[unit], key_of=key_of, policy=RetryPolicy(), rng=random.Random(1), start=0.0
    )
    with pytest.raises(KeyboardInterrupt):
        threads.drive(engine, fake, pool=None, concurrency=1, absorb=lambda: None, clock=fake.clock)
    assert fake.calls == []
    assert not unit.maybe_applied and engine.unfinished() == [unit] and engine.unsent == [unit]


@pytest.mark.parametrize("interrupt_at", [0, 1, 3])
def test_every_unit_is_accounted_for_after_an_interrupt(interrupt_at: int):
    """Straight on the driver: each unit ends written or in `unfinished()`, once."""
    from concurrent.futures import ThreadPoolExecutor

    from _dynamap.core.engine import WriteUnit
    from tests.unit.drivers.helpers import drive_until_interrupted

    fake = PreparingFake(FakeClock())
    fake.interrupt_on_send = interrupt_at
    with ThreadPoolExecutor(2) as pool:
        engine = drive_until_interrupted(threads.drive, fake, 200, pool=pool, concurrency=2)
    assert len(engine.written) == len(fake.data["a"])
    assert all(isinstance(u, WriteUnit) for u in engine.unfinished())
    assert len(fake.calls) <= engine.stats.requests <= len(fake.calls) + 2  # + interrupted


def test_a_fast_transport_subclass_wrapping_call_sees_every_request(
    monkeypatch: pytest.MonkeyPatch,
):
    from _dynamap.transport.aiofast import AioFastTransport
    from _dynamap.transport.fast import FastTransport

    class Logged(FastTransport):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return super().call(operation, params)

    class LoggedAll(Logged):
        def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
            return super().send(operation, prepared)

    class AioLogged(AioFastTransport):
        async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return await super().call(operation, params)

    monkeypatch.setattr(FastTransport, "__init__", lambda self, client: None)
    monkeypatch.setattr(AioFastTransport, "__init__", lambda self, client: None)
    assert prepares(FastTransport(None))
    assert not prepares(Logged(None))
    assert prepares(LoggedAll(None))
    assert aio_prepares(AioFastTransport(None))
    assert not aio_prepares(AioLogged(None))


def test_a_mixin_wrapping_call_sees_every_request(monkeypatch: pytest.MonkeyPatch):
    """`class Logged(LogCalls, FastTransport)`: the mixin's call comes first in the MRO."""
    from _dynamap.transport.aiofast import AioFastTransport
    from _dynamap.transport.fast import FastTransport

    class LogCalls:
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return super().call(operation, params)  # type: ignore[misc]

    class AioLogCalls:
        async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return await super().call(operation, params)  # type: ignore[misc]

    class LogSends:
        def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
            return super().send(operation, prepared)  # type: ignore[misc]

    class Logged(LogCalls, FastTransport):
        pass

    class LoggedAll(LogSends, Logged):
        pass

    class AioLogged(AioLogCalls, AioFastTransport):
        pass

    monkeypatch.setattr(FastTransport, "__init__", lambda self, client: None)
    monkeypatch.setattr(AioFastTransport, "__init__", lambda self, client: None)
    assert not prepares(Logged(None))
    assert prepares(LoggedAll(None))
    assert not aio_prepares(AioLogged(None))


def test_a_subclass_keeps_the_prepare_it_inherits(monkeypatch: pytest.MonkeyPatch):
    """A transport's own `prepare` is not replaced by FastTransport's in its subclasses."""
    from _dynamap.transport.aiofast import AioFastTransport
    from _dynamap.transport.fast import FastTransport

    class Tweaked(FastTransport):
        def prepare(self, operation: str, params: dict[str, Any]) -> Prepared:
            return Prepared("tweaked", 1)

    class Sub(Tweaked):
        pass

    class Wrapped(Tweaked):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return super().call(operation, params)

    class WrappedAll(Wrapped):
        def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
            return super().send(operation, prepared)

    class AioTweaked(AioFastTransport):
        def prepare(self, operation: str, params: dict[str, Any], credentials: Any) -> Prepared:
            return Prepared("tweaked", 1)

    class AioSub(AioTweaked):
        pass

    monkeypatch.setattr(FastTransport, "__init__", lambda self, client: None)
    monkeypatch.setattr(AioFastTransport, "__init__", lambda self, client: None)
    assert Sub(None).prepare("PutItem", {}).request == "tweaked"
    assert not prepares(Wrapped(None))
    assert WrappedAll(None).prepare("PutItem", {}).request == "tweaked"
    assert AioSub(None).prepare("PutItem", {}, None).request == "tweaked"


def test_a_flush_through_a_transport_wrapping_call_sends_every_request_by_call():
    class Counted(PreparingFake):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.counted = getattr(self, "counted", 0) + 1
            return super().call(operation, params)

    fake = Counted(FakeClock())
    with session(fake, 4) as s:
        for user in users(300):
            s.put(user)
    assert fake.prepared == [] and fake.sent_prepared == 0
    assert fake.counted == len(fake.calls) == 12 and len(fake.data["users"]) == 300


def test_a_prepared_request_carries_its_reader_to_the_transport():
    """A BatchGetItem's reader (core: BatchRequest.reader) goes with its prepared form, which
    the fast transports read its answer with (codec/wireread.py)."""
    from _dynamap.codec.wireread import BatchGetReader
    from _dynamap.core.engine import BatchRequest

    class Engine:
        def __init__(self, requests: list[BatchRequest]) -> None:
            self.requests = requests

        def next_request(self, now: float) -> BatchRequest | None:
            return self.requests.pop(0) if self.requests else None

        def may_send(self, now: float) -> bool:
            return True

    reader = BatchGetReader({"t": None})
    with_reader = BatchRequest("BatchGetItem", {"RequestItems": {}}, [], reader=reader)
    without = BatchRequest("BatchWriteItem", {"RequestItems": {}}, [])
    run = ahead.Ahead(Engine([with_reader, without]), lambda: 0.0)  # type: ignore[arg-type]
    prepare = lambda op, params: Prepared((op, params), 1)  # noqa: E731
    first = run.next(0.0, prepare)
    assert first is not None and first[1] is not None and first[1].reader is reader
    run.taken(first[0])
    second = run.next(0.0, prepare)
    assert second is not None and second[1] is not None and second[1].reader is None
