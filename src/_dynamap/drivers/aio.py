"""The asyncio driver: runs an engine's requests as tasks on the running event loop.

The mirror of `threads.py` (all decisions are the engine's; this module only sends,
waits and reports back), written for tasks rather than generated from it: at most
`concurrency` requests in flight, retries when the engine's `next_wakeup` comes, no new
request after the deadline and a `linger` for those in flight.

Cancellation (the task awaiting the flush is cancelled): the engine is stopped, a
request created but not started yet is withdrawn (never sent), the requests in flight
get `grace` seconds to answer so that their outcome is known, the rest are abandoned
(of unknown outcome; they go on in the background, into `stragglers`), and
CancelledError propagates. Every request ends answered, abandoned or withdrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, cast

from _dynamap.core.protocol import Engine, Lookahead, Request, RequestT
from _dynamap.core.retry import CLIENT_FAILURE
from _dynamap.drivers.ahead import Ahead
from _dynamap.drivers.outcome import wait_for
from _dynamap.errors import TransportError
from _dynamap.transport.asyncbase import AsyncPreparing, AsyncTransport
from _dynamap.transport.base import Prepared, wraps_call

__all__ = ["AsyncStragglers", "await_stragglers", "drive"]

# Requests a flush stopped waiting for while they were in flight, by their task.
AsyncStragglers = dict[asyncio.Task[dict[str, Any]], RequestT]


async def _send(
    transport: AsyncTransport,
    request: Request,
    started: set[int],
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    started.add(id(request))  # from here on the request may have gone out
    try:
        if prepared is not None:
            return await cast(AsyncPreparing, transport).send(request.operation, prepared)
        return await transport.call(request.operation, request.params)
    except TransportError:
        raise
    except Exception as exc:  # a client-side failure: the request's units must not vanish
        raise TransportError(CLIENT_FAILURE, f"{type(exc).__name__}: {exc}") from exc


def _report(
    engine: Engine[RequestT], request: RequestT, task: asyncio.Task[dict[str, Any]], now: float
) -> None:
    """Hand the outcome of a finished task to the engine."""
    if task.cancelled():  # cancelled by someone else: no answer
        engine.abandon(request)
        return
    error = task.exception()
    if error is None:
        engine.on_response(request, task.result(), now)
    elif isinstance(error, TransportError):
        engine.on_error(request, error, now)
    else:  # a BaseException from inside the transport: no usable answer
        engine.abandon(request)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a straggler's outcome as seen (nobody awaits it any more)."""
    if not task.cancelled():
        task.exception()


