"""The transport seam: call a DynamoDB operation with parameters, get the parsed response."""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

__all__ = ["Boto3Transport", "Transport", "TransportError"]


class TransportError(Exception):
    """A failed call, reduced to what retry decisions need: error code and HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code: str = code
        self.message: str = message
        self.status: int | None = status


@runtime_checkable
class Transport(Protocol):
    """Anything that can call a DynamoDB operation; sync drivers use `call`."""

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` (e.g. "BatchGetItem") and return the parsed response.

        Raises TransportError for service and connection errors.
        """
        ...


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class Boto3Transport:
    """A Transport over a boto3 DynamoDB low-level client (thread-safe, like the client)."""

    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self._methods: dict[str, Any] = {}

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call the client method for `operation`, mapping botocore errors to TransportError."""
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            ParamValidationError,
        )

        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(self.client, _snake(operation))
        try:
            response: dict[str, Any] = method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise TransportError(
                str(error.get("Code", "Unknown")), str(error.get("Message", exc)), status
            ) from exc
        except (ConnectionError, HTTPClientError) as exc:
            raise TransportError("ConnectionError", str(exc)) from exc
        except ParamValidationError as exc:  # botocore's own checks: not worth retrying
            raise TransportError("ParamValidationError", str(exc)) from exc
        return response
