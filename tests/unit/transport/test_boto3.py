"""Boto3Transport without a server: the client it sends through, and how errors map."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)
from botocore.parsers import ResponseParserError

from _dynamap.transport.boto3 import transport_error, without_retries
from dynamap import Boto3Transport, TransportError
from tests.support.ddblocal import make_client


def test_calls_bypass_botocores_retries_on_a_sibling_of_the_client():
    client = make_client(
        "http://127.0.0.1:1",
        retries={"max_attempts": 10, "mode": "legacy"},
        read_timeout=7,
        connect_timeout=3,
        max_pool_connections=33,
        user_agent_extra="app/1.0",
    )
    transport = Boto3Transport(client)
    sender = transport.sender
    assert sender is not client and transport.client is client
    assert sender.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert client.meta.config.retries == {"total_max_attempts": 11, "mode": "legacy"}  # untouched
    assert sender.meta.endpoint_url == client.meta.endpoint_url == "http://127.0.0.1:1"
    assert sender.meta.region_name == client.meta.region_name
    assert sender._get_credentials() is client._get_credentials()  # shared, refreshes too
    for option in ("read_timeout", "connect_timeout", "max_pool_connections", "user_agent_extra"):
        assert getattr(sender.meta.config, option) == getattr(client.meta.config, option)
    assert transport.request_timeout == 10.0
    assert Boto3Transport(client).sender is sender  # built once per client


def test_a_client_without_retries_is_used_as_is():
    client = make_client("http://127.0.0.1:1", retries={"total_max_attempts": 1})
    assert Boto3Transport(client).sender is client


def test_the_sibling_goes_with_the_client():
    client = make_client("http://127.0.0.1:1")
    from _dynamap.transport import boto3 as module

    without_retries(client)
    before = len(module._siblings)
    del client
    gc.collect()
    assert len(module._siblings) == before - 1


def test_an_object_that_is_not_a_botocore_client_is_used_as_is():
    class Stub:
        def batch_get_item(self, **params: Any) -> dict[str, Any]:
            return {"Responses": {}}

    stub = Stub()
    transport = Boto3Transport(stub)
    assert transport.sender is stub
    assert transport.call("BatchGetItem", {}) == {"Responses": {}}


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchWriteItem",
    )


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (client_error("ThrottlingException", 400), "ThrottlingException", 400),
        (client_error("InternalServerError", 500), "InternalServerError", 500),
        (EndpointConnectionError(endpoint_url="http://x"), TransportError.NOT_SENT, None),
        (ConnectTimeoutError(endpoint_url="http://x"), TransportError.NOT_SENT, None),
        (ReadTimeoutError(endpoint_url="http://x"), TransportError.NO_ANSWER, None),
        (ConnectionClosedError(endpoint_url="http://x"), TransportError.NO_ANSWER, None),
        (SSLError(endpoint_url="http://x", error="bad record"), TransportError.NO_ANSWER, None),
        (ResponseParserError("truncated"), TransportError.NO_ANSWER, None),
        (ParamValidationError(report="bad"), "ParamValidationError", None),
    ],
)
def test_botocore_errors_say_whether_the_request_may_have_been_applied(exc, code, status):
    error = transport_error(exc)
    assert error is not None
    assert (error.code, error.status) == (code, status)


def test_what_else_botocore_parsed_is_kept_in_details():
    item = {"pk": {"S": "a"}}
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": item}]
    response: Any = {
        "Error": {"Code": "TransactionCanceledException", "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
        "CancellationReasons": reasons,
        "Item": item,
    }
    error = transport_error(ClientError(response, "PutItem"))
    assert error is not None
    assert dict(error.details) == {"CancellationReasons": reasons, "Item": item}
    assert transport_error(client_error("ThrottlingException", 400)).details == {}  # type: ignore[union-attr]


def test_unknown_exceptions_are_left_to_the_driver():
    assert transport_error(RuntimeError("x")) is None


def test_config_merge_keeps_the_callers_options():
    # The sibling is built from `client.meta.config`, which holds every resolved option.
    client = make_client("http://127.0.0.1:1", proxies={"http": "http://proxy:3128"})
    merged = client.meta.config.merge(Config(retries={"total_max_attempts": 1}))
    assert merged.proxies == {"http": "http://proxy:3128"}
