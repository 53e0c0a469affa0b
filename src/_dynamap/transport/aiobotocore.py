"""The aiobotocore transport: DynamoDB operations through an aiobotocore client.

As `Boto3Transport` does for boto3, calls go through a sibling of the caller's client
without botocore's retries (the session owns retries and the flush deadline): the same
endpoint, region, credentials object, TLS verification and configuration (timeouts,
pool size, user agent). An aiobotocore client is opened in a coroutine and holds an
aiohttp connection pool, so the sibling is opened at the first call and closed by
`close()` (an AsyncSession's `close()`, or leaving its `async with` block). A client
created with `retries={"total_max_attempts": 1}` is used as is, and never closed here.

Errors map to TransportError exactly as for boto3 (`transport_error`), with one
refinement: aiobotocore reports every aiohttp connection error as
EndpointConnectionError, also a reset after the request went out; only a failure to
connect counts as `NOT_SENT`, the rest as `NO_ANSWER` (a write may have been applied).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
from typing import Any

from _dynamap.errors import TransportError
from _dynamap.transport.boto3 import (
    _snake,  # pyright: ignore[reportPrivateUsage]
    transport_error,
)

__all__ = ["AiobotocoreTransport", "async_transport_error"]

log = logging.getLogger("dynamap")

DEFAULT_POOL = 10  # botocore's MAX_POOL_CONNECTIONS, when the config sets none


class _Credentials:
    """An aiobotocore credential provider handing out one existing credentials object."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    async def load_credentials(self) -> Any:
        return self.credentials


def _retries_off(client: Any) -> bool:
    config = getattr(getattr(client, "meta", None), "config", None)
    retries: dict[str, Any] = getattr(config, "retries", None) or {}
    return config is None or retries.get("total_max_attempts") == 1


async def _open_sibling(client: Any) -> tuple[Any, Any]:
    """Open a client like `client` without retries; returns (its context, the client)."""
    from botocore.config import Config

    # Imported by name: aiobotocore ships no type information (and is an optional extra).
    session: Any = importlib.import_module("aiobotocore.session").AioSession()
    loader = getattr(client, "_loader", None)
    if loader is not None:  # reuse the parsed service models
        session.register_component("data_loader", loader)
    session.register_component("credential_provider", _Credentials(client._get_credentials()))
    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    context = session.create_client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        verify=getattr(http_session, "_verify", None),
        config=client.meta.config.merge(
            Config(retries={"total_max_attempts": 1, "mode": "standard"})
        ),
    )
    return context, await context.__aenter__()


def async_transport_error(exc: Exception) -> TransportError | None:
    """The TransportError for an exception of an aiobotocore call (see the module notes)."""
    from botocore.exceptions import EndpointConnectionError

    if isinstance(exc, EndpointConnectionError):
        import aiohttp

        kwargs: dict[str, Any] = getattr(exc, "kwargs", None) or {}
        cause = kwargs.get("error")
        if cause is not None and not isinstance(
            cause, (aiohttp.ClientConnectorError, socket.gaierror)
        ):
            return TransportError(TransportError.NO_ANSWER, f"{type(exc).__name__}: {exc}")
    return transport_error(exc)


class AiobotocoreTransport:
    """An AsyncTransport over an aiobotocore DynamoDB client (one event loop at a time).

    `client` is the client given; `sender` the one calls go through, once opened (see
    the module notes). `request_timeout` is the longest one call can take (connect
    plus read timeouts); `pool_size` the client's `max_pool_connections`.
    """

    def __init__(self, client: Any) -> None:
        """Wrap an aiobotocore client.

        Args:
            client: an aiobotocore DynamoDB client, opened (`async with
                session.create_client("dynamodb") as client`).
        """
        self.client: Any = client
        self.sender: Any = client if _retries_off(client) else None
        config = getattr(getattr(client, "meta", None), "config", None)
        connect = getattr(config, "connect_timeout", None)
        read = getattr(config, "read_timeout", None)
        self.request_timeout: float = float(connect or 60) + float(read or 60)
        self.pool_size: int = int(getattr(config, "max_pool_connections", None) or DEFAULT_POOL)
        self._sibling: Any = None  # the context of the sibling opened here, to close it
        self._opening: asyncio.Lock | None = None
        self._methods: dict[str, Any] = {}

    async def _sender(self) -> Any:
        if self.sender is not None:
            return self.sender
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # concurrent first calls open one sibling
            if self.sender is None:
                try:
                    self._sibling, self.sender = await _open_sibling(self.client)
                except Exception as exc:
                    log.warning(
                        "dynamap: could not open a client without botocore retries (%s: %s); "
                        "using the given client, whose retries may overrun the flush deadline",
                        type(exc).__name__,
                        exc,
                    )
                    self.sender = self.client
        return self.sender

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call the client method for `operation`, mapping botocore errors to TransportError.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchGetItem".
            params: the request parameters, in boto3's client form.
        """
        sender = self.sender if self.sender is not None else await self._sender()
        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(sender, _snake(operation))
        try:
            response: dict[str, Any] = await method(**params)
        except Exception as exc:
            error = async_transport_error(exc)
            if error is None:
                raise
            raise error from exc
        return response

    async def close(self) -> None:
        """Close the sibling client opened here (never the caller's); it reopens if used."""
        sibling, self._sibling = self._sibling, None
        if sibling is not None:
            self.sender = None
            self._methods.clear()
            await sibling.__aexit__(None, None, None)
