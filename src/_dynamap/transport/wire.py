"""DynamoDB's JSON wire protocol, without botocore's per-request machinery on item data.

What any HTTP client needs to talk to DynamoDB (sync or async): build and SigV4-sign a
request from an operation and its parameters, and read the answer (CRC32 check, JSON,
errors) back into boto3's low-level client shape. No HTTP is sent here: `fast.py` sends
over botocore's urllib3 pool; an async transport can send the same requests with its
own client.

Parameters and results are in boto3's client shape. The only difference from the wire
is binary data (`B`, `BS`, and those inside `L`/`M`), which is base64 in JSON: bytes are
encoded on the way out and decoded on the way in. Both directions first check cheaply
(a substring test on the JSON text) whether a binary value can be there at all, so items
without binary data are never walked.

Measured on the benchmark's ~1 KB items (`bench/README.md`): `pydantic_core.to_json` encodes a
BatchWriteItem of 25 items about 3x faster than `json.dumps` (5 vs 15 µs per item), and
`pydantic_core.from_json` parses a BatchGetItem answer of 100 items a little faster than
`json.loads` (6.8 vs 7.8 µs per item), so both come from pydantic-core, already a dependency
through pydantic. pydantic-core writes bytes as URL-safe base64 where DynamoDB wants the
standard alphabet, hence the binary handling of our own.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import logging
import zlib
from collections.abc import Mapping
from typing import Any, cast

import pydantic_core
from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import NoCredentialsError

from _dynamap.codec.jsonenc import BINARY_MARKERS
from _dynamap.codec.wireread import BatchGetReader
from _dynamap.errors import TransportError
from _dynamap.transport.signing import Signer

__all__ = [
    "TARGET_PREFIX",
    "RawItem",
    "Wire",
    "as_item",
    "decode_binary",
    "encode_body",
    "error_from_answer",
    "parse_answer",
    "raw_item",
]

log = logging.getLogger("dynamap")

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"

# What a binary value makes in our own compact output (see codec/jsonenc.py), and in an
# answer (where an escaped "B", which no known server writes, is also looked for).
_OUT_MARKERS = BINARY_MARKERS
_IN_MARKERS = (b'"B"', b'"BS"', b"\\u0042")


def _b64(value: Any) -> str:
    if isinstance(value, str):  # botocore sends a str blob as its UTF-8 bytes
        value = value.encode()
    return base64.b64encode(value).decode("ascii")


def _encode_binary(value: Any) -> Any:
    """A copy of `value` with every B/BS attribute value as base64 text."""
    if isinstance(value, dict):
        node = cast("dict[str, Any]", value)
        if len(node) == 1:
            blob = node.get("B")
            if isinstance(blob, (bytes, bytearray, memoryview, str)):
                return {"B": _b64(blob)}
            blobs = node.get("BS")
            if isinstance(blobs, (list, tuple, set, frozenset)):
                return {"BS": [_b64(v) for v in cast("list[Any]", blobs)]}
        return {k: _encode_binary(v) for k, v in node.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_binary(v) for v in cast("list[Any]", value)]
    return value


class RawItem:
    """An item already in its request JSON (binary values as standard base64).

    The session encodes the items of a flush's batched puts into these right after
    encoding them, while their values are still in the CPU's caches, for a transport
    that sends DynamoDB's JSON itself (`raw_items = True`): `encode_body` splices them
    into the BatchWriteItem body instead of walking the item dicts again when the
    request goes out. `item()` decodes one back to boto3's shape, for an error that
    hands it back. Its repr shows no item value (requests may be logged).
    """

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json

    def item(self) -> dict[str, Any]:
        """The item in boto3's client shape (bytes for binary values)."""
        return cast("dict[str, Any]", _loads(self.json))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawItem) and other.json == self.json

    def __hash__(self) -> int:
        return hash(self.json)

    def __repr__(self) -> str:
        return f"RawItem({len(self.json)} bytes)"


def raw_item(item: Mapping[str, Any]) -> RawItem:
    """`item` (boto3's client shape) as a RawItem.

    Args:
        item: an encoded item.
    """
    return RawItem(encode_body(item))


def as_item(value: Any) -> Any:
    """A RawItem decoded back to boto3's shape; any other value as it is.

    Args:
        value: an item, raw or not.
    """
    return value.item() if isinstance(value, RawItem) else value


def _raw_of(request: Any) -> RawItem | None:
    """The RawItem of a request `{"PutRequest": {"Item": RawItem}}`, else None."""
    # Exact classes (what the session builds), tested without calls: once per item.
    if request.__class__ is not dict or len(request) != 1:
        return None
    put: Any = request.get("PutRequest")
    if put.__class__ is not dict or len(put) != 1:
        return None
    raw: Any = put.get("Item")
    return raw if raw.__class__ is RawItem else None