class _Driver(Generic[RequestT]):
    """One flush's sending loop, and its winding down when it is cancelled."""

    def __init__(
        self,
        *,
        engine: Engine[RequestT],
        transport: AsyncTransport,
        concurrency: int,
        absorb: Callable[[], None],
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        linger: float,
        grace: float,
        stragglers: AsyncStragglers[RequestT],
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.concurrency = concurrency
        self.absorb = absorb
        self.clock = clock
        self.sleep = sleep
        self.linger = linger
        self.grace = grace
        self.stragglers = stragglers
        self.in_flight: dict[asyncio.Task[dict[str, Any]], RequestT] = {}
        self.started: set[int] = set()  # ids of the requests whose task began to run
        # Requests prepared ahead, in runs (see ahead.py), with a transport that can.
        self.ahead: Ahead[RequestT] | None = None
        self.preparer: AsyncPreparing | None = None
        if (
            isinstance(transport, AsyncPreparing)
            and not wraps_call(transport)  # its `call` must see every request
            and isinstance(engine, Lookahead)
        ):
            self.ahead = Ahead(engine, clock)
            self.preparer = transport

    async def run(self) -> None:
        engine, in_flight = self.engine, self.in_flight
        loop = asyncio.get_running_loop()
        while True:
            now = self.clock()
            while len(in_flight) < self.concurrency:
                taken = await self._next(now)
                if taken is None:
                    break
                request, prepared = taken
                task = loop.create_task(_send(self.transport, request, self.started, prepared))
                in_flight[task] = request
                if self.ahead is not None:
                    self.ahead.taken(request)  # in flight now (no await in between)
            wakeup = engine.next_wakeup()
            if not in_flight:
                if wakeup is None:
                    return
                await self.sleep(max(0.0, wakeup - now))
                continue
            timeout = wait_for(engine, now, self.linger, full=len(in_flight) >= self.concurrency)
            if timeout is None:  # past the deadline and the linger after it
                self._abandon_in_flight()
                if self.ahead is not None:
                    self.ahead.requeue_all()
                return
            done, _ = await asyncio.wait(
                in_flight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            now = self.clock()
            for task in done:
                _report(engine, in_flight.pop(task), task, now)
            self.absorb()

    async def wind_down(self) -> None:
        """After a cancellation: send nothing more, give what is in flight `grace` seconds."""
        engine = self.engine
        engine.stop()
        for task, request in list(self.in_flight.items()):
            if id(request) not in self.started and task.cancel():  # never ran: never sent
                engine.withdraw(request)
                del self.in_flight[task]
        if self.in_flight and self.grace > 0:
            # A second cancellation during this wait ends it: what is left is abandoned.
            with contextlib.suppress(BaseException):
                await asyncio.wait(self.in_flight, timeout=self.grace)
        now = self.clock()
        for task, request in list(self.in_flight.items()):
            if task.done():
                _report(engine, request, task, now)
                del self.in_flight[task]
        self._abandon_in_flight()
        if self.ahead is not None:
            self.ahead.requeue_all()  # never sent: their units wait again, unsent

    async def _next(self, now: float) -> tuple[RequestT, Prepared | None] | None:
        """The next request to send, and its prepared form (None: `call` prepares it)."""
        ahead, preparer = self.ahead, self.preparer
        if ahead is None or preparer is None:
            request = self.engine.next_request(now)
            return None if request is None else (request, None)
        credentials: Any = None
        first: RequestT | None = None
        if not ahead:  # a new run, if there is work: the credentials to sign it with
            first = self.engine.next_request(now)
            if first is None:
                return None
            ahead.preparing = first  # handed back if the wait below is cancelled
            try:
                credentials = await preparer.credentials()
            except Exception:
                # Sent by `call`, which meets the failure again and reports it; unless the
                # wait took it past the deadline (nothing goes out after it): it waits again.
                if not ahead.engine.may_send(self.clock()):
                    ahead.requeue_all()
                    return None
                ahead.preparing = None
                return first, None
            except BaseException:
                ahead.requeue_all()
                raise
            now = self.clock()

        def prepare(operation: str, params: dict[str, Any]) -> Prepared:
            return preparer.prepare(operation, params, credentials)

        return ahead.next(now, prepare, first)

    def _abandon_in_flight(self) -> None:
        for task, request in self.in_flight.items():
            if request.settled:
                continue
            self.engine.abandon(request)
            self.stragglers[task] = request
            task.add_done_callback(_retrieve)
        self.in_flight.clear()


async def drive(
    engine: Engine[RequestT],
    transport: AsyncTransport,
    *,
    concurrency: int,
    absorb: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    linger: float = 60.0,
    grace: float = 5.0,
    stragglers: AsyncStragglers[RequestT] | None = None,
) -> None:
    """Send the engine's requests, at most `concurrency` at a time, until it is idle.

    `absorb` runs after each batch of answers. Requests still in flight `linger`
    seconds after the engine's deadline, or `grace` seconds after a cancellation, are
    abandoned (their tasks go on, into `stragglers`); CancelledError (or any other
    exception) propagates once the engine has accounted for every request.
    """
    driver: _Driver[RequestT] = _Driver(
        engine=engine,
        transport=transport,
        concurrency=concurrency,
        absorb=absorb,
        clock=clock,
        sleep=sleep,
        linger=linger,
        grace=grace,
        stragglers={} if stragglers is None else stragglers,
    )
    try:
        await driver.run()
    except BaseException:
        await driver.wind_down()
        raise


async def await_stragglers(stragglers: AsyncStragglers[Any], timeout: float) -> None:
    """Wait at most `timeout` seconds for abandoned requests to end; forget those that did."""
    if stragglers:
        await asyncio.wait(list(stragglers), timeout=timeout)
    for task in [t for t in stragglers if t.done()]:
        del stragglers[task]
