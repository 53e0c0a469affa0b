"""The botocore transport: DynamoDB operations through a boto3 low-level client."""

from __future__ import annotations

import re
from typing import Any

from _dynamap.errors import TransportError

__all__ = ["Boto3Transport"]


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
