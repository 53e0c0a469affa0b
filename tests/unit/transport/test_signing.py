"""The fast transport's signer gives exactly the headers botocore's SigV4Auth.add_auth gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore import auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from _dynamap.transport.signing import Signer

AT = dt.datetime(2026, 11, 22, 23, 59, 58)

ENDPOINTS = [
    "https://dynamodb.eu-west-1.amazonaws.com/",
    "http://127.0.0.1:8000/",
    "http://LOCALHOST:80/",  # the scheme's default port is left out, the host lower-cased
    "https://example.com:8443/some%20prefix/../api/",  # a path, normalised and quoted
    "http://[::1]:8000/",
]


def botocore_headers(url: str, headers: dict[str, str], body: bytes, credentials: Any) -> Any:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//token=="])
def test_signatures_equal_botocores(monkeypatch, url, token):
    monkeypatch.setattr(auth, "get_current_datetime", lambda: AT)
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    frozen = credentials.get_frozen_credentials()
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
        "Content-Type": "application/x-amz-json-1.0",
        "User-Agent": "Boto3/1.0  md/x   app/1.0",  # in the blacklist: never signed
        "X-Custom": "  two   spaces  ",  # signed trimmed, inner runs collapsed
    }
    body = '{"Item":{"pk":{"S":"é"}}}'.encode()
    expected = botocore_headers(url, headers, body, frozen)
    for legacy in (False, True):  # True: the path for a botocore without the helpers
        ours = dict(headers)
        Signer(url, "dynamodb", "eu-west-1", legacy=legacy).sign(ours, body, frozen)
        assert ours == expected
    assert ("X-Amz-Security-Token" in ours) == (token is not None)


def test_an_empty_body_signs_as_botocore_signs_it(monkeypatch):
    monkeypatch.setattr(auth, "get_current_datetime", lambda: AT)
    frozen = Credentials("AKID", "secret").get_frozen_credentials()
    ours: dict[str, str] = {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    Signer(ENDPOINTS[1], "dynamodb", "eu-west-1").sign(ours, b"", frozen)
    assert ours == botocore_headers(
        ENDPOINTS[1], {"X-Amz-Target": ours["X-Amz-Target"]}, b"", frozen
    )


def test_each_request_signs_with_the_credentials_it_is_given(monkeypatch):
    monkeypatch.setattr(auth, "get_current_datetime", lambda: AT)
    signer = Signer(ENDPOINTS[0], "dynamodb", "eu-west-1")
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    signer.sign(first, b"{}", Credentials("AKID1", "s1").get_frozen_credentials())
    signer.sign(second, b"{}", Credentials("AKID2", "s2", "t").get_frozen_credentials())
    assert "Credential=AKID1/20261122/eu-west-1/dynamodb/aws4_request" in first["Authorization"]
    assert "Credential=AKID2/" in second["Authorization"]
    assert "X-Amz-Security-Token" not in first and second["X-Amz-Security-Token"] == "t"


def test_a_botocore_without_the_helpers_signs_through_add_auth(monkeypatch):
    from _dynamap.transport import signing

    monkeypatch.setattr(signing, "_HELPERS", False)
    assert Signer(ENDPOINTS[0], "dynamodb", "eu-west-1").legacy
