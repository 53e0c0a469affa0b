"""Both transports through the fault proxy: the same errors, CRC checks, rotating credentials.

Every test here runs once per transport (see ``dynamap_transport`` in tests/conftest.py):
`default_transport(client)` and `Session(client)` use the one under test, and each test
states what botocore's mapping gives, so both transports are held to the same answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Annotated, Any

import botocore.session
import pytest
from botocore.credentials import RefreshableCredentials

from _dynamap.transport.fast import default_transport
from dynamap import Model, PartitionKey, RetryPolicy, Session, SortKey, TransportError
from tests.support.ddblocal import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.faultproxy import Corrupt, DropAfter, DropBefore, ServerError, Throttle
from tests.support.tables import create_tables, scan_all


class Blob(Model, table="blobs"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    data: bytes = b""
    parts: set[bytes] = set()
    text: str = ""


QUICK = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, deadline=30.0)


@pytest.fixture
def tables(direct_client, table_prefix):
    create_tables(direct_client, table_prefix, Blob)
    return table_prefix


def _items(n: int) -> list[Blob]:
    return [
        Blob(
            pk=f"p{i % 7}",
            sk=i,
            data=bytes([i % 256]) * 3 + b"+/",
            parts={b"\x00", bytes([i % 256])},
            text=f"text-{i}",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        (Throttle(), "ThrottlingException", 400),
        (ServerError(), "InternalServerError", 500),
        (DropBefore(), TransportError.NO_ANSWER, None),  # sent, then the connection closed
        (DropAfter(), TransportError.NO_ANSWER, None),
        (Corrupt(), TransportError.NO_ANSWER, None),
    ],
)
def test_faults_map_to_the_same_errors(proxy, proxy_client, tables, fault, code, status):
    transport = default_transport(proxy_client)
    proxy.enqueue(fault)
    params = {"RequestItems": {tables + "blobs": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}}}
    with pytest.raises(TransportError) as caught:
        transport.call("BatchGetItem", params)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert transport.call("BatchGetItem", params)["Responses"] == {tables + "blobs": []}


def test_service_errors_map_to_the_same_codes(proxy_client, tables):
    transport = default_transport(proxy_client)
    errors = []
    for op, params in [
        ("PutItem", {"TableName": tables + "missing", "Item": {"pk": {"S": "a"}}}),
        ("PutItem", {"TableName": tables + "blobs", "Item": {"pk": {"S": "a"}}}),
        ("BatchWriteItem", {"RequestItems": {tables + "blobs": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(26)
        ]}}),
    ]:  # fmt: skip
        with pytest.raises(TransportError) as caught:
            transport.call(op, params)
        errors.append((caught.value.code, caught.value.status))
    assert errors == [
        ("ResourceNotFoundException", 400),
        ("ValidationException", 400),
        ("ValidationException", 400),
    ]


def test_a_failed_condition_hands_back_the_stored_item_with_its_bytes(proxy_client, tables):
    transport = default_transport(proxy_client)
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "data": {"B": b"\xfb\xff"}, "s": {"BS": [b"+/"]}}
    transport.call("PutItem", {"TableName": tables + "blobs", "Item": item})
    with pytest.raises(TransportError) as caught:
        transport.call(
            "PutItem",
            {
                "TableName": tables + "blobs",
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        )
    assert caught.value.code == "ConditionalCheckFailedException"
    assert caught.value.details["Item"] == item


def test_a_corrupted_answer_is_retried_and_never_decoded(proxy, proxy_client, tables):
    items = _items(30)
    with Session(proxy_client, table_prefix=tables, retry=QUICK) as session:
        for item in items:
            session.put(item)
        proxy.enqueue(Corrupt())  # the batch write applied; its answer is unusable
    proxy.reset_counts()
    proxy.enqueue(Corrupt())
    with Session(proxy_client, table_prefix=tables, retry=QUICK, concurrency=1) as session:
        got = [session.get(Blob, item.pk, item.sk) for item in items]
        session.flush()
        assert [g.result() for g in got] == items
    assert proxy.counts.faults["corrupt"] == 1
    assert proxy.counts.keys["BatchGetItem"] == 60  # every key asked again after the corruption


def rotating() -> Callable[[], dict[str, str]]:
    """A credential refresher handing out a new access key on every call, each expiring
    within botocore's mandatory refresh window (10 minutes): every use refreshes."""
    serial = itertools.count(1)

    def refresh() -> dict[str, str]:
        expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
        return {
            "access_key": f"ROTATED{next(serial)}",
            "secret_key": SECRET_KEY,
            "token": "token",
            "expiry_time": expiry.isoformat(),
        }

    return refresh


def test_credentials_rotating_mid_flush_sign_every_request(proxy, direct_client, tables):
    """Credentials close to expiry are refreshed before each request that uses them."""
    refresh = rotating()
    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    core = botocore.session.get_session()
    core._credentials = credentials
    client: Any = core.create_client("dynamodb", region_name=REGION, endpoint_url=proxy.endpoint)
    proxy.forward_access_key = ACCESS_KEY  # DynamoDB Local keeps tables per access key
    items = _items(100)
    with Session(client, table_prefix=tables, concurrency=2, retry=QUICK) as session:
        for item in items:
            session.put(item)
    writes = [key for key in proxy.access_keys if key.startswith("ROTATED")]
    assert len(writes) == proxy.counts.requests["BatchWriteItem"] == 4
    assert len(set(writes)) == 4  # a new key for each request, as the credentials rotated
    assert len(scan_all(direct_client, tables + "blobs")) == 100
