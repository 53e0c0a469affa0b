"""The botocore transport: DynamoDB operations through a boto3 low-level client.

The session owns retries and the flush deadline, so its calls must not be retried
again inside botocore (in legacy mode botocore makes up to 10 attempts per call, with
backoff: a 2 s deadline became 25 s). `Boto3Transport` therefore sends through a
sibling of the caller's client, built once per client: the same endpoint, region,
credentials object (refreshed as usual), TLS verification and client configuration
(timeouts, proxies, pool size, user agent), with botocore's retries off. The caller's
client is left as it was. Event handlers registered on the caller's client are not
carried over; a client created with `retries={"total_max_attempts": 1}` is used as is.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from typing import Any

from _dynamap.errors import TransportError

__all__ = ["Boto3Transport", "transport_error"]

log = logging.getLogger("dynamap")

_siblings: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_siblings_lock = threading.Lock()


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class _Credentials:
    """A botocore credential provider handing out one existing credentials object."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def load_credentials(self) -> Any:
        return self.credentials


def _build_sibling(client: Any) -> Any:
    """A client like `client` (endpoint, region, credentials, config) without retries."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    loader = getattr(client, "_loader", None)
    if loader is not None:  # reuse the parsed service models: 10x faster to build
        session.register_component("data_loader", loader)
    # The very credentials object of the caller's client, so refreshes are shared; and
    # no second lookup through the credential chain (which may query a metadata server).
    session.register_component("credential_provider", _Credentials(client._get_credentials()))
    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    return session.create_client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        verify=getattr(http_session, "_verify", None),
        config=client.meta.config.merge(
            Config(retries={"total_max_attempts": 1, "mode": "standard"})
        ),
    )


def without_retries(client: Any) -> Any:
    """The client to send through: `client` itself if it never retries, else its sibling.

    Falls back to `client` (with a warning) if it is not a botocore client or a
    sibling cannot be built: calls then work, but botocore's retries can make a
    flush overrun its deadline.
    """
    config = getattr(getattr(client, "meta", None), "config", None)
    retries: dict[str, Any] = getattr(config, "retries", None) or {}
    if config is None or retries.get("total_max_attempts") == 1:
        return client
    with _siblings_lock:
        sibling = _siblings.get(client)
        if sibling is None:
            try:
                sibling = _build_sibling(client)
            except Exception as exc:
                log.warning(
                    "dynamap: could not build a client without botocore retries (%s: %s); "
                    "using the given client, whose retries may overrun the flush deadline",
                    type(exc).__name__,
                    exc,
                )
                return client
            _siblings[client] = sibling
    return sibling


def transport_error(exc: Exception) -> TransportError | None:
    """The TransportError for a botocore exception; None for exceptions it does not know.

    Connection failures are told apart by whether the request may have left: a failed
    connect means it was certainly not applied (`NOT_SENT`); a timeout, closed
    connection or unreadable answer after sending means it may have been (`NO_ANSWER`).
    """
    from botocore.exceptions import (
        ChecksumError,
        ClientError,
        ConnectionError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        IncompleteReadError,
        ParamValidationError,
        ProxyConnectionError,
    )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError):
        response: dict[str, Any] = dict(exc.response)
        error: dict[str, Any] = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        details = {k: v for k, v in response.items() if k not in ("Error", "ResponseMetadata")}
        return TransportError(
            str(error.get("Code", "Unknown")), str(error.get("Message", exc)), status, details
        )
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)):
        return TransportError(TransportError.NOT_SENT, str(exc))
    if isinstance(
        exc,
        (ConnectionError, HTTPClientError, ResponseParserError, ChecksumError, IncompleteReadError),
    ):
        # TLS errors and unknown connection errors included: they may come mid-exchange.
        return TransportError(TransportError.NO_ANSWER, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ParamValidationError):  # botocore's own checks: not worth retrying
        return TransportError("ParamValidationError", str(exc))
    return None


def _crc32_handler(response_dict: dict[str, Any], **_: Any) -> None:
    import zlib

    from botocore.exceptions import ChecksumError

    expected = response_dict["headers"].get("x-amz-crc32")
    if expected is None:
        return
    actual = zlib.crc32(response_dict["body"] or b"") & 0xFFFFFFFF
    if str(actual) != expected:
        raise ChecksumError(
            checksum_type="crc32", expected_checksum=expected, actual_checksum=str(actual)
        )


def check_crc32(client: Any) -> None:
    """Make `client` refuse answers whose body does not match their `x-amz-crc32` header.

    botocore only checks the CRC in its legacy retry mode; a sibling client has standard
    retries, so a corrupted answer would be parsed. The check runs before parsing and
    raises botocore's ChecksumError, mapped to `TransportError.NO_ANSWER` (retryable).
    """
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:
        events.register("before-parse.dynamodb", _crc32_handler, unique_id="dynamap-crc32")


class Boto3Transport:
    """A Transport over a boto3 DynamoDB low-level client (thread-safe, like the client).

    `client` is the client given; `sender` the one calls go through (see the module
    notes: the same client without botocore's retries). `request_timeout` is the
    longest one call can take: its connect plus read timeouts.
    """

    def __init__(self, client: Any) -> None:
        """Wrap a boto3 client.

        Args:
            client: a boto3 DynamoDB low-level client (`boto3.client("dynamodb")`).
        """
        self.client: Any = client
        self.sender: Any = without_retries(client)
        check_crc32(self.sender)
        config = getattr(getattr(self.sender, "meta", None), "config", None)
        connect = getattr(config, "connect_timeout", None)
        read = getattr(config, "read_timeout", None)
        self.request_timeout: float = float(connect or 60) + float(read or 60)
        self._methods: dict[str, Any] = {}

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call the client method for `operation`, mapping botocore errors to TransportError.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchGetItem".
            params: the request parameters, in boto3's client form.
        """
        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(self.sender, _snake(operation))
        try:
            response: dict[str, Any] = method(**params)
        except Exception as exc:
            error = transport_error(exc)
            if error is None:
                raise
            raise error from exc
        return response
