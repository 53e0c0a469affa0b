"""AioFastTransport without a server: answers from a before-send hook, and its settings."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from _dynamap.transport.aiofast import AioFastTransport, default_async_transport
from dynamap import TransportError
from tests.support.aio import aio_client
from tests.unit.transport.test_fast import _Raw  # pyright: ignore[reportPrivateUsage]

DOWN = "http://127.0.0.1:9"  # nothing listens: a connection is refused at once
PUT = ("PutItem", {"TableName": "t", "Item": {"pk": {"S": "a"}, "b": {"B": b"\xff"}}})


class Canned:
    """A before-send hook answering with (status, body), or raising `error`."""

    def __init__(self, client: Any, status: int, body: dict[str, Any], error: Any = None) -> None:
        self.status, self.error = status, error
        self.body = json.dumps(body).encode()
        self.requests: list[Any] = []
        client.meta.events.register("before-send.dynamodb", self)

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        headers = {"x-amz-crc32": str(zlib.crc32(self.body) & 0xFFFFFFFF)}
        return AWSResponse(request.url, self.status, headers, _Raw(self.body))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_answers_from_a_hook_are_parsed_and_errors_mapped():
    async def main() -> None:
        async with aio_client(DOWN, read_timeout=7, connect_timeout=3) as client:
            transport = default_async_transport(client)
            assert isinstance(transport, AioFastTransport)
            assert transport.request_timeout == 10.0 and transport.pool_size == 10
            canned = Canned(client, 200, {"Attributes": {"b": {"B": "/w=="}}})
            answer = await transport.call(*PUT)
            assert answer == {"Attributes": {"b": {"B": b"\xff"}}}
            sent = json.loads(canned.requests[0].body)
            assert sent["Item"]["b"] == {"B": "/w=="}  # standard base64
            assert "Credential=" in canned.requests[0].headers["Authorization"]
            canned.status, canned.body = 400, b'{"__type":"x#ValidationException","message":"no"}'
            with pytest.raises(TransportError) as info:
                await transport.call(*PUT)
            assert (info.value.code, info.value.status) == ("ValidationException", 400)
            await transport.close()  # nothing of its own to close

    run(main())


def test_an_exception_that_is_not_a_transport_failure_propagates():
    async def main() -> None:
        async with aio_client(DOWN) as client:
            Canned(client, 200, {}, error=ZeroDivisionError("bug"))
            with pytest.raises(ZeroDivisionError):
                await AioFastTransport(client).call(*PUT)

    run(main())


def test_a_refused_connection_is_not_sent():
    async def main() -> None:
        async with aio_client(DOWN) as client:
            with pytest.raises(TransportError) as info:
                await AioFastTransport(client).call(*PUT)
            assert info.value.code == TransportError.NOT_SENT

    run(main())


def test_unsigned_clients_send_no_signature():
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session
    from botocore import UNSIGNED

    async def main() -> None:
        async with get_session().create_client(
            "dynamodb",
            region_name="eu-west-1",
            endpoint_url=DOWN,
            config=AioConfig(signature_version=UNSIGNED),
        ) as client:
            canned = Canned(client, 200, {})
            await AioFastTransport(client).call(*PUT)
            assert "Authorization" not in canned.requests[0].headers

    run(main())
