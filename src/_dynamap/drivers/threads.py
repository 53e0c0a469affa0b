"""The synchronous driver: runs an engine's requests through a bounded thread pool.

All decisions are the engine's; this module only sends, waits and reports back. An
async driver would do the same with tasks instead of threads.

Every request is, at any time, either in flight here or settled in the engine
(answered, failed, or abandoned), even when an exception (KeyboardInterrupt, an
exception from the transport or from the caller's code) cuts a flush short.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any, Generic, cast

from _dynamap.core.protocol import Engine, Lookahead, Request, RequestT
from _dynamap.drivers.ahead import Ahead
from _dynamap.drivers.multiplex import drive_multiplexed, multiplexes
from _dynamap.drivers.outcome import as_transport_error, report, wait_for
from _dynamap.errors import TransportError
from _dynamap.transport.base import Prepared, Preparing, Transport, wraps_call

__all__ = ["Stragglers", "await_stragglers", "drive"]

# Requests a flush stopped waiting for while they were in flight, by their future.
Stragglers = dict[Future[dict[str, Any]], RequestT]


def _send(
    transport: Transport, request: Request, prepared: Prepared | None = None
) -> dict[str, Any]:
    try:
        if prepared is not None:
            return cast(Preparing, transport).send(request.operation, prepared)
        return transport.call(request.operation, request.params)
    except TransportError:
        raise
    except Exception as exc:  # a client-side failure: the request's units must not vanish
        raise as_transport_error(exc) from exc


def _run(
    future: Future[dict[str, Any]],
    transport: Transport,
    request: Request,
    prepared: Prepared | None,
) -> None:
    """Send `request` on a worker, into a future the driver tracked before submitting it."""
    if not future.set_running_or_notify_cancel():
        return  # cancelled before it started: never sent
    try:
        response = _send(transport, request, prepared)
    except BaseException as exc:  # KeyboardInterrupt, SystemExit...: the driver decides
        future.set_exception(exc)
    else:
        future.set_result(response)


class _Driver(Generic[RequestT]):
    """One flush's sending loop, and its winding down when an exception cuts it short."""

    def __init__(
        self,
        *,
        engine: Engine[RequestT],
        transport: Transport,
        pool: ThreadPoolExecutor | None,
        concurrency: int,
        absorb: Callable[[], None],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        linger: float,
        stragglers: Stragglers[RequestT],
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.pool = pool
        self.concurrency = concurrency
        self.absorb = absorb
        self.clock = clock
        self.sleep = sleep
        self.linger = linger
        self.stragglers = stragglers
        self.in_flight: dict[Future[dict[str, Any]], RequestT] = {}
        self.sending: RequestT | None = None  # sent on this thread (no pool)
        self.now = 0.0
        # Requests prepared ahead, in runs (see ahead.py), with a transport that can.
        self.ahead: Ahead[RequestT] | None = None
        self.prepare: Callable[[str, dict[str, Any]], Prepared] | None = None
        if (
            isinstance(transport, Preparing)
            and not wraps_call(transport)  # its `call` must see every request
            and isinstance(engine, Lookahead)
        ):
            self.ahead = Ahead(engine, clock)
            self.prepare = transport.prepare

    def run(self) -> None:
        engine, in_flight = self.engine, self.in_flight
        while True:
            now = self.now = self.clock()
            while len(in_flight) < self.concurrency:
                taken = self._next(now)
                if taken is None:
                    break
                request, prepared = taken
                if self.pool is None:
                    send = partial(_send, self.transport, request, prepared)
                    self.sending = request
                    self._taken(request)  # until then, an interrupt hands it back unsent
                    report(engine, request, send, self.clock)
                    self.sending = None
                    self.absorb()
                    now = self.now = self.clock()
                    continue
                # Tracked before it is submitted: an interrupt inside submit() (which
                # may start a thread) cannot leave a request running unseen.
                future: Future[dict[str, Any]] = Future()
                in_flight[future] = request
                self._taken(request)
                self.pool.submit(_run, future, self.transport, request, prepared)
            wakeup = engine.next_wakeup()
            if not in_flight:
                if wakeup is None:
                    return
                self.sleep(max(0.0, wakeup - now))
                continue
            timeout = wait_for(engine, now, self.linger, full=len(in_flight) >= self.concurrency)
            if timeout is None:  # past the deadline and the linger after it
                self._abandon_in_flight()
                self._requeue_ahead()
                return
            done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            now = self.now = self.clock()
            for future in done:
                report(engine, in_flight[future], future.result, self.last_now)
            for future in done:
                del in_flight[future]
            self.absorb()

    def wind_down(self) -> None:
        """After an exception: send nothing more, wait (bounded) for what is in flight."""
        engine = self.engine
        engine.stop()
        sending, ahead = self.sending, self.ahead
        if sending is not None and not (ahead is not None and ahead.holds(sending)):
            engine.abandon(sending)  # a no-op if its outcome was reported
        # (still ahead: it never reached the transport, and `_requeue_ahead` hands it back)
        for future, request in self.in_flight.items():
            if future.cancel():  # queued behind busy workers: never sent
                engine.withdraw(request)
        running = [future for future in self.in_flight if not future.cancelled()]
        if running:
            # A second interrupt during this wait ends it: what is left is abandoned.
            with contextlib.suppress(BaseException):
                wait(running, timeout=self.linger)
        for future in running:
            if future.done():
                with contextlib.suppress(BaseException):  # the first exception propagates
                    report(engine, self.in_flight[future], future.result, self.last_now)
        self._abandon_in_flight()
        self._requeue_ahead()  # after the above: what was sent is settled, and stays so

    def _next(self, now: float) -> tuple[RequestT, Prepared | None] | None:
        """The next request to send, and its prepared form (None: `call` prepares it).

        The request stays ahead until `_taken` is called, once the caller has recorded
        it as sending or in flight.
        """
        if self.ahead is None or self.prepare is None:
            request = self.engine.next_request(now)
            return None if request is None else (request, None)
        return self.ahead.next(now, self.prepare)

    def _taken(self, request: RequestT) -> None:
        if self.ahead is not None:
            self.ahead.taken(request)

    def _requeue_ahead(self) -> None:
        if self.ahead is not None:
            self.ahead.requeue_all()

    def last_now(self) -> float:
        """The time last read from the clock (answers handled together share it)."""
        return self.now

    def _abandon_in_flight(self) -> None:
        for future, request in self.in_flight.items():
            if request.settled:
                continue
            if future.cancel():  # still queued (the workers were busy): never sent
                self.engine.withdraw(request)
            else:
                self.engine.abandon(request)
                self.stragglers[future] = request
        self.in_flight.clear()


def drive(
    engine: Engine[RequestT],
    transport: Transport,
    *,
    pool: ThreadPoolExecutor | None,
    concurrency: int,
    absorb: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    linger: float = 60.0,
    stragglers: Stragglers[RequestT] | None = None,
) -> None:
    """Send the engine's requests, at most `concurrency` at a time, until it is idle.

    Without a pool, requests are sent one by one on this thread. `absorb` runs after
    each batch of answers, so results can be taken while the flush goes on. Requests
    still in flight `linger` seconds after the engine's deadline, or after an exception
    cut the flush short, are abandoned (their futures go into `stragglers`); any
    exception propagates once the engine has accounted for every request.

    With a pool and a transport that can (`Multiplexing`), the requests are sent, waited
    for and read on this thread instead, several at once (`drivers/multiplex.py`): the
    same engine, far fewer thread wake-ups.
    """
    if pool is not None and multiplexes(transport):
        drive_multiplexed(
            engine,
            transport,
            concurrency=concurrency,
            absorb=absorb,
            clock=clock,
            sleep=sleep,
            linger=linger,
            # Requests abandoned in flight end on a worker, as stragglers (multiplex.py).
            pool=pool,
            stragglers=stragglers,
        )
        return
    driver: _Driver[RequestT] = _Driver(
        engine=engine,
        transport=transport,
        pool=pool,
        concurrency=concurrency,
        absorb=absorb,
        clock=clock,
        sleep=sleep,
        linger=linger,
        stragglers={} if stragglers is None else stragglers,
    )
    try:
        driver.run()
    except BaseException:
        driver.wind_down()
        raise


def await_stragglers(stragglers: Stragglers[Any], timeout: float) -> None:
    """Wait at most `timeout` seconds for abandoned requests to end; forget those that did."""
    if stragglers:
        wait(list(stragglers), timeout=timeout)
    ended: Iterable[Future[dict[str, Any]]] = [f for f in stragglers if f.done()]
    for future in ended:
        del stragglers[future]
