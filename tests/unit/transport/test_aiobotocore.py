"""AiobotocoreTransport without a server: the client it sends through, and how errors map."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from _dynamap.transport.aiobotocore import async_transport_error
from _dynamap.transport.boto3 import transport_error
from dynamap import TransportError
from dynamap.aio import AiobotocoreTransport
from tests.support.aio import aio_client

DOWN = "http://127.0.0.1:9"  # nothing listens: a connection is refused at once


def test_calls_go_through_a_sibling_without_retries_closed_with_the_transport():
    async def main() -> None:
        async with aio_client(
            DOWN, retries={"max_attempts": 10, "mode": "legacy"}, read_timeout=7, connect_timeout=3
        ) as client:
            transport = AiobotocoreTransport(client)
            assert transport.request_timeout == 10.0 and transport.pool_size == 10
            with pytest.raises(TransportError) as info:
                await transport.call("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}})
            assert info.value.code == TransportError.NOT_SENT  # refused: never sent
            sender = transport.sender
            assert sender is not client
            assert sender.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
            assert client.meta.config.retries == {"total_max_attempts": 11, "mode": "legacy"}
            assert sender._get_credentials() is client._get_credentials()
            assert sender.meta.config.read_timeout == 7
            await transport.close()
            assert transport.sender is None

    asyncio.run(main())


def test_a_client_without_retries_is_used_as_is_and_left_open():
    async def main() -> None:
        async with aio_client(DOWN, retries={"total_max_attempts": 1}) as client:
            transport = AiobotocoreTransport(client)
            assert transport.sender is client
            await transport.close()
            assert transport.sender is client

    asyncio.run(main())


def test_errors_map_as_for_boto3():
    error = ClientError(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
            "Item": {"pk": {"S": "a"}},
        },
        "PutItem",
    )
    mapped, expected = async_transport_error(error), transport_error(error)
    assert mapped is not None and expected is not None
    assert (mapped.code, mapped.status, mapped.message, dict(mapped.details)) == (
        expected.code,
        expected.status,
        expected.message,
        dict(expected.details),
    )
    timeout = async_transport_error(ReadTimeoutError(endpoint_url=DOWN))
    assert timeout is not None and timeout.code == TransportError.NO_ANSWER
    assert async_transport_error(ValueError("x")) is None


def connector_error() -> aiohttp.ClientConnectorError:
    key: Any = type("Key", (), {"ssl": False, "host": "h", "port": 1})()
    return aiohttp.ClientConnectorError(key, OSError(111, "refused"))


@pytest.mark.parametrize(
    ("cause", "code"),
    [
        (None, TransportError.NOT_SENT),
        (connector_error(), TransportError.NOT_SENT),  # the connection could not be made
        (socket.gaierror("no such host"), TransportError.NOT_SENT),
        (aiohttp.ClientOSError(104, "reset by peer"), TransportError.NO_ANSWER),  # after sending
    ],
    ids=["no-cause", "connect", "dns", "reset"],
)
def test_a_connection_error_counts_as_not_sent_only_when_it_failed_to_connect(cause, code):
    kwargs: dict[str, Any] = {"endpoint_url": DOWN}
    if cause is not None:
        kwargs["error"] = cause
    mapped = async_transport_error(EndpointConnectionError(**kwargs))
    assert mapped is not None and mapped.code == code
