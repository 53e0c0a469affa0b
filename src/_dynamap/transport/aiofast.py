"""The async fast transport: the fast transport's wire layer on an aiobotocore client's HTTP.

`FastTransport` skips botocore's per-request machinery on item data (parameter
validation, serialiser, response parser, retries); this does the same from a coroutine.
The request is built, signed and its answer read by the same `Wire` (JSON from
pydantic-core, SigV4, CRC32 check, error mapping); only the HTTP differs: it goes
through the aiobotocore client's own aiohttp session, so its TLS verification,
proxies, timeouts and pool size apply. Credentials are the client's, fetched (and so
refreshed) for every request.

Each request is first offered to the client's `before-send.dynamodb.<Operation>` event,
as aiobotocore's endpoint does. No retries happen here: the session's engine owns them.
Errors map to TransportError as `AiobotocoreTransport` maps them.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, cast

from _dynamap.codec.wireread import BatchGetReader
from _dynamap.transport.aiobotocore import (
    DEFAULT_POOL,
    AiobotocoreTransport,
    async_transport_error,
)
from _dynamap.transport.asyncbase import AsyncTransport
from _dynamap.transport.base import Prepared
from _dynamap.transport.fast import credentials_of, request_timeout, supported, wire_for
from _dynamap.transport.wire import Wire

__all__ = ["AioFastTransport", "default_async_transport"]

log = logging.getLogger("dynamap")


class AioFastTransport:
    """An AsyncTransport that sends DynamoDB's JSON protocol itself, over an aiobotocore
    client's HTTP session and with its credentials and configuration (see the module notes).

    `request_timeout` is the longest one call can take (connect plus read timeouts);
    `pool_size` the client's `max_pool_connections`.
    """

    # The session may hand it batched puts as RawItems (their JSON, made while hot).
    raw_items = True

    def __init__(self, client: Any) -> None:
        """Send with `client`'s credentials, HTTP session and configuration.

        Args:
            client: an aiobotocore DynamoDB client, opened (`async with
                session.create_client("dynamodb") as client`).
        """
        meta = client.meta
        self.client: Any = client
        self.wire: Wire = wire_for(client)
        self.request_timeout: float = request_timeout(client)
        pool = getattr(meta.config, "max_pool_connections", None)
        self.pool_size: int = int(pool or DEFAULT_POOL)
        self._emit: Any = meta.events.emit_until_response
        self._service_id: str = meta.service_model.service_id.hyphenize()

    async def credentials(self) -> Any:
        """The credentials to sign the next requests with (None when unsigned)."""
        return await self._credentials()

    def prepare(self, operation: str, params: dict[str, Any], credentials: Any) -> Prepared:
        """Sign and encode `operation` with `params` for a later `send` (no I/O).

        Args:
            operation: the DynamoDB operation name.
            params: the request parameters, in boto3's client form.
            credentials: what `credentials()` returned.
        """
        request = self.wire.prepare(operation, params, credentials)
        return Prepared(request, len(cast(bytes, request.body)))

    async def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        """Send a request made by `prepare`; return and raise as `call` does.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        return await self._send(operation, prepared.request, prepared.reader)

    async def _credentials(self) -> Any:
        if not self.wire.sign:
            return None
        # Refreshable credentials refresh themselves here when they expire soon; an
        # aiobotocore client's freeze is awaited, a botocore one's is not.
        frozen = credentials_of(self.client).get_frozen_credentials()
        return await frozen if inspect.isawaitable(frozen) else frozen

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send `operation` with `params`; return the parsed answer in boto3's client shape.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchGetItem".
            params: the request parameters, in boto3's client form.
        """
        request = self.wire.prepare(operation, params, await self._credentials())
        return await self._send(operation, request)

    async def _send(
        self, operation: str, request: Any, reader: BatchGetReader | None = None
    ) -> dict[str, Any]:
        try:
            event = f"before-send.{self._service_id}.{operation}"
            _, response = await self._emit(event, request=request)
            if response is None:
                response = await self.client._endpoint.http_session.send(request)
            status, headers, body = response.status_code, response.headers, response.content
            if inspect.isawaitable(body):  # aiobotocore's response; a stub's holds bytes
                body = await body
        except Exception as exc:
            error = async_transport_error(exc)
            if error is None:
                raise
            raise error from exc
        if status >= 300:
            log.debug("%s answered HTTP %d", operation, status)
        return self.wire.parse(status, headers, body, reader)

    async def close(self) -> None:
        """Nothing to close: the HTTP session is the client's, closed with it."""


def default_async_transport(client: Any) -> AsyncTransport:
    """The transport `AsyncSession(client)` uses: AioFastTransport for an aiobotocore
    DynamoDB client, AiobotocoreTransport for anything else (or when the default is
    switched to "botocore", as the tests do to run both).

    Args:
        client: an aiobotocore DynamoDB client.
    """
    from _dynamap.transport import fast

    if fast.DEFAULT_TRANSPORT == "fast" and supported(client):
        return AioFastTransport(client)
    return AiobotocoreTransport(client)
