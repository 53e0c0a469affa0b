"""The async transport seam: await a DynamoDB operation, get the parsed response."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from _dynamap.transport.base import Prepared

__all__ = ["AsyncPreparing", "AsyncTransport"]


@runtime_checkable
class AsyncTransport(Protocol):
    """Anything that can call a DynamoDB operation from a coroutine; async drivers use it.

    Same contract as `Transport`, awaited: an optional `request_timeout` attribute (the
    longest one call can take, in seconds), and an optional `pool_size` (how many
    connections it can hold open: an AsyncSession refuses a larger `concurrency`).
    """

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` (e.g. "BatchGetItem") and return the parsed response.

        Raises TransportError for service and connection errors, with
        `TransportError.NOT_SENT` or `TransportError.NO_ANSWER` as the code when no
        answer came back; any other exception counts as a maybe-applied failure.
        Cancelling the call abandons the request: its outcome is unknown.

        Args:
            operation: the DynamoDB operation name, as in the API reference.
            params: the request parameters, in DynamoDB's JSON shape (boto3's client form).
        """
        ...


@runtime_checkable
class AsyncPreparing(Protocol):
    """An async transport that can sign and encode requests before sending them.

    The async driver awaits `credentials()` once per run of requests, prepares the
    run with them on the event loop (`prepare` does no I/O), then sends each with
    `send`, which behaves exactly as `call` with the same parameters.
    """

    async def credentials(self) -> Any:
        """The credentials to sign the next run of requests with (refreshed if due)."""
        ...

    def prepare(self, operation: str, params: dict[str, Any], credentials: Any) -> Prepared:
        """Sign and encode `operation` with `params` for a later `send`.

        Args:
            operation: the DynamoDB operation name.
            params: the request parameters, in boto3's client form.
            credentials: what `credentials()` returned.
        """
        ...

    async def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        """Send a prepared request; return and raise as `call` does.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        ...
