"""The fast transport: DynamoDB's JSON protocol sent by dynamap, with a boto3 client's settings.

botocore spends most of a batch call's client time on item data: validating the
parameters, serialising them, and parsing the answer shape by shape. This transport
keeps what botocore is good at and skips the rest:

- from the client: its credentials (fetched per request, so refreshable credentials
  are refreshed), region, endpoint (FIPS and dual-stack settings included), user agent,
  and its HTTP settings: TLS verification, timeouts, pool size, socket options;
- from `wire.py`: the JSON body, the SigV4 signature (botocore's signer), the CRC32 check
  and the error mapping;
- from `connections.py`: keep-alive HTTP/1.1 connections, several times cheaper per
  request than botocore's urllib3 session. A client with a proxy (configured or from
  the environment) or a client certificate sends through its botocore session instead.

Each request is first offered to the client's `before-send.dynamodb.<Operation>` event,
as botocore's endpoint does, so stubs that answer there (moto's `mock_aws`) keep
working, and handlers that count or inspect requests see them. No retries happen here:
the session's engine owns them, which also keeps the flush deadline exact.

Not supported (use `Boto3Transport`): account-ID-based endpoints (the client's regional
endpoint is used, which is always valid), signature versions other than SigV4, and
botocore's `before-call`/`after-call` events (so botocore's Stubber does not apply).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, cast

from botocore.awsrequest import AWSPreparedRequest

from _dynamap.codec.wireread import BatchGetReader
from _dynamap.errors import TransportError
from _dynamap.transport.base import Prepared, Started, Transport
from _dynamap.transport.boto3 import transport_error
from _dynamap.transport.connections import ConnectionPool, NoAnswer, NotSent
from _dynamap.transport.exchange import Exchange
from _dynamap.transport.exchange import start as start_exchange
from _dynamap.transport.wire import Wire

__all__ = [
    "FastTransport",
    "credentials_of",
    "default_transport",
    "request_timeout",
    "supported",
    "wire_for",
]

log = logging.getLogger("dynamap")


class FastTransport:
    """A Transport that sends DynamoDB's JSON protocol itself, with a boto3 client's settings.

    Thread-safe; transports of one client share its connections. The client's
    credentials, region, endpoint, user agent and HTTP configuration are used;
    botocore's parameter validation, serialiser, parser and retries are not (see the
    module notes). `request_timeout` is the longest one call
    can take: the client's connect plus read timeouts.
    """

    # The session may hand it batched puts as RawItems (their JSON, made while hot).
    raw_items = True

    def __init__(self, client: Any) -> None:
        """Send with `client`'s credentials and configuration.

        Args:
            client: a boto3 DynamoDB low-level client (`boto3.client("dynamodb")`).
        """
        meta = client.meta
        self.client: Any = client
        self.wire: Wire = wire_for(client)
        self.request_timeout: float = request_timeout(client)
        self._http: Any = client._endpoint.http_session
        # Our own connections where the configuration allows; botocore's session otherwise.
        self.pool: ConnectionPool | None = own_pool(client, self.wire.url)
        self._emit: Callable[..., tuple[Any, Any]] = meta.events.emit_until_response
        self._service_id: str = meta.service_model.service_id.hyphenize()
        self._events: dict[str, str] = {}
        # One thread can send, wait for and read several requests (drivers/multiplex.py)
        # only over our own connections.
        self.multiplexed: bool = self.pool is not None

    def _credentials(self) -> Any:
        if not self.wire.sign:
            return None
        # Refreshable credentials refresh themselves here when they expire soon.
        return credentials_of(self.client).get_frozen_credentials()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send `operation` with `params`; return the parsed answer in boto3's client shape.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchGetItem".
            params: the request parameters, in boto3's client form.
        """
        return self._send(operation, self.wire.prepare(operation, params, self._credentials()))

    def prepare(self, operation: str, params: dict[str, Any]) -> Prepared:
        """Sign and encode `operation` with `params` for a later `send` (see `Preparing`).

        Args:
            operation: the DynamoDB operation name.
            params: the request parameters, in boto3's client form.
        """
        request = self.wire.prepare(operation, params, self._credentials())
        return Prepared(request, len(cast(bytes, request.body)))

    def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        """Send a request made by `prepare`; return and raise as `call` does.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        return self._send(operation, prepared.request, prepared.reader)

    def start(self, operation: str, prepared: Prepared) -> Started:
        """Start sending a request made by `prepare`, without waiting for its answer
        (see `Multiplexing`); raise as `call` does if it cannot be sent.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        request = prepared.request
        try:
            _, response = self._emit(self._event(operation), request=request)
            if response is not None:  # answered in-process (moto): nothing to wait for
                answer = (response.status_code, response.headers, response.content)
                return _Sending(self, operation, prepared.reader, None, answer)
            if self.pool is None:  # not multiplexed: botocore's session sends, blocking
                return _Sending(self, operation, prepared.reader, None, self._post(request))
            exchange = start_exchange(self.pool, request.headers, cast(bytes, request.body))
        except Exception as exc:
            error = _failure(exc)
            if error is exc:
                raise
            raise error from exc
        return _Sending(self, operation, prepared.reader, exchange, None)

    def _event(self, operation: str) -> str:
        event = self._events.get(operation)
        if event is None:
            event = self._events[operation] = f"before-send.{self._service_id}.{operation}"
        return event

    def _post(self, request: AWSPreparedRequest) -> tuple[int, Mapping[str, str], bytes]:
        if self.pool is not None:
            answer = self.pool.post(request.headers, cast(bytes, request.body))
            return answer.status, answer.headers, answer.body
        response = self._http.send(request)
        return response.status_code, response.headers, response.content

    def _send(
        self, operation: str, request: AWSPreparedRequest, reader: BatchGetReader | None = None
    ) -> dict[str, Any]:
        try:
            _, response = self._emit(self._event(operation), request=request)  # moto answers here
            if response is not None:
                status, headers, body = response.status_code, response.headers, response.content
            else:  # our connections, or (a proxy, a client certificate) botocore's session
                status, headers, body = self._post(request)
        except Exception as exc:
            error = _failure(exc)
            if error is exc:
                raise
            raise error from exc
        return self.parse(operation, status, headers, body, reader)

    def parse(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        reader: BatchGetReader | None = None,
    ) -> dict[str, Any]:
        """An answer as `call` returns it, or the TransportError it raises.

        Args:
            operation: the operation answered.
            status: the HTTP status.
            headers: the answer's headers.
            body: the answer's body.
            reader: reads a BatchGetItem answer's items straight into models, if set.
        """
        if status >= 300:
            log.debug("%s answered HTTP %d", operation, status)
        return self.wire.parse(status, headers, body, reader)


