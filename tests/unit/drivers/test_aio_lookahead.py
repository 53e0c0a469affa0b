"""The asyncio driver's lookahead: runs of requests prepared on the event loop, with one
credentials fetch per run, sent oldest first; nothing prepared is lost or sent late."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from _dynamap.core.engine import FlushEngine
from _dynamap.drivers import aio as aio_driver
from _dynamap.transport.asyncbase import AsyncPreparing
from _dynamap.transport.base import Prepared
from dynamap import FlushError, RetryPolicy
from dynamap.aio import AsyncSession
from tests.support.fake import FakeClock, FakeDynamo
from tests.unit.core.test_engine import key_of, put_unit
from tests.unit.drivers.test_lookahead import users


class AsyncPreparingFake:
    """An AsyncPreparing transport over FakeDynamo; each call moves the fake clock."""

    def __init__(self, clock: FakeClock, seconds_per_call: float = 0.0) -> None:
        self.fake = FakeDynamo({"users": ("pk", "sk"), "a": ("pk",)})
        self.clock = clock
        self.seconds_per_call = seconds_per_call
        self.events: list[str] = []
        self.credential_errors: list[Exception] = []
        self.cancel_on_call: int | None = None
        self.victim: asyncio.Task[Any] | None = None  # cancelled at call `cancel_on_call`
        self.answering = 0

    async def credentials(self) -> Any:
        self.events.append("credentials")
        await asyncio.sleep(0)
        if self.credential_errors:
            raise self.credential_errors.pop(0)
        return "creds"

    def prepare(self, operation: str, params: dict[str, Any], credentials: Any) -> Prepared:
        assert credentials == "creds"
        self.events.append("prepare")
        return Prepared((operation, params), 100)

    async def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        self.events.append("send")
        return await self._answer(operation, prepared.request[1])

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.events.append("call")
        return await self._answer(operation, params)

    async def _answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.answering += 1
        if self.cancel_on_call is not None and self.answering - 1 == self.cancel_on_call:
            assert self.victim is not None
            self.victim.cancel()
        await asyncio.sleep(0)
        self.clock.now += self.seconds_per_call
        return self.fake.call(operation, params)


def session(fake: AsyncPreparingFake, concurrency: int = 1, deadline: float = 1000.0) -> Any:
    async def sleep(seconds: float) -> None:
        fake.clock.sleep(seconds)

    return AsyncSession(
        transport=fake,
        clock=fake.clock,
        sleep=sleep,
        rng=random.Random(1),
        concurrency=concurrency,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.02, deadline=deadline),
    )


def failed_flush(fake: Any, count: int, **kwargs: Any) -> FlushError:
    """Put `count` users in a session on `fake` and return the FlushError its flush raises."""

    async def main() -> None:
        s = session(fake, **kwargs)
        for user in users(count):
            s.put(user)
        await s.flush()

    with pytest.raises(FlushError) as caught:
        asyncio.run(main())
    return caught.value


def test_the_fake_is_an_async_preparing_transport():
    assert isinstance(AsyncPreparingFake(FakeClock()), AsyncPreparing)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_run_is_prepared_with_one_credentials_fetch_then_sent(concurrency: int):
    fake = AsyncPreparingFake(FakeClock())

    async def main() -> None:
        async with session(fake, concurrency) as s:
            for user in users(300):
                s.put(user)

    asyncio.run(main())
    assert fake.events[:13] == ["credentials"] + ["prepare"] * 12
    assert fake.events[13:] == ["send"] * 12
    assert len(fake.fake.data["users"]) == 300


def test_credentials_that_fail_leave_the_request_to_call():
    fake = AsyncPreparingFake(FakeClock())
    fake.credential_errors = [RuntimeError("refresh failed")]

    async def main() -> None:
        async with session(fake) as s:
            for user in users(50):
                s.put(user)

    asyncio.run(main())
    assert fake.events == ["credentials", "call", "credentials", "prepare", "send"]
    assert len(fake.fake.data["users"]) == 50


def test_requests_waiting_ahead_at_the_deadline_expire_unsent():
    fake = AsyncPreparingFake(FakeClock(), seconds_per_call=4.0)

    caught = failed_flush(fake, 100, deadline=10.0)
    assert fake.events.count("send") == 3  # at t=0, 4 and 8
    assert "25 were waiting when the 10s deadline passed" in str(caught)
    assert len(caught.unprocessed) == 25 and not caught.unknown


def test_after_a_fatal_error_nothing_prepared_ahead_is_sent():
    from dynamap import TransportError

    fake = AsyncPreparingFake(FakeClock())
    fake.fake.errors = [TransportError("ValidationException", "refused")]

    caught = failed_flush(fake, 100)
    assert fake.events.count("send") == 1 and fake.events.count("prepare") == 4
    assert len(caught.unprocessed) == 100 and not caught.unknown


@pytest.mark.parametrize("cancel_at", [0, 1, 3])
def test_every_unit_is_accounted_for_after_a_cancellation(cancel_at: int):
    """Straight on the driver: each unit ends written or in `unfinished()`, once."""
    fake = AsyncPreparingFake(FakeClock())
    fake.cancel_on_call = cancel_at
    units = [put_unit("a", f"k{i}") for i in range(200)]
    engine = FlushEngine(
        writes=units, key_of=key_of, policy=RetryPolicy(), rng=random.Random(1), start=0.0
    )

    async def main() -> None:
        fake.victim = asyncio.current_task()
        await aio_driver.drive(
            engine, fake, concurrency=2, absorb=lambda: None, clock=fake.clock, grace=1.0
        )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    written = [id(u) for u in engine.written]
    left = [id(u) for u in engine.unfinished()]
    assert sorted(written + left) == sorted(id(u) for u in units)
    assert len(written) == len(fake.fake.data["a"])
    assert engine.stats.requests <= len(fake.fake.calls) + 2  # + those cut short


class SlowCredentials(AsyncPreparingFake):
    """Credentials that take `seconds` of the fake clock, then fail (or are cancelled)."""

    def __init__(self, clock: FakeClock, seconds: float, error: BaseException | None) -> None:
        super().__init__(clock)
        self.seconds = seconds
        self.error = error
        self.sent_at: list[float] = []

    async def credentials(self) -> Any:
        self.events.append("credentials")
        await asyncio.sleep(0)
        self.clock.now += self.seconds
        if self.error is not None:
            raise self.error
        return "creds"

    async def _answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent_at.append(self.clock.now)
        return await super()._answer(operation, params)


def test_credentials_failing_past_the_deadline_send_nothing():
    """The request held while credentials were fetched is not sent by `call` once the
    deadline passed meanwhile: it waits again, and expires unsent."""
    fake = SlowCredentials(FakeClock(), seconds=11.0, error=RuntimeError("refresh failed"))

    caught = failed_flush(fake, 10, deadline=10.0)
    assert fake.sent_at == []
    assert len(caught.unprocessed) == 10 and not caught.unknown


def test_a_cancellation_while_credentials_are_fetched_hands_the_run_back_unsent():
    fake = SlowCredentials(FakeClock(), seconds=1.0, error=asyncio.CancelledError())
    units = [put_unit("a", f"k{i}") for i in range(60)]
    engine = FlushEngine(
        writes=units, key_of=key_of, policy=RetryPolicy(), rng=random.Random(1), start=0.0
    )

    async def main() -> None:
        await aio_driver.drive(engine, fake, concurrency=2, absorb=lambda: None, clock=fake.clock)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert fake.sent_at == [] and not engine.written and not engine.abandoned
    assert sorted(id(u) for u in engine.unfinished()) == sorted(id(u) for u in units)
    assert not any(u.maybe_applied for u in units)
