"""The synchronous driver: runs a FlushEngine's requests through a bounded thread pool.

All decisions are the engine's; this module only sends, waits and reports back. An
async driver would do the same with tasks instead of threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

from _dynamap.core.engine import BatchRequest, FlushEngine
from _dynamap.errors import TransportError
from _dynamap.transport.base import Transport

__all__ = ["drive"]


def _send(transport: Transport, request: BatchRequest) -> dict[str, Any]:
    try:
        return transport.call(request.operation, request.params)
    except TransportError:
        raise
    except Exception as exc:  # a client-side failure: the request's units must not vanish
        raise TransportError("ClientError", f"{type(exc).__name__}: {exc}") from exc


def _report(
    engine: FlushEngine,
    request: BatchRequest,
    call: Callable[[], dict[str, Any]],
    clock: Callable[[], float],
) -> None:
    """Hand the outcome of `call` to the engine, timed when it came back."""
    try:
        response = call()
    except TransportError as exc:
        engine.on_error(request, exc, clock())
    else:
        engine.on_response(request, response, clock())


def drive(
    engine: FlushEngine,
    transport: Transport,
    *,
    pool: ThreadPoolExecutor | None,
    concurrency: int,
    absorb: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send the engine's requests, at most `concurrency` at a time, until it is idle.

    Without a pool, requests are sent one by one on this thread. `absorb` runs after
    each batch of answers, so results can be taken while the flush goes on.
    """
    in_flight: dict[Future[dict[str, Any]], BatchRequest] = {}
    while True:
        now = clock()
        while len(in_flight) < concurrency:
            request = engine.next_request(now)
            if request is None:
                break
            if pool is None:
                _report(engine, request, partial(_send, transport, request), clock)
                absorb()
                now = clock()
                continue
            in_flight[pool.submit(_send, transport, request)] = request
        wakeup = engine.next_wakeup()
        if not in_flight:
            if wakeup is None:
                return
            sleep(max(0.0, wakeup - now))
            continue
        # With every worker busy, only a completion can free a slot: wait for one (a
        # timeout here would spin while ready work waits). Otherwise wake for the next
        # retry that becomes due.
        full = len(in_flight) >= concurrency
        timeout = None if full or wakeup is None else max(0.0, wakeup - now)
        done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            _report(engine, in_flight.pop(future), future.result, clock)
        absorb()
