"""Both async transports through the fault proxy: the same errors, CRC checks, rotating
credentials (the async twin of test_transports.py).

Each test runs once per transport setting (see ``dynamap_transport`` in tests/conftest.py):
"fast" gives `AsyncSession(client)` and `default_async_transport(client)` the
AioFastTransport, "botocore" the AiobotocoreTransport, and both must give the same answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from _dynamap.drivers import ahead
from _dynamap.transport.aiobotocore import AiobotocoreTransport
from _dynamap.transport.aiofast import AioFastTransport, default_async_transport
from dynamap import TransportError
from dynamap.aio import AsyncSession
from tests.backend.test_transports import QUICK, Blob, _items, rotating
from tests.support.aio import aio_client
from tests.support.ddblocal import ACCESS_KEY, REGION
from tests.support.faultproxy import Corrupt, DropAfter, DropBefore, ServerError, Throttle
from tests.support.tables import create_tables, scan_all

EXPECTED = {"fast": AioFastTransport, "botocore": AiobotocoreTransport}


@pytest.fixture
def tables(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, Blob)
    return table_prefix


def _bare(proxy: Any) -> Any:
    return aio_client(proxy.endpoint, retries={"total_max_attempts": 1})


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        (Throttle(), "ThrottlingException", 400),
        (ServerError(), "InternalServerError", 500),
        (DropBefore(), TransportError.NO_ANSWER, None),
        (DropAfter(), TransportError.NO_ANSWER, None),
        (Corrupt(), TransportError.NO_ANSWER, None),
    ],
)
def test_faults_map_to_the_same_errors(proxy, tables, dynamap_transport, fault, code, status):
    params = {"RequestItems": {tables + "blobs": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}}}

    async def main() -> tuple[Any, Any]:
        async with _bare(proxy) as client:
            transport = default_async_transport(client)
            assert type(transport) is EXPECTED[dynamap_transport]
            proxy.enqueue(fault)
            with pytest.raises(TransportError) as caught:
                await transport.call("BatchGetItem", params)
            again = await transport.call("BatchGetItem", params)
            return caught.value, again

    error, again = asyncio.run(main())
    assert (error.code, error.status) == (code, status)
    assert again["Responses"] == {tables + "blobs": []}


def test_service_errors_map_to_the_same_codes(proxy, tables):
    calls = [
        ("PutItem", {"TableName": tables + "missing", "Item": {"pk": {"S": "a"}}}),
        ("PutItem", {"TableName": tables + "blobs", "Item": {"pk": {"S": "a"}}}),
        ("BatchWriteItem", {"RequestItems": {tables + "blobs": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(26)
        ]}}),
    ]  # fmt: skip

    async def main() -> list[tuple[str, int | None]]:
        errors = []
        async with _bare(proxy) as client:
            transport = default_async_transport(client)
            for op, params in calls:
                with pytest.raises(TransportError) as caught:
                    await transport.call(op, params)
                errors.append((caught.value.code, caught.value.status))
        return errors

    assert asyncio.run(main()) == [
        ("ResourceNotFoundException", 400),
        ("ValidationException", 400),
        ("ValidationException", 400),
    ]


def test_a_failed_condition_hands_back_the_stored_item_with_its_bytes(proxy, tables):
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "data": {"B": b"\xfb\xff"}, "s": {"BS": [b"+/"]}}

    async def main() -> TransportError:
        async with _bare(proxy) as client:
            transport = default_async_transport(client)
            await transport.call("PutItem", {"TableName": tables + "blobs", "Item": item})
            with pytest.raises(TransportError) as caught:
                await transport.call(
                    "PutItem",
                    {
                        "TableName": tables + "blobs",
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    },
                )
            return caught.value

    error = asyncio.run(main())
    assert error.code == "ConditionalCheckFailedException"
    assert error.details["Item"] == item


def test_a_corrupted_answer_is_retried_and_never_decoded(proxy, tables):
    items = _items(30)

    async def main() -> list[Any]:
        async with _bare(proxy) as client:
            async with AsyncSession(client, table_prefix=tables, retry=QUICK) as session:
                for item in items:
                    session.put(item)
                proxy.enqueue(Corrupt())  # the batch write applied; its answer is unusable
            proxy.reset_counts()
            proxy.enqueue(Corrupt())
            async with AsyncSession(
                client, table_prefix=tables, retry=QUICK, concurrency=1
            ) as session:
                got = [session.get(Blob, item.pk, item.sk) for item in items]
                await session.flush()
                return [await g for g in got]

    assert asyncio.run(main()) == items
    assert proxy.counts.faults["corrupt"] == 1
    assert proxy.counts.keys["BatchGetItem"] == 60  # every key asked again after the corruption


def test_credentials_rotating_mid_flush_sign_every_request(
    proxy, direct_client, tables, monkeypatch
):
    """Async refreshable credentials close to expiry are refreshed before each request.

    AioFastTransport fetches them once per run of requests prepared ahead (drivers/
    ahead.py): runs of one request here, so that each request fetches them.
    """
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 1)
    from aiobotocore.credentials import AioRefreshableCredentials
    from aiobotocore.session import get_session

    fresh = rotating()

    async def refresh() -> dict[str, str]:
        return fresh()

    async def main() -> None:
        first = await refresh()
        session: Any = get_session()
        session._credentials = AioRefreshableCredentials.create_from_metadata(
            first, refresh, "test"
        )
        async with (
            session.create_client(
                "dynamodb", region_name=REGION, endpoint_url=proxy.endpoint
            ) as client,
            AsyncSession(client, table_prefix=tables, concurrency=2, retry=QUICK) as dm,
        ):
            for item in _items(100):
                dm.put(item)

    proxy.forward_access_key = ACCESS_KEY  # DynamoDB Local keeps tables per access key
    asyncio.run(main())
    writes = [key for key in proxy.access_keys if key.startswith("ROTATED")]
    assert len(writes) == proxy.counts.requests["BatchWriteItem"] == 4
    assert len(set(writes)) == 4  # a new key for each request, as the credentials rotated
    assert len(scan_all(direct_client, tables + "blobs")) == 100
