"""Faults, plans and counts of the fault-injecting proxy, and the DynamoDB wire constants.

Split from ``faultproxy.py`` so the proxy module holds only the server; tests import
these names from either module.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    Predicate = Callable[[str, dict[str, Any]], bool]
    Response = tuple[int, list[tuple[str, str]], bytes]
    Entries = list[tuple[str, dict[str, Any]]]  # (table, key or item), in request order

TARGET_PREFIX = "DynamoDB_20120810."
BATCH_OPS = frozenset({"BatchGetItem", "BatchWriteItem"})
# Single-item writes (conditional, versioned, updates): per-request faults apply to them
# when a plan's ``operations`` include them (``ALL_OPS``); each counts as one item.
SINGLE_WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
ALL_OPS = BATCH_OPS | SINGLE_WRITE_OPS
# Reads of pages: per-request faults apply to them when a plan's ``operations`` include
# them; ``Truncate`` cuts their pages short.
READ_OPS = frozenset({"Query", "Scan"})
# Transactions: per-request faults apply to them when a plan's ``operations`` include them;
# ``counts.items`` counts TransactWriteItems actions, ``counts.keys`` TransactGetItems keys.
TRANSACT_OPS = frozenset({"TransactWriteItems", "TransactGetItems"})
JSON_TYPE = "application/x-amz-json-1.0"
# Request headers relayed upstream; DynamoDB Local reads the access key and region from
# Authorization (to pick the table namespace) but never checks the signature.
FORWARD_HEADERS = frozenset(("content-type", "x-amz-target", "authorization", "x-amz-date"))
FORWARD_HEADERS |= {"x-amz-security-token", "x-amz-content-sha256", "user-agent"}
FORWARD_HEADERS |= {"amz-sdk-invocation-id", "amz-sdk-request"}
# Response headers we recompute or that belong to one hop only.
_OWN_HEADERS = frozenset(
    {"content-length", "x-amz-crc32", "transfer-encoding", "connection", "server", "date"}
)
# Error bodies. The validation ones are byte-identical to DynamoDB Local 3.3.1's answers.
VALIDATION = "com.amazon.coral.validate#ValidationException"
TOO_MANY_WRITES = "Too many items requested for the BatchWriteItem call"
DUPLICATE_KEYS = "Provided list of item keys contains duplicates"
THROTTLING = "com.amazon.coral.availability#ThrottlingException"
THROTTLING_MESSAGE = "Rate of requests exceeds the allowed throughput."
INTERNAL = "com.amazonaws.dynamodb.v20120810#InternalServerError"
INTERNAL_MESSAGE = "Internal server error"
THROUGHPUT = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
THROUGHPUT_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]*/([^/]+)/")


def error_body(type_: str, message: str, message_key: str = "message") -> bytes:
    """A DynamoDB JSON error body, compact like the server's."""
    return json.dumps({"__type": type_, message_key: message}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Fault:
    """Base of the scripted faults; each one is used up by one request."""

    @property
    def name(self) -> str:
        """The snake_case class name, as used in ``counts.faults``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()


@dataclass(frozen=True)
class Withhold(Fault):
    """Withhold the keys/items matching ``predicate``, else ceil(fraction * n) seeded picks."""

    fraction: float = 0.5
    predicate: Predicate | None = None


@dataclass(frozen=True)
class Throttle(Fault):
    """Answer 400 ThrottlingException without forwarding."""


@dataclass(frozen=True)
class ServerError(Fault):
    """Answer 500 InternalServerError without forwarding."""


@dataclass(frozen=True)
class DropBefore(Fault):
    """Close the connection without forwarding: nothing happened."""


@dataclass(frozen=True)
class DropAfter(Fault):
    """Forward, then close without replying: the request DID take effect."""


@dataclass(frozen=True)
class Truncate(Fault):
    """Query and Scan only: forward, then answer only the first ``keep`` items of the page,
    with a LastEvaluatedKey at the last one kept (as a 1 MB page limit would)."""

    keep: int = 1


@dataclass(frozen=True)
class Latency(Fault):
    """Delay this request by ``seconds`` (on top of ``plan.latency``), then relay it."""

    seconds: float = 0.1


@dataclass(frozen=True)
class Corrupt(Fault):
    """Forward, then flip one letter of the answer but send the original x-amz-crc32.

    The body stays valid JSON with a changed value (see ``flip_letter``): only a client
    that checks the CRC can tell.
    """


@dataclass(frozen=True)
class PassThrough(Fault):
    """No fault for this request (``withhold_always`` predicates still apply)."""


@dataclass(frozen=True)
class FaultPlan:
    """Seeded random faults, used when no scripted fault is queued."""

    withhold: float = 0.0  # per key/item probability of being withheld (batch ops only)
    throttle: float = 0.0  # per request: ThrottlingException
    server_error: float = 0.0  # per request: 500 InternalServerError
    drop_before: float = 0.0  # per request: close the connection without forwarding
    drop_after: float = 0.0  # per request: forward, then close without replying
    truncate: float = 0.0  # per Query/Scan request: cut the page after its first item
    latency: float = 0.0  # seconds added to every request of ``operations``
    operations: frozenset[str] = frozenset(BATCH_OPS)  # ops the per-request faults apply to
    seed: int = 0


# FaultPlan fields of the per-request faults, with the fault each one draws.
_PLAN_FAULTS: tuple[tuple[str, type[Fault]], ...] = (
    ("drop_before", DropBefore),
    ("throttle", Throttle),
    ("server_error", ServerError),
    ("drop_after", DropAfter),
    ("truncate", Truncate),
)
_CANNED: dict[type[Fault], Response] = {
    Throttle: (400, [], error_body(THROTTLING, THROTTLING_MESSAGE)),
    ServerError: (500, [], error_body(INTERNAL, INTERNAL_MESSAGE)),
}


@dataclass
class Counts:
    """What the proxy saw, as Counters (0 when never seen).

    ``requests``, ``keys`` (BatchGetItem keys), ``items`` (BatchWriteItem requests, and
    one per PutItem, UpdateItem and DeleteItem) and
    ``withheld`` are keyed by operation; ``faults`` by Fault.name, plus ``withhold`` (partial
    answers) and ``all_withheld`` (ProvisionedThroughputExceededException answers).
    """

    requests: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    withheld: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    def clear(self) -> None:
        """Zero every count in place."""
        for counter in (self.requests, self.keys, self.items, self.withheld, self.faults):
            counter.clear()


def _canon_value(value: Any) -> Any:
    """A hashable form of an attribute value where equal numbers compare equal (1.5 == 1.50)."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind == "N" and isinstance(raw, str):
            with contextlib.suppress(InvalidOperation):
                number = Decimal(raw)
                if number.is_finite():  # NaN is unequal to itself and sNaN cannot be hashed
                    return ("N", number)
        return (kind, json.dumps(raw, sort_keys=True))
    return json.dumps(value, sort_keys=True)


def canonical_key(item: dict[str, Any], names: list[str]) -> tuple[Any, ...]:
    """The key of ``item`` (a key or a whole item) under the key attribute ``names``."""
    return tuple((name, _canon_value(item.get(name))) for name in names)


def _entries(op: str, request: Any) -> Entries | None:
    """(table, key or item) per BatchGetItem key / BatchWriteItem request; None if malformed."""
    out: Entries = []
    try:
        for table, spec in request["RequestItems"].items():
            if op == "BatchGetItem":
                out.extend((table, key) for key in spec["Keys"])
                continue
            for req in spec:
                put = req.get("PutRequest")
                out.append((table, put["Item"] if put is not None else req["DeleteRequest"]["Key"]))
    except (KeyError, TypeError, AttributeError):
        return None
    return out if all(isinstance(e[1], dict) for e in out) else None


def transact_items(body: bytes) -> tuple[int, str | None]:
    """The number of TransactItems in a transaction's body, and its ClientRequestToken."""
    try:
        request = json.loads(body)
        return len(request["TransactItems"]), request.get("ClientRequestToken")
    except (ValueError, KeyError, TypeError):
        return 0, None


def _unit(*parts: object) -> float:
    """A reproducible number in [0, 1) from ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def flip_letter(body: bytes) -> bytes:
    """``body`` with the case of one ASCII letter flipped: the first of the last string value.

    Falls back to the last letter anywhere (a key), else the last byte.
    """
    data = bytearray(body)
    start = body.rfind(b'"S":"')
    index = start + 5 if start >= 0 and start + 5 < len(body) else -1
    if index < 0 or not chr(data[index]).isalpha():
        letters = [i for i, b in enumerate(data) if chr(b).isascii() and chr(b).isalpha()]
        index = letters[-1] if letters else len(data) - 1
    if index >= 0:
        data[index] ^= 0x20 if chr(data[index]).isalpha() else 0x01
    return bytes(data)
