"""Transactions and requests a session stopped waiting for (stragglers), both ways.

A request abandoned while in flight may still land. A late transaction must not
overwrite a newer write of its keys, and a transaction must not be overtaken by a late
write of an earlier flush: what the ordinary flush guarantees by holding back writes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from dynamap import DynamapError, Session, UnprocessedError
from dynamap.aio import AsyncSession
from tests.support.models import Order


class Slow:
    """An AsyncTransport: a call of `slow_op` takes `delay` seconds; every call is logged."""

    request_timeout = 0.3  # how long a session waits for a straggler

    def __init__(self, slow_op: str, delay: float) -> None:
        self.slow_op = slow_op
        self.delay = delay
        self.log: list[tuple[str, str, Any]] = []

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.log.append(("start", operation, params))
        if operation == self.slow_op:
            await asyncio.sleep(self.delay)
        self.log.append(("end", operation, params))
        return {}


def _events(log: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    return [(event, operation) for event, operation, _ in log]


def test_a_cancelled_atomic_flush_is_waited_for_by_the_next_flush_of_its_keys() -> None:
    transport = Slow("TransactWriteItems", 0.15)

    async def main() -> None:
        session = AsyncSession(transport=transport, concurrency=1, cancel_grace=0.0)
        session.put(Order(pk="o1", total=1))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(session.flush(atomic=True), 0.02)
        session.put(Order(pk="o1", total=2))
        await session.flush()  # must not be overtaken by the late transaction
        await asyncio.sleep(0.2)

    asyncio.run(main())
    # The abandoned transaction ended before the newer write went out.
    assert _events(transport.log) == [
        ("start", "TransactWriteItems"),
        ("end", "TransactWriteItems"),
        ("start", "BatchWriteItem"),
        ("end", "BatchWriteItem"),
    ]


def test_an_async_transaction_is_refused_while_a_late_write_of_its_key_is_in_flight() -> None:
    transport = Slow("BatchWriteItem", 1.0)

    async def main() -> None:
        session = AsyncSession(transport=transport, concurrency=1, cancel_grace=0.0)
        session.put(Order(pk="o1", total=1))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(session.flush(), 0.02)
        session.put(Order(pk="o1", total=2))  # newer than the write in flight
        with pytest.raises(UnprocessedError, match="still in flight"):
            await session.flush(atomic=True)  # waits 0.3 s, then refuses: nothing sent
        assert "TransactWriteItems" not in [op for _, op, _ in transport.log]
        assert len(session._state.writes) == 1  # still pending
        with pytest.raises(UnprocessedError, match="still in flight") as caught:
            async with session.transaction() as tx:
                tx.put(Order(pk="o1", total=3))
        assert [u.key for u in caught.value.unprocessed] == [{"pk": {"S": "o1"}}]
        await asyncio.sleep(0.5)  # the late write has landed: now it goes
        await session.flush(atomic=True)

    asyncio.run(main())
    assert _events(transport.log)[-2:] == [
        ("start", "TransactWriteItems"),
        ("end", "TransactWriteItems"),
    ]


class Blocking:
    """A Transport whose BatchWriteItem carrying key `pk` waits for `release`."""

    request_timeout = 0.2

    def __init__(self, pk: str) -> None:
        self.pk = pk
        self.release = threading.Event()
        self.answered = threading.Event()
        self.calls: list[str] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "BatchWriteItem":
            keys = [r["PutRequest"]["Item"]["pk"]["S"] for r in params["RequestItems"]["orders"]]
            if self.pk in keys:
                self.release.wait(5)
            else:
                time.sleep(0.05)
                self.answered.set()
        return {}


def test_a_transaction_is_refused_while_a_late_write_of_its_key_is_in_flight() -> None:
    transport = Blocking("o25")

    def clock() -> float:
        if transport.answered.is_set():  # an interrupt once the other request answered
            transport.answered.clear()
            raise KeyboardInterrupt
        return time.monotonic()

    s = Session(transport=transport, concurrency=2, clock=clock)
    for i in range(26):  # two BatchWriteItem requests: o0..o24, then o25
        s.put(Order(pk=f"o{i}", total=1))
    try:
        with pytest.raises(KeyboardInterrupt):
            s.flush()
        s.put(Order(pk="o25", total=2))  # newer than the write in flight
        with pytest.raises(UnprocessedError, match="still in flight") as caught:  # noqa: SIM117
            with s.transaction() as tx:
                tx.put(Order(pk="o25", total=3))
        assert [u.key for u in caught.value.unprocessed] == [{"pk": {"S": "o25"}}]
        with pytest.raises(UnprocessedError, match="still in flight"):
            s.flush(atomic=True)
        assert "TransactWriteItems" not in transport.calls
    finally:
        transport.release.set()
        s.close()


def test_a_transaction_of_a_closed_async_session_is_refused() -> None:
    transport = Slow("", 0.0)

    async def main() -> None:
        session = AsyncSession(transport=transport)
        await session.close()
        with pytest.raises(DynamapError, match="closed"):
            async with session.transaction() as tx:
                tx.put(Order(pk="o1"))
        with pytest.raises(DynamapError, match="closed"):
            async with session.read_transaction() as rt:
                rt.get(Order, "o1")

    asyncio.run(main())
    assert transport.log == []  # nothing sent, as Session refuses it


class SlowRaw(Slow):
    """Slow, taking batched puts as RawItems (as the fast transports do)."""

    raw_items = True


@pytest.mark.parametrize("transport_class", [Slow, SlowRaw])
def test_a_write_held_behind_a_late_transaction_carrying_it_is_of_unknown_outcome(
    transport_class: type[Slow],
) -> None:
    transport = transport_class("TransactWriteItems", 1.0)

    async def main() -> None:
        session = AsyncSession(transport=transport, concurrency=1, cancel_grace=0.0)
        session.put(Order(pk="o1", total=1))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(session.flush(atomic=True), 0.02)
        session.put(Order(pk="o1", total=1))  # the very write the transaction carries
        with pytest.raises(UnprocessedError, match="may still be in flight") as caught:
            await session.flush()  # held back: the late transaction may still land it
        assert caught.value.unprocessed == []
        assert [u.key for u in caught.value.unknown] == [{"pk": {"S": "o1"}}]
        await asyncio.sleep(1.0)

    asyncio.run(main())