def _failure(exc: Exception) -> Exception:
    """What `call` raises for an exception from sending: a TransportError for a
    connection failure or one botocore would map, else the exception itself."""
    if isinstance(exc, NotSent):
        return TransportError(TransportError.NOT_SENT, str(exc))
    if isinstance(exc, NoAnswer):
        return TransportError(TransportError.NO_ANSWER, str(exc))
    error = transport_error(exc)
    return exc if error is None else error


class _Sending:
    """A request FastTransport.start started: an exchange in flight, or its answer."""

    __slots__ = ("answer", "exchange", "operation", "reader", "transport", "wants_write")

    def __init__(
        self,
        transport: FastTransport,
        operation: str,
        reader: BatchGetReader | None,
        exchange: Exchange | None,
        answer: tuple[int, Mapping[str, str], bytes] | None,
    ) -> None:
        self.transport = transport
        self.operation = operation
        self.reader = reader
        self.exchange = exchange
        self.answer = answer
        self.wants_write = exchange is not None and exchange.wants_write

    @property
    def done(self) -> bool:
        exchange = self.exchange
        return exchange is None or exchange.done

    def fileno(self) -> int:
        return -1 if self.exchange is None else self.exchange.fileno()

    def step(self) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.step()
            self.wants_write = exchange.wants_write

    def expired(self, now: float) -> bool:
        return self.exchange is not None and self.exchange.expired(now)

    def cut(self) -> None:
        if self.exchange is not None:
            self.exchange.cut()
            self.wants_write = self.exchange.wants_write

    def close(self) -> None:
        if self.exchange is not None:
            self.exchange.close()

    def result(self) -> dict[str, Any]:
        answer, exchange = self.answer, self.exchange
        if exchange is not None:
            if exchange.error is not None:
                raise TransportError(TransportError.NO_ANSWER, str(exchange.error))
            response = exchange.response
            if response is None:
                raise TransportError(TransportError.NO_ANSWER, "no answer yet")
            answer = (response.status, response.headers, response.body)
        assert answer is not None
        return self.transport.parse(self.operation, *answer, self.reader)


