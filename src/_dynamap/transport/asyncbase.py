"""The async transport seam: await a DynamoDB operation, get the parsed response."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["AsyncTransport"]


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
