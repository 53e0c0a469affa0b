"""What both session facades share: options, the one-call-at-a-time guard, registering work.

`Session` (threads) and `AsyncSession` (asyncio) subclass `SessionFacade` and add only
how a flush is sent: their context management, `close()`, `flush()` and driver. Every
registering call here is synchronous and does no I/O; reads and updates get a deferred
result of the facade's kind (`cell`), which settles itself through the facade's
`_flush_gets` (reads) or `_flush_for_result` (updates).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from _dynamap.core.cursor import Cursor
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.units import BatchRequest
from _dynamap.drivers.gcpause import busy as gc_busy
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.session.deferred import Deferred
from _dynamap.session.flush import FlushPlan, in_flight_writes
from _dynamap.session.guard import CallGuard
from _dynamap.session.readrun import ReadRun
from _dynamap.session.readspec import ReadConfig, build_spec
from _dynamap.session.state import CellFactory, UnitOfWork
from _dynamap.session.writes import WriteBack

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "SessionFacade"]

# How long to wait for requests in flight when a transport declares no `request_timeout`.
DEFAULT_REQUEST_TIMEOUT = 60.0

M = TypeVar("M", bound=Model)
_END = object()


class SessionFacade:
    """The registering half of a session; subclasses send the work (see the module notes)."""

    def __init__(
        self,
        *,
        table_prefix: str,
        concurrency: int,
        retry: RetryPolicy | None,
        rng: random.Random | None,
        clock: Callable[[], float],
        pause_gc: bool,
        write_back: WriteBack,
        cell: CellFactory,
    ) -> None:
        """Check and keep the options both facades share (documented on each facade).

        Args:
            table_prefix: prepended to every model's table name.
            concurrency: how many requests a flush keeps in flight at once.
            retry: the retry budget (default: `RetryPolicy()`).
            rng: the randomness for backoff jitter.
            clock: a monotonic clock in seconds.
            pause_gc: pause the cyclic garbage collector while a flush plans and settles.
            write_back: how changed instances are written back: "update" or "put".
            cell: makes the facade's deferred results.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if write_back not in ("update", "put"):
            raise ValueError('write_back must be "update" or "put"')
        self.write_back: WriteBack = write_back
        self.concurrency: int = concurrency
        self.retry: RetryPolicy = retry or RetryPolicy()
        self.pause_gc: bool = pause_gc
        self._state = UnitOfWork(table_prefix, cell)
        self._rng = rng or random.Random()
        self._clock = clock
        self._closed = False
        self._guard = CallGuard()  # one call at a time: a second one at once is refused

    @property
    def table_prefix(self) -> str:
        """The prefix prepended to every model's table name."""
        return self._state.table_prefix

    # -- what a facade provides -------------------------------------------------------------

    def _flush_gets(self) -> object:
        """Settle the pending reads (what an unsettled read's deferred calls)."""
        raise NotImplementedError

    def _flush_for_result(self) -> object:
        """Flush the session (what an unsettled update's deferred calls)."""
        raise NotImplementedError

    def _enter(self, call: str, *, closing: bool = False) -> None:
        """Start a call: refused while another runs, or once the session is closed."""
        self._guard.enter(call)
        if self._closed and not closing:  # checked inside, so close() cannot slip in
            self._guard.leave()
            raise DynamapError("this session is closed")

    def _register(self, call: str) -> None:
        """Start a call that queues work: while sessions queue, the collector runs in
        larger steps (`drivers/gcpause.py`), unless `pause_gc` is off."""
        if self.pause_gc:  # first: an interrupt in it must not leave the call guard held
            gc_busy()
        self._enter(call)

    def _leave(self) -> None:
        """End a call started by `_enter`."""
        self._guard.leave()

    def _linger(self) -> float:
        """How long requests in flight are waited for: the transport's own timeout."""
        transport = getattr(self, "transport", None)
        return float(getattr(transport, "request_timeout", DEFAULT_REQUEST_TIMEOUT))

    def _flush_plan(self, include_writes: bool, late: Iterable[BatchRequest]) -> FlushPlan:
        """The plan of one flush, every write encoded (no I/O); `late` are the requests
        earlier flushes stopped waiting for, still in flight (their keys are held back)."""
        transport = getattr(self, "transport", None)
        return FlushPlan(
            self._state,
            include_writes=include_writes,
            policy=self.retry,
            rng=self._rng,
            start=self._clock(),
            in_flight=in_flight_writes(late) if include_writes else None,
            write_back=self.write_back,
            raw_items=bool(getattr(transport, "raw_items", False)),
        )

    def _start_read(self, config: ReadConfig, after: Cursor | None, counting: bool) -> ReadRun:
        """A new run of a query or scan (checking `after` against it); no I/O."""
        self._enter(config.operation.lower())
        try:
            spec = build_spec(self._state, config)
            return ReadRun(spec, self._state, after=after, counting=counting)
        finally:
            self._leave()

    def _hand_out(self, run: ReadRun) -> Iterator[Any]:
        # Making an instance changes the identity map: inside the call guard, like any
        # call, so that another thread's flush is never settled meanwhile. The guard is
        # left between items (the caller may use the session in the loop), and taken
        # before the next item, so that a refused item is not handed out nor skipped.
        items = run.drain()
        call = run.spec.config.operation.lower()
        while True:
            self._enter(call)
            try:
                item = next(items, _END)
            finally:
                self._leave()
            if item is _END:
                return
            yield item

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
        self._register("get")
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
        self._register("put")
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
        self._register("delete")
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
        self._register("delete_key")
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
        self._register("update")
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
        self._register("update_key")
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
