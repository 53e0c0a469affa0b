"""How a sync driver hands an outcome to the engine: both sync drivers do it alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _dynamap.core.protocol import Engine, RequestT
from _dynamap.core.retry import CLIENT_FAILURE
from _dynamap.errors import TransportError

__all__ = ["as_transport_error", "report"]


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
