"""FastTransport and the wire layer without a server: answers come from a before-send hook.

Each canned answer goes through both transports on the same client (one without botocore
retries, so Boto3Transport sends through the client itself and its hooks): what botocore
parses and raises is the reference the fast transport must match.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from _dynamap.transport.fast import FastTransport, default_transport
from _dynamap.transport.wire import decode_binary, encode_body
from dynamap import Boto3Transport, TransportError
from tests.support.ddblocal import make_client

BLOB = bytes(range(256))  # every byte value: "+" and "/" in standard base64


class _Raw:
    """The raw stream botocore's AWSResponse reads once."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class Canned:
    """A before-send hook answering every request with (status, body[, headers])."""

    def __init__(self, client: Any) -> None:
        self.answers: list[tuple[int, bytes, dict[str, str]]] = []
        self.requests: list[Any] = []
        client.meta.events.register("before-send.dynamodb", self)

    def answer(self, status: int, body: bytes | dict[str, Any], **headers: str) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("x-amz-crc32", str(zlib.crc32(data) & 0xFFFFFFFF))
        self.answers.append((status, data, headers))

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.requests.append(request)
        status, body, headers = self.answers.pop(0)
        return AWSResponse(request.url, status, headers, _Raw(body))


@pytest.fixture
def local_client() -> Any:
    return make_client("http://127.0.0.1:1", retries={"total_max_attempts": 1})


def both(client: Any, canned: Canned, status: int, body: Any, op: str, params: Any) -> list[Any]:
    """What each transport returns or raises for one canned answer."""
    outcomes: list[Any] = []
    for transport in (Boto3Transport(client), FastTransport(client)):
        canned.answer(status, body)
        try:
            result = transport.call(op, params)
        except TransportError as exc:
            outcomes.append((exc.code, exc.status, exc.message, dict(exc.details)))
        else:
            result.pop("ResponseMetadata", None)
            outcomes.append(result)
    return outcomes


GET = ("BatchGetItem", {"RequestItems": {"tab": {"Keys": [{"pk": {"S": "a"}}]}}})
PUT = ("PutItem", {"TableName": "tab", "Item": {"pk": {"S": "a"}}})
B64 = base64.b64encode(BLOB).decode()
ITEM = {"pk": {"S": "a"}, "b": {"B": B64}, "l": {"L": [{"BS": [B64]}, {"M": {"x": {"B": B64}}}]}}


@pytest.mark.parametrize(
    ("status", "body", "call"),
    [
        (400, {"__type": "com.amazon.coral.availability#ThrottlingException",
               "message": "Rate of requests exceeds the allowed throughput."}, GET),
        (400, {"__type": "com.amazon.coral.validate#ValidationException",
               "Message": "Too many items requested for the BatchWriteItem call"}, GET),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
               "message": "Requested resource not found"}, PUT),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
               "message": "slow down"}, GET),
        (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
               "message": "Internal server error"}, GET),
        (500, b"", GET),
        (503, b"<html><body>Service Unavailable</body></html>", GET),
        (413, b"request entity too large", PUT),
        (400, {"__type": "SomethingNew", "message": "m", "Extra": 1}, PUT),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
               "message": "The conditional request failed", "Item": ITEM}, PUT),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
               "Message": "Transaction cancelled",
               "CancellationReasons": [{"Code": "None", "Message": None},
                                       {"Code": "ConditionalCheckFailed", "Item": ITEM,
                                        "Message": "The conditional request failed"}]}, PUT),
        (200, {"Responses": {"tab": [ITEM]}, "UnprocessedKeys": {}, "NextToken": None}, GET),
    ],
)  # fmt: skip
def test_answers_map_as_botocore_maps_them(local_client, status, body, call):
    canned = Canned(local_client)
    botocore_outcome, fast_outcome = both(local_client, canned, status, body, *call)
    assert fast_outcome == botocore_outcome
    if isinstance(fast_outcome, dict):
        assert fast_outcome["Responses"]["tab"][0]["l"]["L"][0] == {"BS": [BLOB]}


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b"\xff"])
def test_an_unreadable_answer_is_no_answer(local_client, body):
    # botocore raises ResponseParserError (mapped to the same) or, for a JSON list, an
    # AttributeError of its own: the request may have been applied either way.
    Canned(local_client).answer(200, body)
    with pytest.raises(TransportError) as caught:
        FastTransport(local_client).call(*GET)
    assert caught.value.code == TransportError.NO_ANSWER


def test_a_body_that_does_not_match_its_crc32_is_never_parsed(local_client):
    canned = Canned(local_client)
    for transport in (Boto3Transport(local_client), FastTransport(local_client)):
        body = json.dumps({"Responses": {"tab": [{"pk": {"S": "a"}}]}}).encode()
        canned.answers.append(
            (200, body.replace(b'"a"', b'"A"'), {"x-amz-crc32": str(zlib.crc32(body))})
        )
        with pytest.raises(TransportError) as caught:
            transport.call(*GET)
        assert caught.value.code == TransportError.NO_ANSWER  # retryable, write maybe applied