def credentials_of(client: Any) -> Any:
    """The credentials object of a botocore or aiobotocore client (NoCredentialsError
    if it has none); freeze it for each request."""
    credentials = client._get_credentials()
    if credentials is None:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()
    return credentials


def request_timeout(client: Any) -> float:
    """The longest one call of `client` can take: its connect plus read timeouts."""
    config = client.meta.config
    return float(config.connect_timeout or 60) + float(config.read_timeout or 60)


def wire_for(client: Any) -> Wire:
    """The Wire of a botocore or aiobotocore DynamoDB client: its endpoint, region,
    user agent, service model and whether it signs."""
    from botocore import UNSIGNED

    meta = client.meta
    return Wire(
        endpoint_url=meta.endpoint_url,
        region=meta.region_name,
        user_agent=client._user_agent_creator.to_string(),
        service_model=meta.service_model,
        sign=meta.config.signature_version is not UNSIGNED,
    )


# One pool per client, shared by every transport (so every Session) built on it: kept-alive
# connections and the TLS context outlive a session, as botocore's do. The pool holds no
# reference to its client, so it goes with the client.
_pools: weakref.WeakKeyDictionary[Any, ConnectionPool | None] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()


def own_pool(client: Any, url: str) -> ConnectionPool | None:
    """The ConnectionPool of `client` (built once); None where botocore's session must send.

    It is configured like the client's HTTP session. botocore's session stays in use when
    the client has a proxy (including one from the environment) or a client certificate,
    which our pool does not implement.
    """
    with _pools_lock:
        if client in _pools:
            return _pools[client]
        pool = _pools[client] = _new_pool(client, url)
        return pool


def _new_pool(client: Any, url: str) -> ConnectionPool | None:
    session = client._endpoint.http_session
    try:
        if session._proxy_config.proxy_url_for(url) or session._cert_file is not None:
            return None
        config = client.meta.config
        return ConnectionPool(
            url,
            verify=session._verify,
            connect_timeout=float(config.connect_timeout or 60),
            read_timeout=float(config.read_timeout or 60),
            size=int(session._max_pool_connections or 10),
            socket_options=list(session._socket_options or []),
        )
    except AttributeError:  # another botocore's session: use it as it is
        return None


# What `Session(client)` sends through: "fast" (FastTransport, the default) or "botocore"
# (Boto3Transport). The tests switch it to run the backend suite on both.
DEFAULT_TRANSPORT = "fast"


def default_transport(client: Any) -> Transport:
    """The transport `Session(client)` uses: FastTransport for a boto3 DynamoDB client.

    Anything else (a client without botocore's internals, another signature version,
    or `DEFAULT_TRANSPORT = "botocore"`) gets a Boto3Transport, which only needs the
    client's methods.

    Args:
        client: a boto3 DynamoDB low-level client.
    """
    from _dynamap.transport.boto3 import Boto3Transport

    if DEFAULT_TRANSPORT == "fast" and supported(client):
        return FastTransport(client)
    return Boto3Transport(client)


def supported(client: Any) -> bool:
    """Whether the fast wire layer can send for `client` (a botocore or aiobotocore
    DynamoDB client signing with SigV4 or unsigned, with a region and an HTTP session)."""
    from botocore import UNSIGNED
    from botocore.client import BaseClient

    if not isinstance(client, BaseClient):
        return False
    meta = client.meta
    signature: Any = getattr(meta.config, "signature_version", None)
    return (
        meta.service_model.service_name == "dynamodb"
        and signature in (None, "v4", UNSIGNED)
        and getattr(getattr(client, "_endpoint", None), "http_session", None) is not None
        and bool(meta.region_name)
    )
