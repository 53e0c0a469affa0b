"""The transport seam: call a DynamoDB operation with parameters, get the parsed response."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """Anything that can call a DynamoDB operation; sync drivers use `call`.

    A transport may also have a `request_timeout` attribute: the longest one call can
    take, in seconds. A flush waits that long for requests in flight past its deadline
    or after an interrupt (60 s when the attribute is absent).
    """

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` (e.g. "BatchGetItem") and return the parsed response.

        Raises TransportError for service and connection errors, with
        `TransportError.NOT_SENT` or `TransportError.NO_ANSWER` as the code when no
        answer came back; any other exception counts as a maybe-applied failure.

        Args:
            operation: the DynamoDB operation name, as in the API reference.
            params: the request parameters, in DynamoDB's JSON shape (boto3's client form).
        """
        ...
