"""`AsyncSession`: the same unit of work on asyncio, with reads of concurrent tasks coalesced.

Everything is decided where the sync `Session` decides it (`SessionFacade`,
`UnitOfWork`, `FlushPlan`); only the sending differs (`drivers/aio.py`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any, TypeVar, cast

from typing_extensions import Self

from _dynamap.core.engine import BatchRequest
from _dynamap.core.report import FlushReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.transact import TransactRequest
from _dynamap.drivers.aio import AsyncStragglers, await_stragglers, drive
from _dynamap.drivers.gcpause import paused_gc
from _dynamap.errors import DynamapError, FlushError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.session.areads import AsyncReads
from _dynamap.session.atransaction import AsyncReadTransaction, AsyncTransaction, run_plan_async
from _dynamap.session.awaitable import AsyncCell, AsyncDeferred
from _dynamap.session.facade import SessionFacade
from _dynamap.session.flush import in_flight_writes
from _dynamap.session.txhold import late_writes
from _dynamap.session.txplan import TransactPlan, atomic_flush
from _dynamap.session.writes import WriteBack
from _dynamap.transport.aiofast import default_async_transport
from _dynamap.transport.asyncbase import AsyncTransport

__all__ = ["AsyncSession"]

log = logging.getLogger("dynamap")

M = TypeVar("M", bound=Model)


class AsyncSession(SessionFacade, AsyncReads):
    """The unit of work of `Session`, sent by asyncio tasks; reads of many tasks coalesce.

    ```python
    async with AsyncSession(client, concurrency=8) as session:  # an aiobotocore client
        user = await session.get(User, "u#1", "profile")
        session.put(Order(pk="o#9", total=12))
    ```

    Registering calls (`get`, `put`, `delete`, `update`...) do no I/O, as in `Session`.
    Awaiting a read sends the pending reads at the end of the current tick of the
    event loop, with those awaited by the other tasks sharing the session: 100 tasks
    awaiting one get each send one BatchGetItem. `await session.flush()` sends
    everything; flushes run one after another. Leaving the block normally flushes;
    leaving it by an exception sends no pending write.

    One session serves the tasks of one event loop (its thread): reads from any of
    them are safe; two tasks changing the same instance are not (see docs/async.md).
    If the task awaiting a flush is cancelled, requests in flight get `cancel_grace`
    seconds to answer, work not done stays pending (writes that may have been applied
    and must not be resent are not), and CancelledError propagates.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        transport: AsyncTransport | None = None,
        table_prefix: str = "",
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        pause_gc: bool = True,
        write_back: WriteBack = "update",
        cancel_grace: float = 5.0,
    ) -> None:
        """Open a session (no I/O: the connection opens at the first request).

        Args:
            client: an aiobotocore DynamoDB client, opened (`async with
                aiobotocore.session.get_session().create_client("dynamodb") as client`).
            transport: sends requests instead of `client` (for tests and custom stacks).
            table_prefix: prepended to every model's table name (per environment or test).
            concurrency: how many requests a flush keeps in flight at once; at most the
                client's `max_pool_connections` (beyond it, requests would queue inside
                aiohttp with their timeouts running: refused with ValueError).
            retry: the retry budget for throttling and unprocessed keys or items.
            rng: the randomness for backoff jitter (seed it for repeatable tests).
            clock: a monotonic clock in seconds (fake it in tests).
            sleep: how to wait for a retry (a coroutine function, as `asyncio.sleep`).
            pause_gc: pause the cyclic garbage collector for a whole flush, its
                awaits included, as `Session` does (process-wide: other tasks too), and
                let it run in larger steps while work is queued.
            write_back: how changed instances are written back: "update" or "put".
            cancel_grace: how long requests in flight may still answer when the flush
                is cancelled, in seconds; those that do not are of unknown outcome.
        """
        if transport is None:
            if client is None:
                raise TypeError("AsyncSession needs an aiobotocore DynamoDB client or a transport")
            transport = default_async_transport(client)
        super().__init__(
            table_prefix=table_prefix,
            concurrency=concurrency,
            retry=retry,
            rng=rng,
            clock=clock,
            pause_gc=pause_gc,
            write_back=write_back,
            cell=AsyncCell,
        )
        pool = getattr(transport, "pool_size", None)
        if pool is not None and concurrency > pool:
            raise ValueError(
                f"concurrency={concurrency} is more than the client's connection pool "
                f"(max_pool_connections={pool}): requests beyond the pool would wait inside "
                f"aiohttp with their timeouts already running. Lower concurrency, or create "
                f"the client with AioConfig(max_pool_connections={concurrency})"
            )
        if cancel_grace < 0:
            raise ValueError("cancel_grace must not be negative")
        self.transport: AsyncTransport = transport
        self.cancel_grace: float = cancel_grace
        self._sleep = sleep
        self._thread: int | None = None  # the event loop's thread, from the first call
        self._lock = asyncio.Lock()  # flushes run one after another
        self._gets: asyncio.Task[None] | None = None  # the reads flush of this tick
        # Requests an earlier flush stopped waiting for: writes of their keys wait for them.
        self._stragglers: AsyncStragglers[BatchRequest] = {}

    # -- context management -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return  # closed in the block: close() discarded the pending work
        try:
            if exc_type is None:
                await self.flush()
            else:
                log.debug(
                    "session left by %s: %d write(s) not sent", exc_type, len(self._state.writes)
                )
        finally:
            await self.close()

    async def close(self) -> None:
        """Discard pending work without sending it, and close the connections opened.

        Waits for a flush that is running to end first. Closing a closed session
        does nothing. The caller's client is left open.
        """
        async with self._lock:
            self._enter("close", closing=True)
            try:
                self._closed = True
                self._state.discard_pending(
                    "this read was never sent: its session closed before a flush"
                )
            finally:
                self._guard.leave()
            aclose = getattr(self.transport, "close", None)
            if aclose is not None:
                await aclose()

    def _enter(self, call: str, *, closing: bool = False) -> None:
        # Tasks of one loop take turns between awaits; another thread would not.
        me = threading.get_ident()
        if self._thread is None:
            self._thread = me
        elif self._thread != me:
            raise DynamapError(
                f"AsyncSession.{call} was called from another thread than its event loop's; "
                f"nothing was done. An AsyncSession serves the tasks of one event loop"
            )
        super()._enter(call, closing=closing)

    # -- registering work: SessionFacade's, with results that can be awaited -----------------

    def get(
        self, model: type[M], /, *key: KeyValue, consistent: bool = False, **keys: KeyValue
    ) -> AsyncDeferred[M]:
        """Read the item of `model` with this key: `await` the result (no I/O until then).

        As `Session.get`. Awaiting it sends the reads pending then, together with those
        awaited by other tasks in the same tick; a key already loaded, put or deleted
        is answered without a request.

        Args:
            model: the model class to read the item into.
            *key: the partition key value, then the sort key value if the table has one.
            consistent: read with strong consistency.
            **keys: the key values by field name, instead of positionally.
        """
        return cast(AsyncDeferred[M], super().get(model, *key, consistent=consistent, **keys))

    def update(
        self, instance: M, update: Update, /, *, condition: Condition | None = None
    ) -> AsyncDeferred[M]:
        """Apply update actions to `instance`'s item at the next flush, as one UpdateItem.

        As `Session.update`; awaiting the result before the flush flushes the session.

        Args:
            instance: a model instance (its key says which item).
            update: the actions, e.g. `User.path(lambda u: u.visits).add(1)`; combine with &.
            condition: apply only if the stored item meets it.
        """
        return cast(AsyncDeferred[M], super().update(instance, update, condition=condition))

    def update_key(
        self,
        model: type[M],
        key: KeyValue | tuple[KeyValue, ...],
        update: Update,
        /,
        *,
        condition: Condition | None = None,
        create: bool = True,
    ) -> AsyncDeferred[M]:
        """Apply update actions to the item with this key at the next flush, without reading it.

        As `Session.update_key`; awaiting the result before the flush flushes the session.

        Args:
            model: the model class whose table holds the item.
            key: the partition key value, or a (partition, sort) tuple.
            update: the actions, e.g. `User.path(lambda u: u.visits).add(1)`; combine with &.
            condition: apply only if the stored item meets it.
            create: False to refuse creating the item; True upserts.
        """
        deferred = super().update_key(model, key, update, condition=condition, create=create)
        return cast(AsyncDeferred[M], deferred)

    # -- flushing ---------------------------------------------------------------------------

    async def flush(self, *, atomic: bool = False) -> FlushReport:
        """Send every pending get and write, and changes to loaded instances.

        As `Session.flush`: raises a FlushError subclass if anything was not done. A
        flush running in another task is waited for first. If the awaiting task is
        cancelled, CancelledError propagates once the requests in flight have answered
        or `cancel_grace` has passed; what was not done stays pending (see the class).

        Args:
            atomic: send every pending put, delete and update and every changed
                instance as one transaction (TransactWriteItems), as `Session.flush`.
        """
        if atomic:
            return await self._transact("flush", None)
        async with self._lock:
            return await self._flush(include_writes=True)

    # -- transactions -----------------------------------------------------------------------

    def transaction(self) -> AsyncTransaction:
        """A block whose writes and checks are applied all together or not at all.

        `async with session.transaction() as tx:` then `tx.put`, `tx.update`,
        `tx.delete`, `tx.check`: one TransactWriteItems when the block ends cleanly,
        nothing if it ends by an exception. See `Transaction`.
        """
        return AsyncTransaction(self._state, self._transact)

    def read_transaction(self) -> AsyncReadTransaction:
        """A block whose `rt.get` reads are made together, as one TransactGetItems."""
        return AsyncReadTransaction(self._state, self._transact)

    async def _transact(self, call: str, plan: TransactPlan | None) -> FlushReport:
        async with self._lock:  # after any flush running: its writes come first
            linger = self._linger()
            if self._stragglers:  # a late write of an earlier flush must not overtake this
                await await_stragglers(self._stragglers, linger)
            self._enter(call)  # refused once closed, or from another thread, as any call
            try:
                if plan is None:
                    plan = atomic_flush(self._state, self.write_back)
            finally:
                self._leave()
            late: AsyncStragglers[TransactRequest] = {}
            try:
                return await run_plan_async(
                    plan,
                    self.transport,
                    policy=self.retry,
                    rng=self._rng,
                    clock=self._clock,
                    sleep=self._sleep,
                    linger=linger,
                    grace=self.cancel_grace,
                    # A transaction writing a key of a request still in flight is not sent.
                    in_flight=in_flight_writes(self._stragglers.values()),
                    stragglers=late,
                )
            finally:
                # An abandoned transaction may still land: later flushes wait for it.
                for task, request in late.items():
                    record = late_writes(plan, request)
                    if record is not None:
                        self._stragglers[task] = record

    async def _flush_for_result(self) -> None:
        await self.flush()

    async def _flush_gets(self) -> None:
        # Every task awaiting a read in this tick joins one flush of the pending reads.
        task = self._gets
        if task is None:
            task = self._gets = asyncio.get_running_loop().create_task(self._gets_soon())
        # Each read has its own outcome (its deferred raises if it failed); and one
        # waiter cancelled does not cancel the flush the others wait for.
        with suppress(FlushError):
            await asyncio.shield(task)

    async def _gets_soon(self) -> None:
        await asyncio.sleep(0)  # one more tick, for reads of tasks started in this one
        async with self._lock:
            if self._gets is asyncio.current_task():
                self._gets = None  # reads awaited from now on need another flush
            if not self._closed:
                await self._flush(include_writes=False)

    async def _flush(self, *, include_writes: bool) -> FlushReport:
        linger = self._linger()
        if include_writes and self._stragglers:  # (waiting with the collector running)
            await await_stragglers(self._stragglers, linger)
        # The collector is paused for the whole flush, its awaits included, as Session's
        # is: aiobotocore parses every answer on this loop, and with the collector on,
        # those allocations set off collections that traverse the flush's working set
        # again and again (30% more CPU per item; bench/README.md). Nothing inside
        # pauses again: a nested pause lets a full collection through every MAX_PAUSE
        # seconds, and each costs a whole pass over the session's instances.
        with paused_gc(self.pause_gc):
            return await self._flush_paused(include_writes, linger)

    async def _flush_paused(self, include_writes: bool, linger: float) -> FlushReport:
        self._enter("flush")
        try:
            plan = self._flush_plan(include_writes, self._stragglers.values())
        finally:
            self._guard.leave()

        def absorb() -> None:
            with self._inside("flush"):
                plan.absorb()

        try:  # the writes are out of the session now: any interrupt restores them
            if plan.empty:
                return FlushReport()
            await drive(
                plan.engine,
                self.transport,
                concurrency=self.concurrency,
                absorb=absorb,
                clock=self._clock,
                sleep=self._sleep,
                linger=linger,
                grace=self.cancel_grace,
                stragglers=self._stragglers,
            )
        except BaseException:
            with self._inside("flush"):
                plan.restore()  # what was not done stays pending
            raise
        with self._inside("flush"):
            return plan.conclude()

    @contextmanager
    def _inside(self, call: str) -> Generator[None, None, None]:
        """Hold the call guard for a synchronous part of a flush (refusing callbacks)."""
        self._guard.enter(call)
        try:
            yield
        finally:
            self._guard.leave()
