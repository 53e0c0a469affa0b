"""`Session`: the synchronous facade over a unit of work, driven by a thread pool."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from typing_extensions import Self

from _dynamap.core.engine import BatchRequest
from _dynamap.core.report import FlushReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.drivers.gcpause import paused_gc
from _dynamap.drivers.threads import Stragglers, await_stragglers, drive
from _dynamap.model.model import Model
from _dynamap.session.deferred import Cell
from _dynamap.session.facade import SessionFacade
from _dynamap.session.flush import in_flight_writes
from _dynamap.session.reads import SyncReads
from _dynamap.session.readtx import ReadTransaction
from _dynamap.session.transaction import Transaction, run_plan
from _dynamap.session.txplan import TransactPlan, atomic_flush
from _dynamap.session.writes import WriteBack
from _dynamap.transport.base import Transport
from _dynamap.transport.fast import default_transport

__all__ = ["Session"]

log = logging.getLogger("dynamap")

M = TypeVar("M", bound=Model)


class Session(SessionFacade, SyncReads):
    """Collects gets and writes and sends them as batched, concurrent calls.

    Plain puts and deletes are batched; conditional, versioned and update writes go
    one request each, through the same pool and retry budget. Changed instances are
    written back as updates of their changed attributes (see `write_back`).

    ```python
    with Session(boto3.client("dynamodb")) as session:
        user = session.get(User, "u#1", "profile")
        session.put(Order(pk="o#9", total=12))
    print(user.result())
    ```

    Leaving the block normally flushes what is pending; leaving it by an
    exception sends no pending write; after an explicit `close()` it does nothing.
    A table that has both consistent and eventually consistent gets in one flush
    is read strongly consistent.

    A session serves one call at a time: a call made while another is running (from
    another thread, or from a callback during a flush) raises DynamapError and does
    nothing. Use one session per thread or task; handing one over between calls is fine.

    During a flush automatic cyclic garbage collection is paused, process-wide
    (reference counting still frees memory), and restored afterwards; while work is
    queued between flushes it runs in larger steps (docs/session.md);
    `pause_gc=False` opts out of both.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        transport: Transport | None = None,
        table_prefix: str = "",
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pause_gc: bool = True,
        write_back: WriteBack = "update",
    ) -> None:
        """Open a session.

        Args:
            client: a boto3 DynamoDB low-level client (`boto3.client("dynamodb")`).
            transport: sends requests instead of `client` (for tests and custom stacks).
            table_prefix: prepended to every model's table name (per environment or test).
            concurrency: how many requests a flush keeps in flight at once.
            retry: the retry budget for throttling and unprocessed keys or items.
            rng: the randomness for backoff jitter (seed it for repeatable tests).
            clock: a monotonic clock in seconds (fake it in tests).
            sleep: how to wait for a retry (fake it in tests).
            pause_gc: pause the cyclic garbage collector during each flush (and let it
                run in larger steps while work is queued).
            write_back: how changed instances are written back: "update" (an UpdateItem
                of the changed attributes per item) or "put" (whole items, batched 25 to
                a request; last writer wins; refused for views).
        """
        if transport is None:
            if client is None:
                raise TypeError("Session needs a boto3 DynamoDB client or a transport")
            transport = default_transport(client)
        # Options, the call guard and the unit of work: see SessionFacade.
        super().__init__(
            table_prefix=table_prefix,
            concurrency=concurrency,
            retry=retry,
            rng=rng,
            clock=clock,
            pause_gc=pause_gc,
            write_back=write_back,
            cell=Cell,
        )
        self.transport: Transport = transport
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None
        # Requests an earlier flush stopped waiting for: writes of their keys wait for them.
        self._stragglers: Stragglers[BatchRequest] = {}

    # -- context management -----------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return  # closed in the block: close() discarded the pending work
        try:
            if exc_type is None:
                self.flush()
            else:
                log.debug(
                    "session left by %s: %d write(s) not sent", exc_type, len(self._state.writes)
                )
        finally:
            self.close()

    def close(self) -> None:
        """Discard pending work without sending it and release the worker threads.

        Closing a closed session does nothing.
        """
        self._enter("close", closing=True)
        try:
            self._closed = True
            self._state.discard_pending(
                "this read was never sent: its session closed before a flush"
            )
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        finally:
            self._guard.leave()

    def _worker_pool(self) -> ThreadPoolExecutor | None:
        """The session's worker threads (made on first use); None at concurrency 1."""
        if self._pool is None and self.concurrency > 1:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dynamap")
        return self._pool

    # -- registering work: get, put, delete, delete_key, update, update_key, expunge, clear
    # and _retrack are SessionFacade's (session/facade.py), shared with AsyncSession.

    # -- flushing ---------------------------------------------------------------------------

    def flush(self, *, atomic: bool = False) -> FlushReport:
        """Send every pending get and write, and changes to loaded instances.

        Raises a FlushError subclass if anything was not done: its `unprocessed`
        lists what was certainly not done, its `unknown` the writes that were sent
        but got no answer. Everything else was done. An exception that is not a
        FlushError (KeyboardInterrupt, a failing transport) leaves what was not done
        pending for the next flush.

        Args:
            atomic: send every pending put, delete and update and every changed
                instance as one transaction (TransactWriteItems; pending gets wait for
                the next flush). If it is not applied, the writes stay pending.
        """
        if atomic:
            return self._transact("flush", None)
        self._enter("flush")
        try:
            return self._flush(include_writes=True)
        finally:
            self._guard.leave()

    # -- transactions -----------------------------------------------------------------------

    def transaction(self) -> Transaction:
        """A block whose writes and checks are applied all together or not at all.

        `with session.transaction() as tx:` then `tx.put`, `tx.update`, `tx.delete`,
        `tx.check`: one TransactWriteItems when the block ends cleanly, nothing if it
        ends by an exception. See `Transaction`.
        """
        return Transaction(self._state, self._transact)

    def read_transaction(self) -> ReadTransaction:
        """A block whose `rt.get` reads are made together, as one TransactGetItems."""
        return ReadTransaction(self._state, self._transact)

    def _transact(self, call: str, plan: TransactPlan | None) -> FlushReport:
        self._enter(call)
        try:
            linger = self._linger()
            if self._stragglers:  # a late write of an earlier flush must not overtake this
                await_stragglers(self._stragglers, linger)
            plan = plan or atomic_flush(self._state, self.write_back)
            return run_plan(
                plan,
                self.transport,
                policy=self.retry,
                rng=self._rng,
                clock=self._clock,
                sleep=self._sleep,
                linger=linger,
                # A transaction writing a key of a request still in flight is not sent.
                in_flight=in_flight_writes(self._stragglers.values()),
            )
        finally:
            self._guard.leave()

    def _flush_for_result(self) -> None:
        self.flush()

    def _flush_gets(self) -> None:
        self._enter("flush (from Deferred.result)")
        try:
            self._flush(include_writes=False)
        finally:
            self._guard.leave()

    def _flush(self, *, include_writes: bool) -> FlushReport:
        linger = self._linger()
        if include_writes and self._stragglers:  # (waiting with the collector running)
            await_stragglers(self._stragglers, linger)
        with paused_gc(self.pause_gc):  # planning allocates as much as answering
            plan = self._flush_plan(include_writes, self._stragglers.values())
            try:
                try:  # the writes are out of the session now: any interrupt restores them
                    if plan.empty:
                        return FlushReport()
                    drive(
                        plan.engine,
                        self.transport,
                        pool=self._worker_pool(),
                        concurrency=self.concurrency,
                        absorb=plan.absorb,
                        clock=self._clock,
                        sleep=self._sleep,
                        linger=linger,
                        stragglers=self._stragglers,
                    )
                except BaseException:
                    plan.restore()  # what was not done stays pending
                    raise
                return plan.conclude()
            finally:
                # Drop the flush's working set while the collector is still paused, or
                # its first pass would traverse every encoded item and unit for nothing.
                del plan
