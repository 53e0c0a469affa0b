"""What a driver needs of an engine: the seam between sans-I/O planning and sending.

The flush engine, the pager of queries and scans and the transaction engine all plan
requests and read answers the same way; a driver (thread pool, asyncio) runs any of
them. Pure code.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from _dynamap.errors import TransportError

__all__ = ["Engine", "Lookahead", "Request", "RequestT"]


class Request(Protocol):
    """One call an engine planned: the operation, its parameters, and whether it is settled.

    `settled` turns True once the engine accounted for an outcome (answered, failed,
    abandoned or withdrawn); a second outcome is ignored.
    """

    @property
    def operation(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def settled(self) -> bool: ...


RequestT = TypeVar("RequestT", bound=Request)


class Engine(Protocol[RequestT]):
    """Plans requests and reads their answers; never sends anything itself.

    A driver asks `next_request(now)` for work until it returns None, sends each
    request, and reports back with exactly one of `on_response`, `on_error`,
    `abandon` (no answer came in time) or `withdraw` (never sent). `next_wakeup` says
    when waiting work (a retry) becomes ready; nothing is sent after `deadline`.
    """

    @property
    def deadline(self) -> float: ...

    def next_request(self, now: float) -> RequestT | None: ...

    def next_wakeup(self) -> float | None: ...

    def on_response(self, request: RequestT, response: dict[str, Any], now: float) -> None: ...

    def on_error(self, request: RequestT, error: TransportError, now: float) -> None: ...

    def abandon(self, request: RequestT) -> None: ...

    def withdraw(self, request: RequestT) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class Lookahead(Engine[RequestT], Protocol[RequestT]):
    """An engine whose requests a driver may take ahead of sending (to prepare them in
    one run) and give back unsent.

    Before sending a request taken earlier, the driver asks `may_send(now)`; when it
    is False, or the driver stops, it hands every such request back with `requeue`,
    which leaves their units as if they had never been taken.
    """

    def may_send(self, now: float) -> bool: ...

    def requeue(self, request: RequestT) -> None: ...