def test_a_refused_connection_is_not_sent_on_both_transports():
    client = make_client("http://127.0.0.1:1", retries={"total_max_attempts": 1}, connect_timeout=1)
    for transport in (Boto3Transport(client), FastTransport(client)):
        with pytest.raises(TransportError) as caught:
            transport.call(*GET)
        assert caught.value.code == TransportError.NOT_SENT


def test_requests_are_signed_json_with_standard_base64(local_client):
    canned = Canned(local_client)
    canned.answer(200, {})
    item = {"pk": {"S": "é"}, "b": {"B": BLOB}, "s": {"BS": [BLOB, b"x"]}, "t": {"B": "text"}}
    FastTransport(local_client).call("PutItem", {"TableName": "tab", "Item": item})
    (request,) = canned.requests
    assert request.headers["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert "Credential=dynamap/" in str(request.headers["Authorization"])
    sent = json.loads(request.body)["Item"]
    assert sent["b"] == {"B": B64}
    assert sent["s"] == {"BS": [B64, "eA=="]}
    assert sent["t"] == {"B": "dGV4dA=="}  # a str blob goes as its UTF-8 bytes, as in botocore
    assert sent["pk"] == {"S": "é"}


def test_binary_markers_never_mistake_other_values():
    item = {"B": {"S": '"B":"x'}, "BS": {"L": [{"S": "BS"}]}, "x": {"SS": ['{"B":"AA=="}']}}
    assert json.loads(encode_body({"Item": item}))["Item"] == item
    assert decode_binary(json.loads(json.dumps(item))) == item
    assert decode_binary({"M": {"B": {"B": "AA=="}}}) == {"M": {"B": {"B": b"\x00"}}}


def test_credentials_are_fetched_for_every_request(local_client):
    canned = Canned(local_client)
    transport = FastTransport(local_client)
    fetched: list[str] = []
    credentials = local_client._get_credentials()
    real = credentials.get_frozen_credentials

    def counting() -> Any:
        frozen = real()
        fetched.append(frozen.access_key)
        return frozen

    credentials.get_frozen_credentials = counting
    for _ in range(3):
        canned.answer(200, {})
        transport.call(*PUT)
    assert fetched == ["dynamap"] * 3


def test_item_values_never_reach_the_log(local_client, caplog):
    canned = Canned(local_client)
    canned.answer(200, {"Responses": {"tab": [{"pk": {"S": "secret-value"}}]}})
    canned.answer(400, {"__type": "x#ValidationException", "message": "bad"})
    transport = FastTransport(local_client)
    with caplog.at_level(logging.DEBUG):
        transport.call(
            "BatchGetItem", {"RequestItems": {"tab": {"Keys": [{"pk": {"S": "k-secret"}}]}}}
        )
        with pytest.raises(TransportError):
            transport.call("PutItem", {"TableName": "tab", "Item": {"pk": {"S": "put-secret"}}})
    assert caplog.records  # the fast path does log (signing, the error status)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret" not in text


def test_default_transport_is_fast_for_boto3_clients_only():
    assert isinstance(default_transport(make_client("http://127.0.0.1:1")), FastTransport)
    v4a = make_client("http://127.0.0.1:1", signature_version="v4a")
    assert isinstance(default_transport(v4a), Boto3Transport)
    assert isinstance(default_transport(object()), Boto3Transport)


def test_fast_transport_takes_the_clients_configuration():
    client = make_client(
        "http://127.0.0.1:1", connect_timeout=3, read_timeout=7, user_agent_extra="app/1.0"
    )
    transport = FastTransport(client)
    assert transport.request_timeout == 10.0
    assert transport.wire.url == "http://127.0.0.1:1/"
    assert transport.wire.region == client.meta.region_name
    assert "app/1.0" in transport.wire.user_agent
    assert transport._http is client._endpoint.http_session  # its pool: TLS, proxies, size


def test_unsigned_clients_send_no_signature():
    from botocore import UNSIGNED

    client = make_client("http://127.0.0.1:1", signature_version=UNSIGNED)
    canned = Canned(client)
    canned.answer(200, {})
    FastTransport(client).call(*PUT)
    assert "Authorization" not in canned.requests[0].headers


def test_a_client_with_a_proxy_sends_through_botocores_session():
    proxied = make_client("http://127.0.0.1:1", proxies={"http": "http://127.0.0.1:2"})
    assert FastTransport(proxied).pool is None
    assert FastTransport(make_client("http://127.0.0.1:1")).pool is not None


def test_sessions_on_one_client_share_its_connections():
    from dynamap import Session

    client = make_client("http://127.0.0.1:1")
    first, second = Session(client).transport, Session(client).transport
    assert isinstance(first, FastTransport) and isinstance(second, FastTransport)
    assert first.pool is second.pool is not None
    other = FastTransport(make_client("http://127.0.0.1:1"))
    assert other.pool is not first.pool
