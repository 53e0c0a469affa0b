"""Every FaultProxy fault mode, against DynamoDB Local through the proxy, with raw boto3."""

from __future__ import annotations

import http.client
import json
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.support.ddblocal import PROBE_AUTH, make_client
from tests.support.faultproxy import (
    DropAfter,
    DropBefore,
    FaultPlan,
    Latency,
    PassThrough,
    ServerError,
    Throttle,
    Withhold,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.dynamodb


def key(pk: str, sk: str = "1") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": sk}}


def item(pk: str, sk: str = "1", v: str = "x") -> dict[str, Any]:
    return {**key(pk, sk), "v": {"S": v}}


def put(pk: str, sk: str = "1") -> dict[str, Any]:
    return {"PutRequest": {"Item": item(pk, sk)}}


@pytest.fixture
def table(direct_client: DynamoDBClient, table_prefix: str) -> str:
    """A fresh pk (S) + sk (N) table."""
    name = f"{table_prefix}items"
    direct_client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def once(proxy: FaultProxy) -> DynamoDBClient:
    """A client through the proxy making exactly one attempt, so errors surface.

    (botocore's ``max_attempts`` counts retries: ``max_attempts=1`` would mean two attempts.)
    """
    return make_client(proxy.endpoint, retries={"total_max_attempts": 1, "mode": "standard"})


def fill(client: DynamoDBClient, table: str, *pks: str) -> None:
    for pk in pks:
        client.put_item(TableName=table, Item=item(pk, v=f"value-{pk}"))


def stored(client: DynamoDBClient, table: str) -> set[str]:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {i["pk"]["S"] for i in items}


def error_of(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call()
    response: Any = info.value.response
    error = response["Error"]
    return response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]


def test_passes_other_operations_through(proxy: FaultProxy, once: DynamoDBClient, table: str):
    proxy.set_plan(FaultPlan(throttle=1.0))  # batch operations only, by default
    once.put_item(TableName=table, Item=item("a"))
    assert once.get_item(TableName=table, Key=key("a"))["Item"] == item("a")
    assert proxy.counts.requests["PutItem"] == 1
    assert proxy.counts.requests["GetItem"] == 1
    assert proxy.counts.faults["throttle"] == 0


def test_withheld_read_keys_are_unprocessed_with_their_options(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    fill(direct_client, table, "a", "b", "c", "d")
    proxy.enqueue(Withhold(predicate=lambda t, k: k["pk"]["S"] in {"b", "d"}))
    spec = {
        "Keys": [key(p) for p in "abcd"],
        "ProjectionExpression": "#p, sk, v",
        "ExpressionAttributeNames": {"#p": "pk"},
        "ConsistentRead": True,
    }
    response = once.batch_get_item(RequestItems={table: spec}, ReturnConsumedCapacity="TOTAL")
    assert sorted(i["pk"]["S"] for i in response["Responses"][table]) == ["a", "c"]
    assert response["UnprocessedKeys"] == {table: {**spec, "Keys": [key("b"), key("d")]}}
    assert response["ConsumedCapacity"][0]["TableName"] == table
    assert proxy.counts.withheld["BatchGetItem"] == 2
    assert proxy.counts.faults["withhold"] == 1
    # The unprocessed part can be sent straight back.
    again = once.batch_get_item(RequestItems=response["UnprocessedKeys"])
    assert sorted(i["pk"]["S"] for i in again["Responses"][table]) == ["b", "d"]


def test_withheld_read_keys_keep_attributes_to_get(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    fill(direct_client, table, "a", "b")
    proxy.withhold_always(lambda t, k: k["pk"]["S"] == "a")
    spec = {"Keys": [key("a"), key("b")], "AttributesToGet": ["pk", "sk"]}
    response = once.batch_get_item(RequestItems={table: spec})
    assert response["Responses"][table] == [key("b")]
    assert response["UnprocessedKeys"] == {table: {**spec, "Keys": [key("a")]}}


def test_withheld_read_keys_with_a_projection_leaving_out_the_key(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    # Items without key attributes cannot be matched to keys: the proxy re-reads kept keys.
    fill(direct_client, table, "a", "b", "c")
    proxy.withhold_always(lambda t, k: k["pk"]["S"] == "b")
    spec = {"Keys": [key(p) for p in "abc"], "ProjectionExpression": "v"}
    response = once.batch_get_item(RequestItems={table: spec})
    assert sorted(i["v"]["S"] for i in response["Responses"][table]) == ["value-a", "value-c"]
    assert response["UnprocessedKeys"] == {table: {**spec, "Keys": [key("b")]}}


def test_withheld_reads_match_items_by_canonical_numbers(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    direct_client.put_item(TableName=table, Item=item("n", "0"))
    direct_client.put_item(TableName=table, Item=item("n", "1.5"))
    proxy.withhold_always(lambda t, k: k["sk"]["N"] == "1.50")
    # "-0" and "0.000" are one item, which the server returns twice.
    keys = [key("n", "-0"), key("n", "0.000"), key("n", "1.50")]
    response = once.batch_get_item(RequestItems={table: {"Keys": keys}})
    assert response["Responses"][table] == [item("n", "0"), item("n", "0")]
    assert response["UnprocessedKeys"] == {table: {"Keys": [key("n", "1.50")]}}


def test_withheld_writes_are_not_performed(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    fill(direct_client, table, "old")
    delete_old = {"DeleteRequest": {"Key": key("old")}}
    proxy.enqueue(Withhold(predicate=lambda t, kv: kv["pk"]["S"] in {"b", "old"}))
    requests = [put("a"), put("b"), put("c"), delete_old]
    response = once.batch_write_item(RequestItems={table: requests})
    assert response["UnprocessedItems"] == {table: [put("b"), delete_old]}
    assert stored(direct_client, table) == {"a", "c", "old"}
    assert proxy.counts.items["BatchWriteItem"] == 4
    assert proxy.counts.withheld["BatchWriteItem"] == 2
    once.batch_write_item(RequestItems=response["UnprocessedItems"])
    assert stored(direct_client, table) == {"a", "b", "c"}


def test_withheld_writes_drop_tables_left_empty(
    proxy: FaultProxy,
    once: DynamoDBClient,
    direct_client: DynamoDBClient,
    table: str,
    table_prefix: str,
):
    other = f"{table_prefix}other"
    direct_client.create_table(
        TableName=other,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    proxy.withhold_always(lambda t, kv: t == other)
    other_put = {"PutRequest": {"Item": {"id": {"S": "z"}}}}
    response = once.batch_write_item(RequestItems={table: [put("a")], other: [other_put]})
    assert response["UnprocessedItems"] == {other: [other_put]}
    assert stored(direct_client, table) == {"a"}
    assert direct_client.scan(TableName=other)["Items"] == []


def test_all_withheld_read_is_throughput_exceeded(
    proxy: FaultProxy, once: DynamoDBClient, table: str
):
    proxy.enqueue(Withhold(fraction=1.0))
    status, code, _ = error_of(
        lambda: once.batch_get_item(RequestItems={table: {"Keys": [key("a"), key("b")]}})
    )
    assert (status, code) == (400, "ProvisionedThroughputExceededException")
    assert proxy.counts.faults["all_withheld"] == 1
    assert proxy.counts.withheld["BatchGetItem"] == 2


def test_all_withheld_write_is_throughput_exceeded_and_not_performed(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    proxy.withhold_always(lambda t, kv: True)
    status, code, _ = error_of(
        lambda: once.batch_write_item(RequestItems={table: [put("a"), put("b")]})
    )
    assert (status, code) == (400, "ProvisionedThroughputExceededException")
    assert stored(direct_client, table) == set()


def test_withhold_always_applies_on_every_call(
    proxy: FaultProxy, proxy_client: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    fill(direct_client, table, "a", "b")
    proxy.withhold_always(lambda t, k: k["pk"]["S"] == "b")
    request = {table: {"Keys": [key("a"), key("b")]}}
    for _ in range(3):
        response = proxy_client.batch_get_item(RequestItems=request)
        assert response["UnprocessedKeys"] == {table: {"Keys": [key("b")]}}
    assert proxy.counts.requests["BatchGetItem"] == 3
    assert proxy.counts.withheld["BatchGetItem"] == 3


def test_withhold_fraction_is_exact(proxy: FaultProxy, once: DynamoDBClient, table: str):
    proxy.enqueue(Withhold(fraction=0.5))
    response = once.batch_write_item(RequestItems={table: [put(p) for p in "abcd"]})
    assert len(response["UnprocessedItems"][table]) == 2


def test_throttle(proxy: FaultProxy, once: DynamoDBClient, table: str):
    proxy.enqueue(Throttle())
    request = {table: {"Keys": [key("a")]}}
    assert error_of(lambda: once.batch_get_item(RequestItems=request))[:2] == (
        400,
        "ThrottlingException",
    )
    assert once.batch_get_item(RequestItems=request)["Responses"] == {table: []}
    assert proxy.counts.faults["throttle"] == 1


def test_botocore_retries_a_throttle_itself(
    proxy: FaultProxy, proxy_client: DynamoDBClient, table: str
):
    proxy.enqueue(Throttle())
    proxy_client.batch_get_item(RequestItems={table: {"Keys": [key("a")]}})
    assert proxy.counts.requests["BatchGetItem"] == 2


def test_server_error(proxy: FaultProxy, once: DynamoDBClient, table: str):
    proxy.enqueue(ServerError())
    call = lambda: once.batch_get_item(RequestItems={table: {"Keys": [key("a")]}})  # noqa: E731
    assert error_of(call)[:2] == (500, "InternalServerError")
    assert proxy.counts.faults["server_error"] == 1


def test_drop_before_does_not_write(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    proxy.enqueue(DropBefore())
    with pytest.raises(ConnectionClosedError):
        once.batch_write_item(RequestItems={table: [put("a")]})
    assert stored(direct_client, table) == set()
    assert proxy.counts.faults["drop_before"] == 1


def test_drop_after_writes(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    proxy.enqueue(DropAfter())
    with pytest.raises(ConnectionClosedError):
        once.batch_write_item(RequestItems={table: [put("a")]})
    assert stored(direct_client, table) == {"a"}
    assert proxy.counts.faults["drop_after"] == 1
    # The pooled connection was closed; the client reconnects for the next call.
    once.batch_write_item(RequestItems={table: [put("b")]})
    assert stored(direct_client, table) == {"a", "b"}


def test_latency_is_added(proxy: FaultProxy, once: DynamoDBClient, table: str):
    request = {table: {"Keys": [key("a")]}}
    proxy.enqueue(Latency(0.3))
    started = time.monotonic()
    once.batch_get_item(RequestItems=request)
    assert time.monotonic() - started >= 0.3  # a lower bound only
    proxy.set_plan(FaultPlan(latency=0.2))
    started = time.monotonic()
    once.batch_get_item(RequestItems=request)
    assert time.monotonic() - started >= 0.2
    assert proxy.counts.faults["latency"] == 2


def test_scripted_faults_come_first_and_in_order(
    proxy: FaultProxy, once: DynamoDBClient, table: str
):
    proxy.set_plan(FaultPlan(throttle=1.0))
    proxy.enqueue(PassThrough(), ServerError())
    request = {table: {"Keys": [key("a")]}}
    once.get_item(TableName=table, Key=key("a"))  # not a planned operation: no fault used up
    once.batch_get_item(RequestItems=request)
    assert error_of(lambda: once.batch_get_item(RequestItems=request))[1] == "InternalServerError"
    assert error_of(lambda: once.batch_get_item(RequestItems=request))[1] == "ThrottlingException"
    assert proxy.pending() == 0


def test_plan_operations_choose_where_faults_apply(
    proxy: FaultProxy, once: DynamoDBClient, table: str
):
    proxy.set_plan(FaultPlan(server_error=1.0, operations=frozenset({"GetItem"})))
    assert error_of(lambda: once.get_item(TableName=table, Key=key("a")))[1] == (
        "InternalServerError"
    )
    once.batch_get_item(RequestItems={table: {"Keys": [key("a")]}})


def test_counts(proxy: FaultProxy, once: DynamoDBClient, table: str):
    once.batch_write_item(RequestItems={table: [put(p) for p in "abcd"]})
    once.batch_get_item(RequestItems={table: {"Keys": [key(p) for p in "abc"]}})
    once.batch_get_item(RequestItems={table: {"Keys": [key("d")]}})
    counts = proxy.counts
    assert counts.requests["BatchWriteItem"] == 1
    assert counts.requests["BatchGetItem"] == 2
    assert counts.keys["BatchGetItem"] == 4
    assert counts.items["BatchWriteItem"] == 4
    assert counts.withheld["BatchGetItem"] == 0
    proxy.reset_counts()
    assert counts.requests["BatchGetItem"] == 0
    assert counts.keys["BatchGetItem"] == 0


def test_counts_are_thread_safe(proxy: FaultProxy, table: str):
    def work() -> None:
        client = make_client(proxy.endpoint)
        for _ in range(5):
            client.batch_get_item(RequestItems={table: {"Keys": [key("a"), key("b")]}})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proxy.counts.requests["BatchGetItem"] == 40
    assert proxy.counts.keys["BatchGetItem"] == 80


BAD_WRITES = {
    "26 requests": [put(f"k{i}") for i in range(26)],
    "put twice": [put("a"), put("a")],
    "put and delete": [put("a"), {"DeleteRequest": {"Key": key("a")}}],
    "same number": [put("a", "1.5"), put("a", "1.50")],  # the server compares numbers
    "zero twice": [put("a", "-0"), put("a", "0.000")],
}


@pytest.mark.parametrize("case", sorted(BAD_WRITES))
def test_invalid_writes_get_the_servers_error_while_withholding(
    case: str, proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    requests = BAD_WRITES[case]
    direct = make_client(direct_client.meta.endpoint_url, retries={"total_max_attempts": 1})
    expected = error_of(lambda: direct.batch_write_item(RequestItems={table: requests}))
    proxy.withhold_always(lambda t, kv: kv["pk"]["S"] in {"a", "k0"})
    got = error_of(lambda: once.batch_write_item(RequestItems={table: requests}))
    assert got == expected
    assert expected[1] == "ValidationException"
    assert stored(direct_client, table) == set()


def test_writes_to_a_missing_table_get_the_servers_error_while_withholding(
    proxy: FaultProxy, once: DynamoDBClient, direct_client: DynamoDBClient, table: str
):
    request = {table: [put("a")], f"{table}-missing": [put("b")]}
    direct = make_client(direct_client.meta.endpoint_url, retries={"total_max_attempts": 1})
    expected = error_of(lambda: direct.batch_write_item(RequestItems=request))
    proxy.withhold_always(lambda t, kv: t == table)
    assert error_of(lambda: once.batch_write_item(RequestItems=request)) == expected
    assert expected[1] == "ResourceNotFoundException"
    assert stored(direct_client, table) == set()


def test_the_exact_validation_messages(proxy: FaultProxy, once: DynamoDBClient, table: str):
    proxy.withhold_always(lambda t, kv: True)
    too_many = [put(f"k{i}") for i in range(26)]
    assert error_of(lambda: once.batch_write_item(RequestItems={table: too_many})) == (
        400,
        "ValidationException",
        "Too many items requested for the BatchWriteItem call",
    )
    twice = [put("a"), put("a")]
    assert error_of(lambda: once.batch_write_item(RequestItems={table: twice})) == (
        400,
        "ValidationException",
        "Provided list of item keys contains duplicates",
    )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([key(f"k{i}") for i in range(101)], "Too many items requested for the BatchGetItem call"),
        ([key("a"), key("a")], "Provided list of item keys contains duplicates"),
    ],
    ids=["101 keys", "duplicate keys"],
)
def test_invalid_reads_get_the_servers_error_while_withholding(
    keys: list[dict[str, Any]], message: str, proxy: FaultProxy, once: DynamoDBClient, table: str
):
    proxy.withhold_always(lambda t, k: True)
    expected = (400, "ValidationException", message)
    assert error_of(lambda: once.batch_get_item(RequestItems={table: {"Keys": keys}})) == expected
    proxy.clear_faults()
    assert error_of(lambda: once.batch_get_item(RequestItems={table: {"Keys": keys}})) == expected


def test_seeded_plan_is_reproducible(proxy: FaultProxy, once: DynamoDBClient, table: str):
    keys = [key(f"k{i:02}") for i in range(40)]

    def withheld_with(seed: int) -> list[str]:
        proxy.set_plan(FaultPlan(withhold=0.5, seed=seed))
        response = once.batch_get_item(RequestItems={table: {"Keys": keys}})
        return [k["pk"]["S"] for k in response["UnprocessedKeys"][table]["Keys"]]

    first = withheld_with(7)
    assert 0 < len(first) < len(keys)
    assert withheld_with(7) == first
    assert withheld_with(8) != first


def test_seeded_plan_redraws_on_retry(proxy: FaultProxy, once: DynamoDBClient, table: str):
    # Each retry of a key is a new draw, so retrying unprocessed keys eventually succeeds.
    proxy.set_plan(FaultPlan(withhold=0.5, seed=3))
    request: Any = {table: {"Keys": [key(f"k{i:02}") for i in range(20)]}}
    for _ in range(40):
        try:
            request = once.batch_get_item(RequestItems=request)["UnprocessedKeys"]
        except ClientError as exc:  # every key of this call was withheld: try again
            if exc.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
        if not request:
            break
    assert request == {}


def test_crc32_matches_the_rewritten_body(
    proxy: FaultProxy, direct_client: DynamoDBClient, table: str
):
    fill(direct_client, table, "a", "b")
    proxy.withhold_always(lambda t, k: k["pk"]["S"] == "b")
    body = json.dumps({"RequestItems": {table: {"Keys": [key("a"), key("b")]}}})
    host, port = proxy.endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.BatchGetItem",
        "Authorization": PROBE_AUTH,
        "X-Amz-Date": "20240101T000000Z",
    }
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    assert response.status == 200
    assert json.loads(data)["UnprocessedKeys"] == {table: {"Keys": [key("b")]}}
    assert int(response.headers["x-amz-crc32"]) == zlib.crc32(data)
    assert int(response.headers["Content-Length"]) == len(data)
    # botocore in legacy retry mode raises ChecksumError on a mismatch instead of retrying.
    legacy = make_client(proxy.endpoint, retries={"mode": "legacy", "max_attempts": 0})
    legacy.batch_get_item(RequestItems={table: {"Keys": [key("a"), key("b")]}})
    assert proxy.counts.requests["BatchGetItem"] == 2
