"""The sync driver without workers: several requests in flight, all on the flushing thread.

With a transport that can start a request and leave it (`Multiplexing`), this driver
sends up to `concurrency` requests, waits for any of their sockets with `poll`, and
reads and parses each answer as it comes, on the thread that flushes. The engine's
decisions are the same as with worker threads (drivers/threads.py); what changes is
that no thread hands anything to another. On the benchmark machine each such hand-over
(a worker woken by its answer, the flushing thread woken by the worker, a thread
waiting for the GIL) costs tens of microseconds of CPU: sent on their own, 400
BatchWriteItems took about half the client CPU per request that the threaded driver
spends (bench/README.md has the session figures).

Every request is, at any time, either live here (started, its outcome not yet
reported) or settled in the engine, even when an exception cuts the flush short. A
request is recorded as live before its first byte leaves; one cut by an interrupt
inside a step (how much it sent or read unsure) sends no more and counts as of
unknown outcome, but is waited for like the others.
After one, what is live gets `linger` seconds to come back (a second interrupt ends
that), and what has not is abandoned (its writes of unknown outcome) and ends on a
worker of the session, a straggler its next flush waits for (drivers/threads.py).
"""

from __future__ import annotations

import contextlib
import math
import select
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Generic, cast

from _dynamap.core.protocol import Engine, Lookahead, RequestT
from _dynamap.drivers.ahead import Ahead
from _dynamap.drivers.outcome import as_transport_error, report, wait_for
from _dynamap.transport.base import Multiplexing, Prepared, Started, wraps_send
from _dynamap.transport.polling import poll_once, step_until_done

__all__ = ["MULTIPLEX", "drive_multiplexed", "multiplexes"]

# Whether sync flushes with concurrency use this driver where the transport allows
# (the benchmarks switch it off to compare).
MULTIPLEX = True


def multiplexes(transport: object) -> bool:
    """Whether the sync driver sends through `transport` on one thread (this module).

    Args:
        transport: the session's transport.
    """
    return (
        MULTIPLEX
        and hasattr(select, "poll")  # not on Windows: the threaded driver sends there
        and isinstance(transport, Multiplexing)
        and transport.multiplexed
        and not wraps_send(transport)  # a wrapper of call or send must see every request
    )


