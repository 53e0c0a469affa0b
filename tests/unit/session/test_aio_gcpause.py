"""AsyncSession pauses the cyclic collector for a whole flush, its awaits included.

aiobotocore parses every answer on the event loop, between the driver's steps; with the
collector running there, its allocations set off collections over the flush's working
set (bench/README.md, async benchmark). So the pause covers the waits, as Session's
covers the worker threads, and nothing inside the flush lets a collection through.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from _dynamap.drivers import gcpause
from dynamap.aio import AsyncSession
from tests.support.fake import FakeDynamo
from tests.support.models import User
from tests.unit.session.helpers import make, seed_users


def collecting() -> bool:
    return gc.isenabled() and gc.get_threshold()[0] > 0


class Watching:
    """An AsyncTransport over FakeDynamo noting, while each call waits, whether gc collects."""

    def __init__(self, fake: FakeDynamo) -> None:
        self.fake = fake
        self.seen: list[bool] = []

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)  # other tasks (the driver, aiobotocore's parsing) run here
        self.seen.append(collecting())
        return self.fake.call(operation, params)


def test_the_collector_is_paused_while_requests_are_awaited_and_restored_after() -> None:
    fake = make()
    transport = Watching(fake)

    async def main(pause_gc: bool) -> bool:
        async with AsyncSession(transport=transport, pause_gc=pause_gc, concurrency=2) as s:
            for i in range(60):  # three BatchWriteItems
                s.put(User(pk=f"u{i}", sk="p", name="x"))
            await s.flush()
            return collecting()

    assert collecting()
    assert asyncio.run(main(pause_gc=True)) is True
    assert transport.seen == [False, False, False]
    transport.seen.clear()
    assert asyncio.run(main(pause_gc=False)) is True
    assert transport.seen == [True, True, True]


def test_a_long_flush_lets_no_full_collection_through_between_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = make()
    seed_users(fake, 300)
    now = [0.0]

    def clock() -> float:  # every look at the clock finds the pause a MAX_PAUSE older
        now[0] += gcpause.MAX_PAUSE
        return now[0]

    monkeypatch.setattr(gcpause._PAUSER, "clock", clock)  # pyright: ignore[reportPrivateUsage]
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    async def main() -> list[User | None]:
        async with AsyncSession(transport=Watching(fake), concurrency=1) as s:
            found = [s.get(User, f"u{i}", "p") for i in range(300)]  # three BatchGetItems
            gc.callbacks.append(count)
            try:
                await s.flush()
            finally:
                gc.callbacks.remove(count)
            return [d.result() for d in found]

    users = asyncio.run(main())
    assert [u.name if u else None for u in users] == [f"name{i}" for i in range(300)]
    assert full == []
