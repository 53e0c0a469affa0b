"""The fast transport: DynamoDB's JSON protocol sent over the boto3 client's own HTTP pool.

botocore spends most of a batch call's client time on item data: validating the
parameters, serialising them, and parsing the answer shape by shape. This transport
keeps what botocore is good at and skips the rest:

- from the client: its credentials (fetched per request, so refreshable credentials
  are refreshed), region, endpoint (FIPS and dual-stack settings included) and user
  agent, and its urllib3 pool (`client._endpoint.http_session`), which botocore built from
  the client's configuration: TLS verification, proxies, timeouts, pool size, TCP
  keep-alive, client certificates. Connection errors come from that pool as botocore's
  exceptions and are mapped exactly as `Boto3Transport` maps them;
- from `wire.py`: the JSON body, the SigV4 signature (botocore's signer), the CRC32 check
  and the error mapping.

Each request is first offered to the client's `before-send.dynamodb.<Operation>` event,
as botocore's endpoint does, so stubs that answer there (moto's `mock_aws`, botocore's
Stubber does not: it works at `before-call`) keep working, and handlers that count or
inspect requests see them. No retries happen here: the session's engine owns them.

Not supported (use `Boto3Transport`): account-ID-based endpoints (the client's regional
endpoint is used, which is always valid) and clients whose signature version is not SigV4.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from _dynamap.transport.boto3 import transport_error
from _dynamap.transport.wire import Wire

__all__ = ["FastTransport"]

log = logging.getLogger("dynamap")


class FastTransport:
    """A Transport that sends DynamoDB's JSON protocol itself, through a boto3 client's pool.

    Thread-safe. The client's credentials, region, endpoint, user agent and HTTP
    configuration are used; botocore's parameter validation, serialiser, parser and
    retries are not (see the module notes). `request_timeout` is the longest one call
    can take: the client's connect plus read timeouts.
    """

    def __init__(self, client: Any) -> None:
        """Send through `client`'s configuration and connection pool.

        Args:
            client: a boto3 DynamoDB low-level client (`boto3.client("dynamodb")`).
        """
        from botocore import UNSIGNED

        meta = client.meta
        config = meta.config
        self.client: Any = client
        self.wire: Wire = Wire(
            endpoint_url=meta.endpoint_url,
            region=meta.region_name,
            user_agent=client._user_agent_creator.to_string(),
            service_model=meta.service_model,
            sign=config.signature_version is not UNSIGNED,
        )
        self.request_timeout: float = float(config.connect_timeout or 60) + float(
            config.read_timeout or 60
        )
        self._http: Any = client._endpoint.http_session
        self._emit: Callable[..., tuple[Any, Any]] = meta.events.emit_until_response
        self._service_id: str = meta.service_model.service_id.hyphenize()
        self._events: dict[str, str] = {}

    def _credentials(self) -> Any:
        if not self.wire.sign:
            return None
        credentials = self.client._get_credentials()
        if credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        return credentials.get_frozen_credentials()  # refreshes them when they expire soon

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send `operation` with `params`; return the parsed answer in boto3's client shape.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchGetItem".
            params: the request parameters, in boto3's client form.
        """
        request = self.wire.prepare(operation, params, self._credentials())
        event = self._events.get(operation)
        if event is None:
            event = self._events[operation] = f"before-send.{self._service_id}.{operation}"
        try:
            _, response = self._emit(event, request=request)
            if response is None:
                response = self._http.send(request)
            status: int = response.status_code
            body: bytes = response.content
        except Exception as exc:
            error = transport_error(exc)
            if error is None:
                raise
            raise error from exc
        if status >= 300:
            log.debug("%s answered HTTP %d", operation, status)
        return self.wire.parse(status, response.headers, body)


# What `Session(client)` sends through: "fast" (FastTransport, the default) or "botocore"
# (Boto3Transport). The tests switch it to run the backend suite on both.
DEFAULT_TRANSPORT = "fast"


def default_transport(client: Any) -> Any:
    """The transport `Session(client)` uses: FastTransport for a boto3 DynamoDB client.

    Anything else (a client without botocore's internals, another signature version,
    or `DEFAULT_TRANSPORT = "botocore"`) gets a Boto3Transport, which only needs the
    client's methods.

    Args:
        client: a boto3 DynamoDB low-level client.
    """
    from _dynamap.transport.boto3 import Boto3Transport

    if DEFAULT_TRANSPORT == "fast" and _supported(client):
        return FastTransport(client)
    return Boto3Transport(client)


def _supported(client: Any) -> bool:
    from botocore import UNSIGNED
    from botocore.client import BaseClient

    if not isinstance(client, BaseClient):
        return False
    meta = client.meta
    return (
        meta.service_model.service_name == "dynamodb"
        and meta.config.signature_version in (None, "v4", UNSIGNED)
        and getattr(getattr(client, "_endpoint", None), "http_session", None) is not None
        and bool(meta.region_name)
    )
