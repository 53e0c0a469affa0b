"""AsyncSession over an in-memory DynamoDB: awaiting, coalescing, sharing, cancellation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from typing import Any

import pytest

from dynamap import DynamapError, UnprocessedError
from dynamap.aio import AsyncDeferred, AsyncSession
from tests.support.fake import FakeDynamo
from tests.support.models import User
from tests.unit.session.helpers import make, seed_users


class AsyncFake:
    """An AsyncTransport over FakeDynamo, each call taking `delay` seconds."""

    def __init__(self, fake: FakeDynamo, delay: float = 0.0, pool_size: int | None = None) -> None:
        self.fake = fake
        self.delay = delay
        self.active = 0
        self.most = 0  # the most calls in flight at once
        if pool_size is not None:
            self.pool_size = pool_size

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            await asyncio.sleep(self.delay)
            return self.fake.call(operation, params)
        finally:
            self.active -= 1


def test_a_get_is_awaited_and_result_never_blocks():
    fake = make()
    seed_users(fake, 3)

    async def main() -> None:
        session = AsyncSession(transport=AsyncFake(fake))
        d = session.get(User, "u1", "p")
        assert isinstance(d, AsyncDeferred) and not d.done
        with pytest.raises(DynamapError, match=r"await it, or await session.flush\(\)"):
            d.result()
        assert fake.ops("BatchGetItem") == []  # result() sent nothing
        user = await d
        assert user is not None and user.name == "name1"
        assert d.result() is user  # settled: no I/O
        assert await session.get(User, "u1", "p") is user  # the identity map answers
        assert len(fake.ops("BatchGetItem")) == 1
        assert await session.get(User, "nobody", "p") is None

    asyncio.run(main())


def test_gets_of_many_tasks_in_one_tick_share_batches_and_each_gets_its_own():
    fake = make()
    seed_users(fake, 250)

    async def main() -> list[User | None]:
        session = AsyncSession(transport=AsyncFake(fake, delay=0.01))

        async def resolver(i: int) -> User | None:
            return await session.get(User, f"u{i}", "p")

        return await asyncio.gather(*(resolver(i) for i in range(250)))

    users = asyncio.run(main())
    assert [u.name if u else None for u in users] == [f"name{i}" for i in range(250)]
    assert [len(r["RequestItems"]["users"]["Keys"]) for r in fake.ops("BatchGetItem")] == [
        100,
        100,
        50,
    ]


def test_gets_of_nested_tasks_started_in_the_same_tick_join_the_batch():
    fake = make()
    seed_users(fake, 20)

    async def main() -> None:
        session = AsyncSession(transport=AsyncFake(fake))

        async def parent(i: int) -> list[User | None]:
            children = (session.get(User, f"u{j}", "p") for j in range(i * 5, i * 5 + 5))
            return await asyncio.gather(*children)  # each child awaited in its own task

        results = await asyncio.gather(*(parent(i) for i in range(4)))
        assert [u.name for group in results for u in group if u] == [f"name{i}" for i in range(20)]

    asyncio.run(main())
    assert len(fake.ops("BatchGetItem")) == 1


def test_a_failed_read_fails_its_own_task_only():
    fake = make()
    seed_users(fake, 3)
    fake.withhold = lambda table, key: key["pk"] == {"S": "u1"}  # u1 is never processed

    async def main() -> None:
        from dynamap import RetryPolicy

        session = AsyncSession(transport=AsyncFake(fake), retry=RetryPolicy(max_attempts=2))
        ok, bad = await asyncio.gather(
            session.get(User, "u0", "p"),  # type: ignore[arg-type]
            session.get(User, "u1", "p"),  # type: ignore[arg-type]
            return_exceptions=True,
        )
        assert isinstance(ok, User) and ok.name == "name0"
        assert isinstance(bad, UnprocessedError)

    asyncio.run(main())


def test_leaving_the_block_flushes_and_an_exception_sends_no_write():
    fake = make()

    async def main() -> None:
        async with AsyncSession(transport=AsyncFake(fake)) as session:
            session.put(User(pk="a", sk="p", name="A"))
        with pytest.raises(KeyError):
            async with AsyncSession(transport=AsyncFake(fake)) as session:
                session.put(User(pk="b", sk="p", name="B"))
                raise KeyError("boom")
        with pytest.raises(DynamapError, match="closed"):
            session.put(User(pk="c", sk="p", name="C"))

    asyncio.run(main())
    assert set(fake.data["users"]) == {("a", "p")}


def test_awaiting_an_update_flushes_the_session_and_versions_follow():
    fake = make()
    seed_users(fake, 1)

    async def main() -> None:
        async with AsyncSession(transport=AsyncFake(fake)) as session:
            user = await session.get(User, "u0", "p")
            assert user is not None
            session.put(User(pk="x", sk="p", name="X"))
            renamed = session.update(user, User.path(lambda u: u.name).set("renamed"))
            assert await renamed is user and user.name == "renamed"
            assert ("x", "p") in fake.data["users"]  # the put went in the same flush
            name = User.path(lambda u: u.name).set("N")
            made = await session.update_key(User, ("new", "p"), name)
            assert made is not None and made.name == "N"

    asyncio.run(main())


def test_concurrency_stays_within_the_limit_and_flushes_take_turns():
    fake = make()

    async def main() -> None:
        transport = AsyncFake(fake, delay=0.02)
        session = AsyncSession(transport=transport, concurrency=3)
        for i in range(300):
            session.put(User(pk=f"u{i}", sk="p", name="x"))
        first = asyncio.ensure_future(session.flush())
        await asyncio.sleep(0.01)
        session.put(User(pk="late", sk="p", name="late"))  # registered during the flush
        second = asyncio.ensure_future(session.flush())
        one, two = await asyncio.gather(first, second)
        assert (one.items_written, two.items_written) == (300, 1)
        assert transport.most == 3

    asyncio.run(main())


def test_concurrency_beyond_the_clients_pool_is_refused():
    fake = make()
    with pytest.raises(ValueError, match=r"max_pool_connections=4"):
        AsyncSession(transport=AsyncFake(fake, pool_size=4), concurrency=8)
    assert AsyncSession(transport=AsyncFake(fake, pool_size=4), concurrency=4).concurrency == 4


def test_the_pool_of_an_aiobotocore_client_is_checked():
    from aiobotocore.config import AioConfig

    from tests.support.aio import aio_client

    async def main() -> None:
        async with aio_client("http://127.0.0.1:9") as client:  # no connection is made
            with pytest.raises(ValueError, match=r"max_pool_connections=10"):
                AsyncSession(client, concurrency=11)  # botocore's default pool: 10
            assert AsyncSession(client, concurrency=10).concurrency == 10
        pool = AioConfig(max_pool_connections=64)
        async with aio_client("http://127.0.0.1:9", max_pool_connections=64) as client:
            assert client.meta.config.max_pool_connections == pool.max_pool_connections
            assert AsyncSession(client, concurrency=64).concurrency == 64

    asyncio.run(main())


def test_a_call_from_another_thread_is_refused():
    fake = make()
    session = AsyncSession(transport=AsyncFake(fake))
    session.put(User(pk="a", sk="p", name="A"))
    errors: list[BaseException] = []

    def other() -> None:
        try:
            session.put(User(pk="b", sk="p", name="B"))
        except DynamapError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "another thread" in str(errors[0])
    assert len(session._state.writes) == 1


def test_a_cancelled_flush_puts_unsent_work_back_and_a_later_flush_sends_it():
    fake = make()

    async def main() -> None:
        transport = AsyncFake(fake, delay=0.5)
        session = AsyncSession(transport=transport, concurrency=1, cancel_grace=0.0)
        for i in range(60):  # 3 requests, one at a time
            session.put(User(pk=f"u{i}", sk="p", name="x"))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(session.flush(), 0.1)
        assert len(session._state.writes) == 60  # in flight (abandoned) or never sent
        transport.delay = 0.0
        report = await session.flush()  # waits for the abandoned request first
        assert report.items_written == 60

    asyncio.run(main())
    assert len(fake.data["users"]) == 60


def test_cancelling_one_waiter_does_not_cancel_the_shared_read():
    fake = make()
    seed_users(fake, 2)

    async def main() -> None:
        session = AsyncSession(transport=AsyncFake(fake, delay=0.1))
        first = asyncio.ensure_future(session.get(User, "u0", "p"))  # type: ignore[arg-type]
        second = asyncio.ensure_future(session.get(User, "u1", "p"))  # type: ignore[arg-type]
        await asyncio.sleep(0.02)
        first.cancel()
        user = await second
        assert user is not None and user.name == "name1"
        assert len(fake.ops("BatchGetItem")) == 1

    asyncio.run(main())


def test_import_dynamap_without_aiobotocore():
    code = (
        "import sys; sys.modules['aiobotocore'] = None\n"
        "import dynamap\n"
        "from dynamap.aio import AsyncSession\n"
        "assert 'aiobotocore' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