class _Multiplexer(Generic[RequestT]):
    """One flush's sending loop on one thread, and its winding down after an exception."""

    def __init__(
        self,
        engine: Engine[RequestT],
        transport: Multiplexing,
        *,
        concurrency: int,
        absorb: Callable[[], None],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        linger: float,
        pool: Executor | None = None,
        stragglers: dict[Future[dict[str, Any]], RequestT] | None = None,
    ) -> None:
        self.engine = engine
        self.pool = pool
        self.stragglers = stragglers
        self.transport = transport
        self.concurrency = max(1, concurrency)
        self.absorb = absorb
        self.clock = clock
        self.sleep = sleep
        self.linger = linger
        self.live: dict[Started, RequestT] = {}
        self.sending: RequestT | None = None  # being started: it may have left
        self.stepping: Started | None = None  # being moved on: its state is unsure if cut
        self.now = 0.0
        self.ahead: Ahead[RequestT] | None = None
        if isinstance(engine, Lookahead):
            self.ahead = Ahead(engine, clock)

    def run(self) -> None:
        engine, live = self.engine, self.live
        while True:
            now = self.now = self.clock()
            while len(live) < self.concurrency:
                taken = self._next(now)
                if taken is None:
                    break
                request, prepared = taken
                self.sending = request
                if self.ahead is not None:
                    self.ahead.taken(request)  # until then, an interrupt hands it back unsent
                started = self._start(request, prepared)
                if started is not None:
                    live[started] = request
                self.sending = None
                if started is not None and not started.done:
                    self._step(started)  # it leaves now (recorded first: see wind_down)
                if started is None or started.done:  # failed to start, or answered at once
                    if started is not None:
                        report(engine, request, started.result, self.clock)
                        del live[started]
                    self.absorb()
                # Starting may block (a new connection, a TLS handshake): the next
                # request is judged against the deadline as of now, not the loop's start.
                now = self.now = self.clock()
            wakeup = engine.next_wakeup()
            if not live:
                if wakeup is None:
                    return
                self.sleep(max(0.0, wakeup - now))
                continue
            timeout = wait_for(engine, now, self.linger, full=len(live) >= self.concurrency)
            if timeout is None:  # past the deadline and the linger after it
                self._abandon_live()
                self._requeue_ahead()
                return
            poll_once(live, timeout, self._step)
            self.now = self.clock()
            done = [started for started in live if started.done]
            for started in done:
                report(engine, live[started], started.result, self.last_now)
            for started in done:
                del live[started]
            if done:
                self.absorb()

    def wind_down(self) -> None:
        """After an exception: send nothing more, let what is live come back (bounded)."""
        engine, live = self.engine, self.live
        engine.stop()
        sending, ahead = self.sending, self.ahead
        if sending is not None and not (ahead is not None and ahead.holds(sending)):
            engine.abandon(sending)  # a no-op if its outcome was reported
        cut = self.stepping
        if cut is not None:  # cut inside a step: what it sent or read is unsure
            self.stepping = None
            try:
                cut.cut()  # it sends no more; waited for below, of unknown outcome whatever comes
            except BaseException:  # it must send no more all the same: closed instead
                with contextlib.suppress(BaseException):
                    cut.close()
            request = live.get(cut)
            if request is not None:
                engine.abandon(request)
        # A second interrupt during this wait ends it: what is left is abandoned.
        with contextlib.suppress(BaseException):
            step_until_done(live, self.linger, self._step)
        cut = self.stepping  # a second interrupt cut this one while reading: not handed on
        if cut is not None:
            with contextlib.suppress(Exception):
                cut.close()
        for started, request in list(live.items()):
            if started.done and not request.settled:
                with contextlib.suppress(BaseException):  # the first exception propagates
                    report(engine, request, started.result, self.last_now)
        self._abandon_live()
        self._requeue_ahead()  # after the above: what was sent is settled, and stays so

    def _next(self, now: float) -> tuple[RequestT, Prepared | None] | None:
        if self.ahead is not None:
            return self.ahead.next(now, self.transport.prepare)
        request = self.engine.next_request(now)
        return None if request is None else (request, None)

    def _start(self, request: RequestT, prepared: Prepared | None) -> Started | None:
        """Start sending `request`; None if that failed (the engine has been told)."""
        transport = self.transport
        try:
            if prepared is None:  # not prepared ahead (or too long ago): now
                prepared = transport.prepare(request.operation, request.params)
                prepared.reader = getattr(request, "reader", None)
            return transport.start(request.operation, prepared)
        except Exception as exc:
            self.engine.on_error(request, as_transport_error(exc), self.clock())
            return None

    def _step(self, started: Started) -> None:
        self.stepping = started  # an interrupt inside: wind_down cuts it
        started.step()
        self.stepping = None

    def last_now(self) -> float:
        """The time last read from the clock (answers handled together share it)."""
        return self.now

    def _requeue_ahead(self) -> None:
        if self.ahead is not None:
            self.ahead.requeue_all()

    def _abandon_live(self) -> None:
        for started, request in self.live.items():
            # Closing it would not stop the server applying it, maybe later than a newer
            # write of the next flush: as the threaded driver does, it ends on a worker,
            # as a straggler that the session's next flush waits for (and holds its
            # keys back until then). That includes one already abandoned (cut by an
            # interrupt, or interrupted as it was recorded) but not yet ended.
            if not (started.done or self._straggle(started, request)):
                with contextlib.suppress(Exception):
                    started.close()
            if not request.settled:
                self.engine.abandon(request)
        self.live.clear()

    def _straggle(self, started: Started, request: RequestT) -> bool:
        if self.pool is None or self.stragglers is None:
            return False
        try:
            future = self.pool.submit(_finish_alone, started)
        except Exception:  # e.g. the pool shut down: close it instead
            return False
        self.stragglers[future] = request
        return True


def _finish_alone(started: Started) -> dict[str, Any]:
    """Move an abandoned request on until it ends (its answer, or its read timeout);
    its outcome no longer matters: the engine has abandoned it."""
    try:
        step_until_done([started], math.inf)
    finally:
        if not started.done:
            started.close()
    return {}


def drive_multiplexed(
    engine: Engine[RequestT],
    transport: Any,
    *,
    concurrency: int,
    absorb: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    linger: float = 60.0,
    pool: Executor | None = None,
    stragglers: dict[Future[dict[str, Any]], RequestT] | None = None,
) -> None:
    """Send the engine's requests through a `Multiplexing` transport, at most
    `concurrency` at a time, on this thread, until the engine is idle.

    `absorb` runs after each batch of answers. Any exception propagates once the
    engine has accounted for every request.

    Args:
        engine: the flush's engine.
        transport: a transport for which `multiplexes` is true.
        concurrency: how many requests may be in flight at once.
        absorb: takes the answers in (called after each batch of them).
        clock: the engine's clock.
        sleep: sleeps when nothing is in flight and a retry is due later.
        linger: how long what is in flight may take past the deadline or an exception.
        pool: finishes requests abandoned while in flight (none: they are closed).
        stragglers: where those requests go, with the futures of their finishing.
    """
    driver: _Multiplexer[RequestT] = _Multiplexer(
        engine,
        cast(Multiplexing, transport),
        concurrency=concurrency,
        absorb=absorb,
        clock=clock,
        sleep=sleep,
        linger=linger,
        pool=pool,
        stragglers=stragglers,
    )
    try:
        driver.run()
    except BaseException:
        driver.wind_down()
        raise
