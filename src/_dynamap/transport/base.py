"""The transport seam: call a DynamoDB operation with parameters, get the parsed response."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """Anything that can call a DynamoDB operation; sync drivers use `call`."""

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` (e.g. "BatchGetItem") and return the parsed response.

        Raises TransportError for service and connection errors.

        Args:
            operation: the DynamoDB operation name, as in the API reference.
            params: the request parameters, in DynamoDB's JSON shape (boto3's client form).
        """
        ...
