"""Running the sync Session's backend tests on AsyncSession, and aiobotocore clients.

`BlockingAsyncSession` is a real AsyncSession (aiobotocore client, asyncio driver) behind
the sync Session's interface: each flush, and each `result()` of an unsettled deferred,
runs on the session's own event loop until it is done. The `session_flavor` fixture
(tests/conftest.py) puts it in place of `Session` in a test module, so that the same
test bodies check both sessions for the same table state and the same report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from _dynamap.session.awaitable import AsyncDeferred
from dynamap import FlushReport
from dynamap.aio import AsyncSession
from tests.support.ddblocal import ACCESS_KEY, REGION, SECRET_KEY

T = TypeVar("T")

# The botocore Config options a boto3 test client may set, carried over to its aio twin.
_CONFIG = ("retries", "connect_timeout", "read_timeout", "max_pool_connections")


def aio_context(endpoint: str, **config: Any) -> Any:
    """An aiobotocore DynamoDB client context (enter it with `async with`)."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    return get_session().create_client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=AioConfig(**config) if config else None,
    )


@asynccontextmanager
async def aio_client(endpoint: str, **config: Any) -> AsyncIterator[Any]:
    """An open aiobotocore DynamoDB client with the tests' credentials (see ddblocal)."""
    async with aio_context(endpoint, **config) as client:
        yield client


class BlockingDeferred:
    """A deferred of a BlockingAsyncSession: `result()` awaits it on the session's loop."""

    def __init__(self, session: BlockingAsyncSession, deferred: AsyncDeferred[Any]) -> None:
        self.session = session
        self.deferred = deferred

    @property
    def done(self) -> bool:
        return self.deferred.done

    def result(self) -> Any:
        if self.deferred.done:
            return self.deferred.result()
        return self.session.run(self._wait())

    async def _wait(self) -> Any:
        return await self.deferred


class BlockingAsyncSession(AsyncSession):
    """An AsyncSession with the sync Session's interface (see the module notes).

    Made from a boto3 client: its endpoint and configuration make the aiobotocore one.
    """

    opened: list[BlockingAsyncSession] = []  # closed by the session_flavor fixture

    def __init__(self, client: Any, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        config = client.meta.config
        carried = {name: getattr(config, name, None) for name in _CONFIG}
        self._context = aio_context(
            client.meta.endpoint_url, **{k: v for k, v in carried.items() if v is not None}
        )
        self.aio = self.loop.run_until_complete(self._context.__aenter__())
        BlockingAsyncSession.opened.append(self)
        super().__init__(self.aio, **options)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def __enter__(self) -> BlockingAsyncSession:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._closed:
            return
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()

    def get(self, model: Any, /, *key: Any, consistent: bool = False, **keys: Any) -> Any:
        return BlockingDeferred(self, super().get(model, *key, consistent=consistent, **keys))

    def update(self, instance: Any, update: Any, /, *, condition: Any = None) -> Any:
        return BlockingDeferred(self, super().update(instance, update, condition=condition))

    def update_key(self, model: Any, key: Any, update: Any, /, **options: Any) -> Any:
        return BlockingDeferred(self, super().update_key(model, key, update, **options))

    def flush(self, *, atomic: bool = False) -> FlushReport:  # type: ignore[override]
        return self.run(AsyncSession.flush(self, atomic=atomic))

    def query(self, *args: Any, **options: Any) -> Any:
        return BlockingRead(self, AsyncSession.query(self, *args, **options))

    def scan(self, *args: Any, **options: Any) -> Any:
        return BlockingRead(self, AsyncSession.scan(self, *args, **options))

    def transaction(self) -> Any:  # type: ignore[override]
        return BlockingBlock(self, AsyncSession.transaction(self))

    def read_transaction(self) -> Any:  # type: ignore[override]
        return BlockingBlock(self, AsyncSession.read_transaction(self))

    async def _flush_for_result(self) -> None:
        await AsyncSession.flush(self)

    def close(self) -> None:  # type: ignore[override]
        self.run(AsyncSession.close(self))

    def shut(self) -> None:
        """Close the session, its aiobotocore client and its event loop."""
        try:
            if not self._closed:
                self.close()
            self.run(self._context.__aexit__(None, None, None))
            left = asyncio.all_tasks(self.loop)  # requests a flush stopped waiting for
            for task in left:
                task.cancel()
            self.run(asyncio.wait(left) if left else asyncio.sleep(0))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


class BlockingRead:
    """An AsyncQuery or AsyncScan behind the sync builders' interface (see the module)."""

    def __init__(self, session: BlockingAsyncSession, builder: Any) -> None:
        self.session = session
        self.builder = builder

    def _wrap(self, builder: Any) -> BlockingRead:
        return BlockingRead(self.session, builder)

    def filter(self, condition: Any) -> BlockingRead:
        return self._wrap(self.builder.filter(condition))

    def limit(self, n: int) -> BlockingRead:
        return self._wrap(self.builder.limit(n))

    def page_size(self, n: int) -> BlockingRead:
        return self._wrap(self.builder.page_size(n))

    def consistent(self, on: bool = True) -> BlockingRead:
        return self._wrap(self.builder.consistent(on))

    def reverse(self) -> BlockingRead:
        return self._wrap(self.builder.reverse())

    @property
    def report(self) -> Any:
        return self.builder.report

    def __iter__(self) -> Iterator[Any]:
        items = self.builder.__aiter__()
        try:
            while True:
                try:
                    yield self.session.run(items.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.session.run(items.aclose())

    def page(self, after: Any = None) -> Any:
        return self.session.run(self.builder.page(after))

    def count(self) -> int:
        return self.session.run(self.builder.count())

    def first(self) -> Any:
        return self.session.run(self.builder.first())


class BlockingBlock:
    """An async transaction block behind a sync `with` block."""

    def __init__(self, session: BlockingAsyncSession, block: Any) -> None:
        self.session = session
        self.block = block

    def __enter__(self) -> Any:
        return self.session.run(self.block.__aenter__())

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.session.run(self.block.__aexit__(exc_type, exc, tb))