def _raw_puts(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The RequestItems of a BatchWriteItem holding RawItems, else None."""
    items: Any = params.get("RequestItems")
    if not isinstance(items, dict):
        return None
    tables = cast("dict[str, Any]", items)
    for requests in tables.values():
        if isinstance(requests, list):
            entries: list[Any] = requests  # pyright: ignore[reportUnknownVariableType]
            if any(_raw_of(r) is not None for r in entries):
                return tables
    return None


_PUT_OPEN = b'{"PutRequest":{"Item":'
_PUT_CLOSE = b"}}"


def _batch_write_body(params: Mapping[str, Any], items: dict[str, Any]) -> bytes:
    """A BatchWriteItem body with its RawItems spliced in as they are.

    Built as one list of parts joined once: a 25-item body is copied once, not per item.
    """
    parts: list[bytes] = [b'{"RequestItems":{']
    add = parts.append
    for t, (table, requests) in enumerate(items.items()):
        add(b",%s:[" % pydantic_core.to_json(table) if t else pydantic_core.to_json(table) + b":[")
        for r, request in enumerate(requests):
            if r:
                add(b",")
            raw = _raw_of(request)
            if raw is not None:
                add(_PUT_OPEN)
                add(raw.json)
                add(_PUT_CLOSE)
            else:
                add(encode_body(request))
        add(b"]")
    rest = {key: value for key, value in params.items() if key != "RequestItems"}
    add(b"}," + encode_body(rest)[1:] if rest else b"}}")
    return b"".join(parts)


def encode_body(params: Mapping[str, Any]) -> bytes:
    """The JSON body of a request with `params` (boto3's client shape).

    Args:
        params: the operation's parameters.
    """
    raw = _raw_puts(params)
    if raw is not None:
        return _batch_write_body(params, raw)
    body = pydantic_core.to_json(params, bytes_mode="base64")
    if _OUT_MARKERS[0] in body or _OUT_MARKERS[1] in body:
        # pydantic-core's base64 is URL-safe: re-encode binary values with the standard one.
        body = pydantic_core.to_json(_encode_binary(params))
    return body


def decode_binary(value: Any) -> Any:
    """`value` (parsed JSON) with every B/BS attribute value decoded to bytes, in place.

    A dict with the single key "B" holding text is a binary attribute value wherever it
    is in a DynamoDB answer (no other shape has a member "B"), and likewise "BS" with a
    list. JSON nulls in structures are dropped, as botocore's parser drops them.

    Args:
        value: a parsed JSON value from a DynamoDB answer.
    """
    if isinstance(value, dict):
        node = cast("dict[str, Any]", value)
        if len(node) == 1:
            blob = node.get("B")
            if isinstance(blob, str):
                node["B"] = base64.b64decode(blob)
                return node
            blobs = node.get("BS")
            if isinstance(blobs, list):
                node["BS"] = [base64.b64decode(v) for v in cast("list[str]", blobs)]
                return node
        for key in [k for k, v in node.items() if v is None]:
            del node[key]
        for item in node.values():
            decode_binary(item)
    elif isinstance(value, list):
        elements: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        for item in elements:
            decode_binary(item)
    return cast(Any, value)


def _loads(body: bytes) -> Any:
    parsed: Any = pydantic_core.from_json(body, cache_strings=False) if body else {}
    if any(marker in body for marker in _IN_MARKERS):
        decode_binary(parsed)
    return parsed


def parse_answer(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    error_members: Any = None,
    reader: BatchGetReader | None = None,
) -> dict[str, Any]:
    """The parsed answer of a 2xx response; raise TransportError for anything else.

    A body whose CRC32 does not match its `x-amz-crc32` header is never parsed: it is
    an unusable answer (`TransportError.NO_ANSWER`), retried like a lost one.

    Args:
        status: the HTTP status.
        headers: the response headers (looked up case-insensitively by name).
        body: the response body.
        error_members: called with an error code, returns the names of the fields the
            service model declares for that error (see `Wire.error_members`); None keeps
            every field of the error body.
        reader: for a BatchGetItem, reads the answer's items straight into their models
            (`codec/wireread.py`); an answer it does not take (or one with binary data,
            which the general path decodes) is parsed the general way.
    """
    crc = headers.get("x-amz-crc32")
    if crc is not None and (zlib.crc32(body) & 0xFFFFFFFF) != _crc_value(crc):
        raise TransportError(
            TransportError.NO_ANSWER,
            f"ChecksumError: the answer's CRC32 does not match its x-amz-crc32 header {crc}",
        )
    if status >= 300:
        raise error_from_answer(status, body, error_members)
    if reader is not None and (
        not reader.needs_scan or not any(marker in body for marker in _IN_MARKERS)
    ):
        read = reader.parse(body)
        if read is not None:
            return read
    try:
        parsed = _loads(body)
    except (ValueError, binascii.Error) as exc:
        raise TransportError(
            TransportError.NO_ANSWER, f"ResponseParserError: unreadable answer ({exc})"
        ) from None
    if not isinstance(parsed, dict):
        raise TransportError(TransportError.NO_ANSWER, "ResponseParserError: not a JSON object")
    return cast("dict[str, Any]", parsed)


def _crc_value(header: str) -> int:
    try:
        return int(header)
    except ValueError:
        return -1  # never equal: an unreadable checksum is a failed check


def error_from_answer(status: int, body: bytes, error_members: Any = None) -> TransportError:
    """The TransportError for an error answer, as botocore's JSON parser reads it.

    The code is the part of `__type` after '#' (the HTTP status when there is none); the
    message comes from `message` or `Message`; `details` holds the error's other fields
    (those the service model declares for it, when `error_members` is given), binary
    values decoded, e.g. `Item` or `CancellationReasons`.

    Args:
        status: the HTTP status (300 or more).
        body: the response body.
        error_members: as for `parse_answer`.
    """
    stripped = body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        return TransportError(str(status), http.client.responses.get(status, ""), status)
    try:
        parsed: Any = pydantic_core.from_json(body) if body else {}
    except ValueError:
        parsed = {"message": body.decode("utf-8", "replace")}
    fields: dict[str, Any] = cast("dict[str, Any]", parsed) if isinstance(parsed, dict) else {}
    code = str(fields.get("__type", str(status)))
    code = code.split(":", 1)[0] if ":" in code else code
    code = code.rsplit("#", 1)[1] if "#" in code else code
    message = fields.get("message", fields.get("Message", ""))
    names = None if error_members is None else error_members(code)
    details = {
        key: value
        for key, value in fields.items()
        if value is not None and key != "__type" and (names is None or key in names)
    }
    if details:
        decode_binary(details)
    return TransportError(code, str(message), status, details)


class Wire:
    """Builds signed DynamoDB requests and reads their answers; no HTTP of its own.

    Thread-safe and shared by every request of a transport. `endpoint_url` and
    `region` say where requests go and how they are signed; `user_agent` is sent as is.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        user_agent: str,
        service_model: Any = None,
        signing_name: str = "dynamodb",
        sign: bool = True,
    ) -> None:
        """Describe the endpoint.

        Args:
            endpoint_url: e.g. "https://dynamodb.eu-west-1.amazonaws.com".
            region: the signing region.
            user_agent: the User-Agent header.
            service_model: botocore's DynamoDB service model, to keep only the modeled
                fields of an error (as botocore does); None keeps them all.
            signing_name: the SigV4 service name.
            sign: False sends unsigned requests (a client with `signature_version=UNSIGNED`).
        """
        self.url: str = endpoint_url.rstrip("/") + "/"
        self.region: str = region
        self.user_agent: str = user_agent
        self.signing_name: str = signing_name
        self.sign: bool = sign
        self._service_model = service_model
        self._members: dict[str, frozenset[str]] = {}
        self._signer = Signer(self.url, signing_name, region)

    def prepare(
        self, operation: str, params: Mapping[str, Any], credentials: Any
    ) -> AWSPreparedRequest:
        """The signed HTTP request for `operation` with `params`.

        Args:
            operation: the DynamoDB operation name, e.g. "BatchWriteItem".
            params: its parameters in boto3's client shape.
            credentials: frozen botocore credentials (`get_frozen_credentials()`), used
                as they are: the caller fetches them per request so refreshes happen.
        """
        body = encode_body(params)
        headers = {
            "X-Amz-Target": TARGET_PREFIX + operation,
            "Content-Type": CONTENT_TYPE,
            "User-Agent": self.user_agent,
        }
        if self.sign:
            if credentials is None:
                raise NoCredentialsError()
            self._signer.sign(headers, body, credentials)
            log.debug("%s: signed (SigV4, %d bytes)", operation, len(body))
        headers["Content-Length"] = str(len(body))
        # Built directly: AWSRequest.prepare() would re-parse the URL and copy the body.
        prepared = HeadersDict(headers)
        return AWSPreparedRequest("POST", self.url, cast(Any, prepared), body, False)

    def parse(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        reader: BatchGetReader | None = None,
    ) -> dict[str, Any]:
        """The parsed answer of a response, or raise its TransportError (see `parse_answer`).

        Args:
            status: the HTTP status.
            headers: the response headers.
            body: the response body.
            reader: a BatchGetItem's reader of its items (see `parse_answer`).
        """
        return parse_answer(status, headers, body, error_members=self.error_members, reader=reader)

    def error_members(self, code: str) -> frozenset[str] | None:
        """The fields the service model declares for error `code` (empty if not modeled).

        Args:
            code: the error code, e.g. "ConditionalCheckFailedException".
        """
        if self._service_model is None:
            return None
        if code not in self._members:
            shape: Any = self._service_model.shape_for_error_code(code)
            members: dict[str, Any] = shape.members if shape is not None else {}
            self._members[code] = frozenset(
                str(m.serialization.get("name", name)) for name, m in members.items()
            )
        return self._members[code]
