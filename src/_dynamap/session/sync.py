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
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.session.deferred import Deferred
from _dynamap.session.flush import FlushPlan, in_flight_writes
from _dynamap.session.guard import CallGuard
from _dynamap.session.state import UnitOfWork
from _dynamap.session.writes import WriteBack
from _dynamap.transport.base import Transport
from _dynamap.transport.fast import default_transport

__all__ = ["Session"]

log = logging.getLogger("dynamap")

M = TypeVar("M", bound=Model)

# How long to wait for requests in flight when a transport declares no `request_timeout`.
DEFAULT_REQUEST_TIMEOUT = 60.0


class Session:
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
    (reference counting still frees memory), and restored afterwards;
    `pause_gc=False` opts out.
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
            pause_gc: pause the cyclic garbage collector during each flush.
            write_back: how changed instances are written back: "update" (an UpdateItem
                of the changed attributes per item) or "put" (whole items, batched 25 to
                a request; last writer wins; refused for views).
        """
        if transport is None:
            if client is None:
                raise TypeError("Session needs a boto3 DynamoDB client or a transport")
            transport = default_transport(client)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if write_back not in ("update", "put"):
            raise ValueError('write_back must be "update" or "put"')
        self.write_back: WriteBack = write_back
        self.transport: Transport = transport
        self.concurrency: int = concurrency
        self.retry: RetryPolicy = retry or RetryPolicy()
        self.pause_gc: bool = pause_gc
        self._state = UnitOfWork(table_prefix)
        self._rng = rng or random.Random()
        self._clock = clock
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._guard = CallGuard()  # one call at a time: a second one at once is refused
        # Requests an earlier flush stopped waiting for: writes of their keys wait for them.
        self._stragglers: Stragglers[BatchRequest] = {}

    @property
    def table_prefix(self) -> str:
        """The prefix prepended to every model's table name."""
        return self._state.table_prefix

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

    def _enter(self, call: str, *, closing: bool = False) -> None:
        """Start a call: refused while another runs, or once the session is closed."""
        self._guard.enter(call)
        if self._closed and not closing:  # checked inside, so close() cannot slip in
            self._guard.leave()
            raise DynamapError("this session is closed")

    # -- registering work -------------------------------------------------------------------

    def get(
        self, model: type[M], /, *key: KeyValue, consistent: bool = False, **keys: KeyValue
    ) -> Deferred[M]:
        """Read the item of `model` with this key at the next flush.

        `session.get(User, "u#1", "profile")` or `session.get(User, pk="u#1",
        sk="profile")`: by field name, two keys of one type cannot be swapped unseen.
        Returns a deferred result that resolves to the instance or None. Within a
        session each key maps to one instance per model class, and keys already
        loaded, put or deleted are answered without a request.

        Args:
            model: the model class to read the item into.
            *key: the partition key value, then the sort key value if the table has one.
            consistent: read with strong consistency.
            **keys: the key values by field name, instead of positionally.
        """
        self._enter("get")
        try:
            return self._state.get(model, key, keys, consistent, self._flush_gets)
        finally:
            self._guard.leave()

    def put(self, instance: Model, *, condition: Condition | None = None) -> None:
        """Write `instance` (replacing the whole item) at the next flush.

        The key is checked now, and cannot change while the instance is tracked
        (to move an item, delete it and put a copy). The item is encoded at flush,
        with every other write, before anything is sent: a value DynamoDB would
        reject (NaN, an item over 400 KB) fails the flush and sends nothing. A put
        with a condition (or of a versioned model) goes as its own PutItem; if the
        condition is false the flush raises ConditionFailedError.

        Args:
            instance: the model instance to store.
            condition: write only if the stored item meets it, e.g.
                `User.path(lambda u: u.pk).not_exists()` (create-only).
        """
        self._enter("put")
        try:
            self._state.put(instance, condition)
        finally:
            self._guard.leave()

    def delete(self, instance: Model, *, condition: Condition | None = None) -> None:
        """Delete the item with `instance`'s key at the next flush.

        Args:
            instance: the model instance whose item to delete.
            condition: delete only if the stored item meets it.
        """
        self._enter("delete")
        try:
            self._state.delete(instance, condition)
        finally:
            self._guard.leave()

    def delete_key(
        self, model: type[Model], /, *key: KeyValue, condition: Condition | None = None
    ) -> None:
        """Delete the item of `model` with this key at the next flush, without an instance.

        Args:
            model: the model class whose table holds the item.
            *key: the partition key value, then the sort key value if the table has one.
            condition: delete only if the stored item meets it.
        """
        self._enter("delete_key")
        try:
            self._state.delete_key(model, key, condition)
        finally:
            self._guard.leave()

    def update(
        self, instance: M, update: Update, /, *, condition: Condition | None = None
    ) -> Deferred[M]:
        """Apply update actions to `instance`'s item at the next flush, as one UpdateItem.

        Returns a deferred of the instance as stored afterwards: at the flush the
        instance and its snapshot are refreshed from the item DynamoDB returns
        (`ReturnValues=ALL_NEW`). Unsaved changes of the instance go in the same
        request. `result()` before the flush flushes the session.

        Args:
            instance: a model instance (its key says which item).
            update: the actions, e.g. `User.path(lambda u: u.visits).add(1)`; combine with &.
            condition: apply only if the stored item meets it.
        """
        self._enter("update")
        try:
            return self._state.update(instance, update, condition, self._flush_for_result)
        finally:
            self._guard.leave()

    def update_key(
        self,
        model: type[M],
        key: KeyValue | tuple[KeyValue, ...],
        update: Update,
        /,
        *,
        condition: Condition | None = None,
        create: bool = True,
    ) -> Deferred[M]:
        """Apply update actions to the item with this key at the next flush, without reading it.

        Returns a deferred of the item as stored afterwards (tracked like a loaded one).

        Args:
            model: the model class whose table holds the item.
            key: the partition key value, or a (partition, sort) tuple.
            update: the actions, e.g. `User.path(lambda u: u.visits).add(1)`; combine with &.
            condition: apply only if the stored item meets it.
            create: False to refuse creating the item (adds attribute_exists on the
                partition key; a missing item raises ConditionFailedError); True upserts.
        """
        values = key if isinstance(key, tuple) else (key,)
        self._enter("update_key")
        try:
            return self._state.update_key(
                model, values, update, condition, create=create, flush=self._flush_for_result
            )
        finally:
            self._guard.leave()

    def _retrack(self, instance: Model, baseline: tuple[Any, ...], /) -> None:
        # For FlushError.resend: a write-back handed back is tracked again, as changed.
        self._enter("resend")
        try:
            self._state.retrack(instance, baseline)
        finally:
            self._guard.leave()

    def expunge(self, instance: Model) -> None:
        """Stop tracking `instance`: its changes are no longer written back.

        A later get of its key reads the table again, into a new instance. A put or
        delete already queued for it is still sent at the next flush. An instance
        that is not tracked is left alone.

        Args:
            instance: a loaded or put instance to forget.
        """
        self._enter("expunge")
        try:
            self._state.expunge(instance)
        finally:
            self._guard.leave()

    def clear(self) -> None:
        """Stop tracking every instance, as `expunge` does, and forget sent deletes.

        Pending gets, puts and deletes stay queued. For long-lived sessions: each
        flush compares every tracked instance that can change in place (one with a
        list, set, dict or nested model field) with its snapshot.
        """
        self._enter("clear")
        try:
            self._state.clear()
        finally:
            self._guard.leave()

    # -- flushing ---------------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send every pending get and write, and changes to loaded instances.

        Raises a FlushError subclass if anything was not done: its `unprocessed`
        lists what was certainly not done, its `unknown` the writes that were sent
        but got no answer. Everything else was done. An exception that is not a
        FlushError (KeyboardInterrupt, a failing transport) leaves what was not done
        pending for the next flush.
        """
        self._enter("flush")
        try:
            return self._flush(include_writes=True)
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
        # How long requests in flight are waited for: the transport's own timeout.
        linger = float(getattr(self.transport, "request_timeout", DEFAULT_REQUEST_TIMEOUT))
        if include_writes and self._stragglers:  # (waiting with the collector running)
            await_stragglers(self._stragglers, linger)
        with paused_gc(self.pause_gc):  # planning allocates as much as answering
            plan = FlushPlan(
                self._state,
                include_writes=include_writes,
                policy=self.retry,
                rng=self._rng,
                start=self._clock(),
                in_flight=in_flight_writes(self._stragglers.values()) if include_writes else None,
                write_back=self.write_back,
            )
            if plan.empty:
                return FlushReport()
            try:
                try:
                    if self._pool is None and self.concurrency > 1:
                        self._pool = ThreadPoolExecutor(
                            self.concurrency, thread_name_prefix="dynamap"
                        )
                    drive(
                        plan.engine,
                        self.transport,
                        pool=self._pool,
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
