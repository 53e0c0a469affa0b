"""Requests prepared ahead: what both drivers do with a transport that can prepare.

A driver with a preparing transport and a lookahead engine takes requests from the
engine in runs of up to AHEAD_REQUESTS (AHEAD_BYTES of bodies), prepares (encodes and
signs) them one after another on its own thread, and then sends them oldest first.
Signing and encoding a run of requests while their items are still in the CPU's caches
costs a fraction of doing each on a worker, or in a task, that has just woken up from
waiting for an answer (about 0.1 against 0.3 to 0.4 ms for a batch of 25 items on the
benchmark machine).

Every request taken ahead is either sent (as prepared; or prepared again as it goes,
when it waited more than PREPARED_FOR seconds) or handed back to the engine unsent
(`requeue_all`) when the engine says nothing may go out any more (a fatal error, a stop,
the deadline) or the driver stops. A request stays here until the driver has recorded
it as sending or in flight (`taken`), so an interrupt never leaves one unaccounted for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic

from _dynamap.core.protocol import Lookahead, RequestT
from _dynamap.transport.base import Prepared

__all__ = ["AHEAD_BYTES", "AHEAD_REQUESTS", "PREPARED_FOR", "Ahead", "Prepare"]

# At most this many requests ahead, holding at most this many body bytes (always at
# least one request). Those waiting longer than PREPARED_FOR seconds are signed again
# when sent, so a signature is never old (SigV4 allows minutes).
AHEAD_REQUESTS = 256
AHEAD_BYTES = 8 << 20
PREPARED_FOR = 30.0

# Prepares one request: (operation, params) -> Prepared. Any exception means "not
# prepared": the request is then sent by `call`, which meets the failure again and
# reports it as a failed call, exactly as without a lookahead.
Prepare = Callable[[str, dict[str, Any]], Prepared]


class Ahead(Generic[RequestT]):
    """The requests one flush's driver took and prepared ahead, oldest first.

    Args:
        engine: the engine they come from and go back to.
        clock: the driver's clock (re-read after a run: preparing takes time).
    """

    def __init__(self, engine: Lookahead[RequestT], clock: Callable[[], float]) -> None:
        self.engine = engine
        self.clock = clock
        self.queue: deque[tuple[RequestT, Prepared | None, float]] = deque()
        self.preparing: RequestT | None = None

    def __bool__(self) -> bool:
        return bool(self.queue)

    def next(
        self, now: float, prepare: Prepare, first: RequestT | None = None
    ) -> tuple[RequestT, Prepared | None] | None:
        """The next request to send and its prepared form (None: send it by `call`).

        Runs a new preparation run when none is waiting. The request stays here until
        `taken(request)`.

        Args:
            now: the driver's current time.
            prepare: prepares one request (see `Prepare`).
            first: a request the caller already took from the engine to start a new run
                with (only when none is waiting here).
        """
        queue = self.queue
        if queue and not self.engine.may_send(now):
            self.requeue_all()  # a fatal error, a stop or the deadline came in between
        if not queue:
            if not self._run(now, prepare, first):
                return None
            # Preparing takes time (credentials may refresh over the network): the
            # deadline may have passed meanwhile, and nothing goes out after it.
            now = self.clock()
            if not self.engine.may_send(now):
                self.requeue_all()
                return None
        request, prepared, made = queue[0]
        if prepared is not None and now - made > PREPARED_FOR:
            prepared = None  # waited too long: `call` signs it afresh
        return request, prepared

    def _run(self, now: float, prepare: Prepare, first: RequestT | None) -> bool:
        """Take and prepare a run of requests; False if the engine had none ready."""
        size = 0
        self.preparing = first
        while len(self.queue) < AHEAD_REQUESTS and size < AHEAD_BYTES:
            request = first if first is not None else self.engine.next_request(now)
            first = None
            if request is None:
                break
            self.preparing = request  # handed back by requeue_all if interrupted here
            try:
                prepared = prepare(request.operation, request.params)
            except Exception:
                # Sent by `call`, which meets the failure again. The run ends here: the
                # next requests would most likely fail alike (credentials failing to
                # refresh, each attempt a network round trip), only delaying that.
                self.queue.append((request, None, now))
                self.preparing = None
                break
            # A BatchGetItem's reader of its answer (core's BatchRequest; other engines'
            # requests have none).
            prepared.reader = getattr(request, "reader", None)
            self.queue.append((request, prepared, now))
            self.preparing = None
            size += prepared.size
        return bool(self.queue)

    def holds(self, request: RequestT) -> bool:
        """Whether `request` is still the next one here (not yet `taken`: never sent)."""
        return bool(self.queue) and self.queue[0][0] is request

    def taken(self, request: RequestT) -> None:
        """The driver recorded `request` as sending or in flight: it leaves the queue."""
        if self.holds(request):
            self.queue.popleft()

    def requeue_all(self) -> None:
        """Hand back every request taken ahead and not sent (its units wait again)."""
        for request, _, _ in self.queue:
            self.engine.requeue(request)  # a no-op for one already settled
        self.queue.clear()
        if self.preparing is not None:
            self.engine.requeue(self.preparing)
            self.preparing = None
