"""What the drivers decide alike: how an outcome reaches the engine, how long to wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _dynamap.core.protocol import Engine, RequestT
from _dynamap.core.retry import CLIENT_FAILURE
from _dynamap.errors import TransportError

__all__ = ["as_transport_error", "report", "wait_for"]


def as_transport_error(exc: Exception) -> TransportError:
    """A failure on the client side, as the engine takes it: its units must not vanish."""
    if isinstance(exc, TransportError):
        return exc
    return TransportError(CLIENT_FAILURE, f"{type(exc).__name__}: {exc}")


def report(
    engine: Engine[RequestT],
    request: RequestT,
    call: Callable[[], dict[str, Any]],
    clock: Callable[[], float],
) -> None:
    """Hand the outcome of `call` to the engine, timed when it came back."""
    try:
        response = call()
    except TransportError as exc:
        engine.on_error(request, exc, clock())
    except BaseException:
        engine.abandon(request)  # e.g. KeyboardInterrupt inside the transport: no answer
        raise
    else:
        engine.on_response(request, response, clock())


def wait_for(engine: Engine[Any], now: float, linger: float, *, full: bool) -> float | None:
    """How long a driver with requests in flight may wait for one (seconds); None when it
    must stop waiting and abandon them.

    Past the deadline nothing new goes out, and what is in flight gets one request timeout
    (`linger`) to come back, then is abandoned (its writes of unknown outcome). With every
    slot busy (`full`), only a completion or that limit can change anything; otherwise the
    driver also wakes for the next retry that is due.

    Args:
        engine: the flush's engine.
        now: the engine clock's time.
        linger: how long requests in flight may take past the deadline.
        full: whether as many requests are in flight as may be.
    """
    limit = engine.deadline if now < engine.deadline else engine.deadline + linger
    if now >= limit:
        return None
    wakeup = engine.next_wakeup()
    until = limit if full or wakeup is None else min(wakeup, limit)
    return max(0.0, until - now)
