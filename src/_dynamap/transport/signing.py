"""SigV4 for the fast transport: botocore's signer, without botocore's request objects.

`SigV4Auth.add_auth` works on an `AWSRequest`, whose headers are an `email.message`
and whose `body` prepares a whole copy of the request on every read; for a DynamoDB
batch that costs about 0.3 ms, more than the rest of the signature. `Signer` builds
the canonical request from a plain dict of headers for the one shape dynamap sends
(POST, no query string, a payload signed by its SHA-256) and hands it to botocore's
own `string_to_sign`, `signature` (the key derivation) and `scope`: the algorithm is
botocore's, only the bookkeeping around it is ours. A test compares every header with
botocore's `add_auth` for the same request and clock.

The helpers used are botocore internals (`_host_from_url`, `get_current_datetime`,
`SigV4Auth._normalize_url_path`): a botocore without one of them is signed through
`add_auth` on an `AWSRequest`, as before, slower but the same.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from botocore import auth as _auth_module
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SIGV4_TIMESTAMP

# Through Any: botocore-stubs leave out the helpers used here, and type the methods'
# `request` as AWSRequest where they read only `request.context`.
auth: Any = _auth_module

__all__ = ["Signer"]


class _Context:
    """What botocore's `string_to_sign`, `signature` and `scope` read of a request."""

    __slots__ = ("context",)

    def __init__(self, timestamp: str) -> None:
        self.context = {"timestamp": timestamp}


class Signer:
    """Signs POST requests to one endpoint, for one region and service. Thread-safe.

    Args:
        url: the endpoint URL requests go to.
        service: the SigV4 service name ("dynamodb").
        region: the signing region.
    """

    def __init__(self, url: str, service: str, region: str, *, legacy: bool = False) -> None:
        self.url = url
        self.service = service
        self.region = region
        self.legacy: bool = legacy or not _HELPERS
        self.host = self.path = ""
        if not self.legacy:
            # As botocore derives them from the URL on every request; fixed for an endpoint.
            self.host = auth._host_from_url(url)
            self.path = auth.SigV4Auth(None, service, region)._normalize_url_path(
                urlsplit(url).path
            )

    def sign(self, headers: dict[str, str], body: bytes, credentials: Any) -> None:
        """Add X-Amz-Date, X-Amz-Security-Token (with temporary credentials) and
        Authorization to `headers`, as `SigV4Auth(credentials, ...).add_auth` would.

        Args:
            headers: the request's headers, without Host (it is signed from the URL).
            body: the request body.
            credentials: frozen botocore credentials.
        """
        if self.legacy:
            self._add_auth(headers, body, credentials)
            return
        # botocore's clock, looked up on each call as botocore does (tests freeze it there).
        timestamp: str = auth.get_current_datetime().strftime(SIGV4_TIMESTAMP)
        headers["X-Amz-Date"] = timestamp
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed: dict[str, list[str]] = {"host": [self.host]}
        for name, value in headers.items():
            lname = name.lower()
            if lname not in SIGNED_HEADERS_BLACKLIST:
                signed.setdefault(lname, []).append(" ".join(value.split()))
        names = sorted(signed)
        canonical_headers = "".join(f"{n}:{','.join(signed[n])}\n" for n in names)
        signed_headers = ";".join(names)
        canonical = (
            f"POST\n{self.path}\n\n{canonical_headers}\n{signed_headers}\n"
            f"{sha256(body).hexdigest()}"
        )
        context = _Context(timestamp)
        signer = auth.SigV4Auth(credentials, self.service, self.region)  # per call: thread-safe
        signature = signer.signature(signer.string_to_sign(context, canonical), context)
        scope = signer.scope(context)
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed_headers}, "
            f"Signature={signature}"
        )

    def _add_auth(self, headers: dict[str, str], body: bytes, credentials: Any) -> None:
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=self.url, data=body, headers=headers)
        auth.SigV4Auth(credentials, self.service, self.region).add_auth(request)
        headers.clear()
        headers.update(request.headers.items())


# The botocore internals the fast path reads; without any of them, Signer uses add_auth.
_HELPERS = (
    hasattr(auth, "_host_from_url")
    and hasattr(auth, "get_current_datetime")
    and all(
        hasattr(auth.SigV4Auth, name)
        for name in ("_normalize_url_path", "string_to_sign", "signature", "scope")
    )
)
