"""What only AsyncSession does, on DynamoDB Local through the fault proxy: reads of
concurrent tasks coalesced into batches, and a cancelled flush.

(Everything the sync Session does is checked for AsyncSession too: the backend test
modules run for both, see `session_flavor` in tests/conftest.py.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import pytest

from dynamap import DynamapError, Model, PartitionKey, RetryPolicy, Session
from dynamap.aio import AsyncSession
from tests.support.aio import aio_client
from tests.support.faults import ALL_OPS, FaultPlan
from tests.support.tables import create_tables, scan_all


class Item(Model, table="aitems"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""


class Counter(Model, table="acounters"):
    pk: Annotated[str, PartitionKey()]
    n: int = 0


@pytest.fixture
def tables(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, Item, Counter)
    with Session(direct_client, table_prefix=table_prefix) as s:
        for i in range(300):
            s.put(Item(pk=f"i{i}", body=f"body {i}"))
    return table_prefix


@pytest.mark.parametrize(("tasks", "requests"), [(100, 1), (250, 3)])
def test_gets_awaited_by_concurrent_tasks_go_in_shared_batches(proxy, tables, tasks, requests):
    async def main() -> list[Item | None]:
        async with (
            aio_client(proxy.endpoint) as client,
            AsyncSession(client, table_prefix=tables) as session,
        ):

            async def one(i: int) -> Item | None:
                return await session.get(Item, f"i{i}")

            return await asyncio.gather(*(one(i) for i in range(tasks)))

    found = asyncio.run(main())
    assert [item.body if item else None for item in found] == [f"body {i}" for i in range(tasks)]
    assert proxy.counts.requests["BatchGetItem"] == requests
    assert proxy.counts.keys["BatchGetItem"] == tasks


def test_reads_awaited_while_a_batch_is_in_flight_go_in_the_next_one(proxy, tables):
    proxy.set_plan(FaultPlan(latency=0.3))

    async def main() -> tuple[Item | None, Item | None]:
        async with (
            aio_client(proxy.endpoint) as client,
            AsyncSession(client, table_prefix=tables) as session,
        ):
            first = asyncio.ensure_future(session.get(Item, "i1"))  # type: ignore[arg-type]
            await asyncio.sleep(0.1)  # its BatchGetItem is in flight
            second = await session.get(Item, "i2")
            return await first, second

    first, second = asyncio.run(main())
    assert first is not None and first.body == "body 1"
    assert second is not None and second.body == "body 2"
    assert proxy.counts.requests["BatchGetItem"] == 2


def test_a_cancelled_flush_keeps_plain_puts_pending_and_reports_an_add_as_unknown(
    proxy, direct_client, tables
):
    """2 s of latency, cancelled at 0.5 s, 0.5 s of grace: nothing answers in time."""
    direct_client.put_item(TableName=f"{tables}acounters", Item={"pk": {"S": "c"}, "n": {"N": "0"}})
    proxy.set_plan(FaultPlan(latency=2.0, operations=ALL_OPS))
    add = Counter.path(lambda c: c.n).add(1)

    async def main() -> None:
        async with aio_client(proxy.endpoint) as client:
            session = AsyncSession(client, table_prefix=tables, cancel_grace=0.5)
            for i in range(60):
                session.put(Item(pk=f"new{i}", body="new"))
            counted = session.update_key(Counter, "c", add)
            flush = asyncio.ensure_future(session.flush())
            await asyncio.sleep(0.5)
            started = time.monotonic()
            flush.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flush
            assert time.monotonic() - started < 0.5 + 0.4  # the grace, then it propagates
            with pytest.raises(DynamapError, match="may or may not have been applied"):
                await counted  # of unknown outcome: not sent again
            assert len(session._state.writes) == 60  # every plain put is pending again
            proxy.set_plan(FaultPlan())
            report = await session.flush()  # waits for the requests left in flight first
            assert report.items_written == 60
            await session.close()

    asyncio.run(main())
    stored = {i["pk"]["S"]: i for i in scan_all(direct_client, f"{tables}aitems")}
    assert all(stored[f"new{i}"]["body"] == {"S": "new"} for i in range(60))
    time.sleep(2.0)  # the abandoned UpdateItem reaches the table after its latency
    (counter,) = scan_all(direct_client, f"{tables}acounters")
    assert counter["n"]["N"] in ("0", "1")  # applied at most once
    assert proxy.counts.requests["UpdateItem"] == 1  # and never sent again


def test_a_cancelled_flush_waits_the_grace_for_answers_in_flight(proxy, direct_client, tables):
    """0.6 s of latency, cancelled at 0.2 s, 3 s of grace: every outcome becomes known."""
    direct_client.put_item(TableName=f"{tables}acounters", Item={"pk": {"S": "c"}, "n": {"N": "0"}})
    proxy.set_plan(FaultPlan(latency=0.6, operations=ALL_OPS))
    add = Counter.path(lambda c: c.n).add(1)

    async def main() -> None:
        async with aio_client(proxy.endpoint) as client:
            session = AsyncSession(client, table_prefix=tables, cancel_grace=3.0)
            for i in range(30):
                session.put(Item(pk=f"new{i}", body="new"))
            counted = session.update_key(Counter, "c", add)
            flush = asyncio.ensure_future(session.flush())
            await asyncio.sleep(0.2)
            flush.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flush
            counter = await counted  # answered within the grace: done, no request
            assert counter is not None and counter.n == 1
            assert session._state.writes == {}  # the puts were answered too
            proxy.reset_counts()
            assert (await session.flush()).requests == 0
            await session.close()

    asyncio.run(main())
    assert len(scan_all(direct_client, f"{tables}aitems")) == 330


def test_a_flush_cancelled_while_waiting_to_retry_leaves_the_rest_pending(proxy, tables):
    proxy.set_plan(FaultPlan(throttle=1.0))
    slow = RetryPolicy(max_attempts=5, base_delay=5.0, max_delay=5.0, deadline=30.0)

    async def main() -> None:
        async with aio_client(proxy.endpoint) as client:
            session = AsyncSession(client, table_prefix=tables, retry=slow)
            for i in range(3):
                session.put(Item(pk=f"t{i}"))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(session.flush(), 0.5)  # throttled, then sleeping
            assert len(session._state.writes) == 3
            proxy.set_plan(FaultPlan())
            assert (await session.flush()).items_written == 3
            await session.close()

    asyncio.run(main())
