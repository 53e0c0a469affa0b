"""A fault-injecting HTTP proxy in front of DynamoDB Local.

Local servers never throttle or return partial batches, so the tests put this proxy between
the client and DynamoDB Local. Faults come from a FIFO queue of scripted faults (one per
request, taking precedence) or else from a seeded random ``FaultPlan``. Both only touch the
operations listed in ``plan.operations``; everything else is relayed unchanged.

Random draws are hashes of (seed, request or key, how often it was seen), not one shared
random stream, so the same seed withholds the same keys even when threads interleave.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import math
import random
import select
import socket
import sys
import threading
import time
import uuid
import zlib
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

    Predicate = Callable[[str, dict[str, Any]], bool]
    Response = tuple[int, list[tuple[str, str]], bytes]
    Entries = list[tuple[str, dict[str, Any]]]  # (table, key or item), in request order

from tests.support.faults import (
    _CANNED,
    _CREDENTIAL,
    _OWN_HEADERS,
    _PLAN_FAULTS,
    BATCH_OPS,
    DUPLICATE_KEYS,
    FORWARD_HEADERS,
    JSON_TYPE,
    READ_OPS,
    SINGLE_WRITE_OPS,
    TARGET_PREFIX,
    THROUGHPUT,
    THROUGHPUT_MESSAGE,
    TOO_MANY_WRITES,
    TRANSACT_OPS,
    VALIDATION,
    Corrupt,
    Counts,
    DropAfter,
    DropBefore,
    Fault,
    FaultPlan,
    Latency,
    PassThrough,
    ServerError,
    Throttle,
    Truncate,
    Withhold,
    _dumps,
    _entries,
    _unit,
    canonical_key,
    error_body,
    flip_letter,
    transact_items,
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore/urllib3 pools connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.upstream: http.client.HTTPConnection | None = None
        self.server.proxy._track(self.connection, add=True)

    def finish(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
        self.server.proxy._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_POST(self) -> None:  # the name BaseHTTPRequestHandler calls
        self.server.proxy._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output quiet; counts tell what happened


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closed its connection while its request was here (a flush that
        # gave up on it at its deadline) is expected; anything else is still printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FaultProxy:
    """The proxy. Use as a context manager, or start() and stop()."""

    def __init__(
        self, upstream: str, plan: FaultPlan | None = None, upstream_timeout: float = 60.0
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = upstream
        self._upstream_addr = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._timeout = upstream_timeout
        self.counts = Counts()
        self._lock = threading.Lock()
        self._plan = plan or FaultPlan()
        self._queue: deque[Fault] = deque()
        self._always: list[Predicate] = []
        self._seen: Counter[object] = Counter()
        self._key_names: dict[tuple[str, str, str], list[str]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self.tokens: list[str | None] = []  # each TransactWriteItems' ClientRequestToken
        # Access keys of the requests' signatures, in arrival order; and the one forwarded
        # instead, if set (DynamoDB Local keeps tables per access key, never checks them).
        self.access_keys: list[str] = []
        self.forward_access_key: str | None = None

    # --- control ---------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The URL clients should use, e.g. ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("FaultProxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def plan(self) -> FaultPlan:
        """The random plan in force."""
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Use ``plan`` from now on; its random sequence starts afresh."""
        with self._lock:
            self._plan = plan
            self._seen.clear()

    def enqueue(self, *faults: Fault) -> None:
        """Queue scripted faults, used one per request of ``plan.operations`` in order."""
        with self._lock:
            self._queue.extend(faults)

    def pending(self) -> int:
        """How many scripted faults are still queued."""
        with self._lock:
            return len(self._queue)

    def withhold_always(self, predicate: Predicate) -> None:
        """Withhold, on every batch call, each key/item where ``predicate(table, kv)`` holds."""
        with self._lock:
            self._always.append(predicate)

    def clear_faults(self) -> None:
        """Back to no faults: empty plan, empty queue, no withhold_always predicates."""
        with self._lock:
            self._plan = FaultPlan()
            self._queue.clear()
            self._always.clear()
            self._seen.clear()

    def reset_counts(self) -> None:
        """Zero all counts."""
        with self._lock:
            self.counts.clear()

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="faultproxy", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the kept-alive client connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._lock:
            clients = list(self._clients)
        for sock in clients:  # wake handler threads blocked on idle keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._clients.add if add else self._clients.discard)(sock)

    # --- request handling ------------------------------------------------------------------
    def _handle(self, h: _Handler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        self._note_access_key(h)
        op = h.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        request: Any = None
        if op in BATCH_OPS or op in ("CreateTable", "DeleteTable"):
            with contextlib.suppress(ValueError):
                request = json.loads(body)
        entries = _entries(op, request) if op in BATCH_OPS else None
        fault, withheld, delay = self._decide(op, body, entries)
        if delay > 0:
            time.sleep(delay)
        if isinstance(fault, DropBefore):
            h.close_connection = True
            return
        if isinstance(fault, (Throttle, ServerError)):
            self._reply(h, _CANNED[type(fault)])
            return
        try:
            if isinstance(request, dict) and op in ("CreateTable", "DeleteTable"):
                with self._lock:  # a table name may come back with another key schema
                    for cached in [k for k in self._key_names if k[2] == request.get("TableName")]:
                        del self._key_names[cached]
            if op == "BatchGetItem" and withheld and entries is not None:
                response = self._batch_get(h, body, request, entries, withheld)
            elif op == "BatchWriteItem" and withheld and entries is not None:
                response = self._batch_write(h, request, entries, withheld)
            else:
                response = self._forward(h, body)
            if isinstance(fault, Truncate) and op in READ_OPS:
                response = self._truncate(h, body, response, fault.keep)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            response = (502, [], error_body("ProxyUpstreamError", f"fault proxy: {exc!r}"))
        if isinstance(fault, DropAfter):
            h.close_connection = True
            return
        if isinstance(fault, Corrupt):
            status, headers, data = response
            self._reply(h, (status, headers, flip_letter(data)), crc_of=data)
            return
        self._reply(h, response)

    def _decide(
        self, op: str, body: bytes, entries: Entries | None
    ) -> tuple[Fault | None, set[int], float]:
        """Count the request; pick its fault, the indexes of withheld entries, its delay."""
        fault: Fault | None = None
        with self._lock:
            plan, always = self._plan, list(self._always)
            self.counts.requests[op] += 1
            if entries is not None:
                counter = self.counts.keys if op == "BatchGetItem" else self.counts.items
                counter[op] += len(entries)
            elif op in SINGLE_WRITE_OPS:
                self.counts.items[op] += 1
            elif op in TRANSACT_OPS:
                count, token = transact_items(body)
                (self.counts.items if op == "TransactWriteItems" else self.counts.keys)[op] += count
                if op == "TransactWriteItems":
                    self.tokens.append(token)
            digest = hashlib.blake2b(body, digest_size=8).hexdigest()
            self._seen[op, digest] += 1
            occurrence = (plan.seed, op, digest, self._seen[op, digest])
            delay = plan.latency if op in plan.operations else 0.0
            if op in plan.operations and self._queue:
                fault = self._queue.popleft()
            elif op in plan.operations:
                u = _unit("request", *occurrence)
                for chance, cls in _PLAN_FAULTS:
                    if u < getattr(plan, chance):
                        fault = cls()
                        break
                    u -= getattr(plan, chance)
            if isinstance(fault, Latency):
                delay += fault.seconds
            elif fault is not None and not isinstance(fault, (PassThrough, Withhold)):
                self.counts.faults[fault.name] += 1
            if delay > 0:
                self.counts.faults["latency"] += 1
            draws: list[float] = []
            if entries is not None and fault is None and op in plan.operations and plan.withhold:
                for table, kv in entries:
                    key = (op, table, json.dumps(kv, sort_keys=True))
                    self._seen[key] += 1
                    draws.append(_unit("entry", plan.seed, *key, self._seen[key]))
        withheld: set[int] = set()
        if entries is None or isinstance(fault, (DropBefore, Throttle, ServerError)):
            return fault, withheld, delay
        # User predicates run outside the lock: they may be slow or raise.
        withheld.update(i for i, e in enumerate(entries) if any(p(*e) for p in always))
        withheld.update(i for i, u in enumerate(draws) if u < plan.withhold)
        if isinstance(fault, Withhold) and fault.predicate is not None:
            withheld.update(i for i, e in enumerate(entries) if fault.predicate(*e))
        elif isinstance(fault, Withhold):
            count = min(len(entries), math.ceil(fault.fraction * len(entries)))
            withheld.update(random.Random(repr(occurrence)).sample(range(len(entries)), count))
        return fault, withheld, delay

    def _count_withheld(self, op: str, count: int, *, everything: bool) -> None:
        with self._lock:
            self.counts.withheld[op] += count
            self.counts.faults["all_withheld" if everything else "withhold"] += 1

    def _batch_get(
        self, h: _Handler, body: bytes, request: Any, entries: Entries, withheld: set[int]
    ) -> Response:
        # The full request goes upstream (reads are harmless) so that invalid requests get
        # the server's own errors; the withheld keys are then cut out of its answer.
        status, headers, data = self._forward(h, body)
        if status != 200:
            return status, headers, data
        if len(withheld) == len(entries):
            self._count_withheld("BatchGetItem", len(entries), everything=True)
            return 400, [], error_body(THROUGHPUT, THROUGHPUT_MESSAGE)
        answer = json.loads(data)
        responses = answer.setdefault("Responses", {})
        unprocessed = answer.get("UnprocessedKeys") or {}
        offset = 0
        for table, spec in request["RequestItems"].items():
            keys = spec["Keys"]
            flags = [offset + j in withheld for j in range(len(keys))]
            offset += len(keys)
            if not any(flags):
                continue
            kept = [k for k, w in zip(keys, flags, strict=True) if not w]
            names = sorted({name for key in keys for name in key})
            items = responses.get(table, [])
            entry = unprocessed.setdefault(table, {**spec, "Keys": []})
            if all(all(n in item for n in names) for item in items):
                # Keep as many copies per key as kept keys ask for ("-0" and "0.000" are
                # one item asked twice).
                wanted = Counter(canonical_key(k, names) for k in kept)
                responses[table] = []
                for item in items:
                    ck = canonical_key(item, names)
                    if wanted[ck] > 0:
                        wanted[ck] -= 1
                        responses[table].append(item)
            else:  # a projection left key attributes out: ask again for the kept keys only
                responses[table] = []
                if kept:
                    sub = {"RequestItems": {table: {**spec, "Keys": kept}}}
                    status, _, again = self._forward(h, _dumps(sub))
                    if status != 200:
                        raise ValueError(f"re-read of kept keys failed: {again[:300]!r}")
                    refetched = json.loads(again)
                    responses[table] = refetched.get("Responses", {}).get(table, [])
                    more = refetched.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                    entry["Keys"].extend(more)
            present = {canonical_key(k, names) for k in entry["Keys"]}
            entry["Keys"].extend(
                k
                for k, w in zip(keys, flags, strict=True)
                if w and canonical_key(k, names) not in present
            )
        answer["UnprocessedKeys"] = unprocessed
        self._count_withheld("BatchGetItem", len(withheld), everything=False)
        return 200, headers, _dumps(answer)

    def _batch_write(
        self, h: _Handler, request: Any, entries: Entries, withheld: set[int]
    ) -> Response:
        # Withheld writes are really not performed, so they never reach the server; the
        # limits it would have rejected the whole request for are checked here first.
        invalid = self._validate_writes(h, request, entries)
        if invalid is not None:
            return invalid
        remaining: dict[str, list[Any]] = {}
        unprocessed: dict[str, list[Any]] = {}
        index = 0
        for table, reqs in request["RequestItems"].items():
            kept: list[Any] = []
            for req in reqs:
                (unprocessed.setdefault(table, []) if index in withheld else kept).append(req)
                index += 1
            if kept or not reqs:  # an empty list was sent as such: the server rejects it
                remaining[table] = kept
        if not remaining:
            self._count_withheld("BatchWriteItem", len(entries), everything=True)
            return 400, [], error_body(THROUGHPUT, THROUGHPUT_MESSAGE)
        status, headers, data = self._forward(h, _dumps({**request, "RequestItems": remaining}))
        if status != 200:
            return status, headers, data
        answer = json.loads(data)
        merged = answer.get("UnprocessedItems") or {}
        for table, reqs in unprocessed.items():
            merged.setdefault(table, []).extend(reqs)
        answer["UnprocessedItems"] = merged
        self._count_withheld("BatchWriteItem", len(withheld), everything=False)
        return 200, headers, _dumps(answer)

    def _validate_writes(self, h: _Handler, request: Any, entries: Entries) -> Response | None:
        """DynamoDB Local's checks, in its order: >25 requests, missing table, duplicates."""
        if len(entries) > 25:
            return 400, [], error_body(VALIDATION, TOO_MANY_WRITES, "Message")
        for table in request["RequestItems"]:
            names_or_error = self._table_key_names(h, table)
            if not isinstance(names_or_error, list):
                return names_or_error
            seen: set[tuple[Any, ...]] = set()
            for name, kv in entries:
                if name != table or not all(n in kv for n in names_or_error):
                    continue  # a missing key attribute is the server's to report
                key = canonical_key(kv, names_or_error)
                if key in seen:
                    return 400, [], error_body(VALIDATION, DUPLICATE_KEYS, "Message")
                seen.add(key)
        return None

    def _truncate(self, h: _Handler, body: bytes, response: Response, keep: int) -> Response:
        """Cut a Query/Scan page after ``keep`` items, with a LastEvaluatedKey there."""
        status, headers, data = response
        page = json.loads(data) if status == 200 else None
        if page is None or len(page.get("Items", ())) <= keep or keep < 1:
            return response
        request = json.loads(body)
        extra = {"X-Amz-Target": TARGET_PREFIX + "DescribeTable"}
        described = self._forward(h, _dumps({"TableName": request["TableName"]}), extra)
        table = json.loads(described[2])["Table"]
        names = [k["AttributeName"] for k in table["KeySchema"]]
        for index in table.get("GlobalSecondaryIndexes", []) + table.get(
            "LocalSecondaryIndexes", []
        ):
            if index["IndexName"] == request.get("IndexName"):
                names += [k["AttributeName"] for k in index["KeySchema"]]
        page["Items"] = page["Items"][:keep]
        page["Count"] = keep
        page["LastEvaluatedKey"] = {n: page["Items"][-1][n] for n in dict.fromkeys(names)}
        return status, headers, _dumps(page)

    def _table_key_names(self, h: _Handler, table: str) -> list[str] | Response:
        """The table's key attribute names (DescribeTable, cached), or the server's error."""
        found = _CREDENTIAL.search(h.headers.get("Authorization", ""))
        cache_key = (found.group(1), found.group(2), table) if found else ("", "", table)
        with self._lock:
            names = self._key_names.get(cache_key)
        if names is not None:
            return names
        extra = {"X-Amz-Target": TARGET_PREFIX + "DescribeTable"}
        status, headers, data = self._forward(h, _dumps({"TableName": table}), extra)
        if status != 200:
            return status, headers, data
        names = [k["AttributeName"] for k in json.loads(data)["Table"]["KeySchema"]]
        with self._lock:
            self._key_names[cache_key] = names
        return names

    def _note_access_key(self, h: _Handler) -> None:
        found = _CREDENTIAL.search(h.headers.get("Authorization", ""))
        with self._lock:
            self.access_keys.append(found.group(1) if found else "")
        if found and self.forward_access_key is not None:
            auth = h.headers["Authorization"]
            del h.headers["Authorization"]
            start, end = found.span(1)
            h.headers["Authorization"] = auth[:start] + self.forward_access_key + auth[end:]

    # --- upstream and replies --------------------------------------------------------------
    def _forward(self, h: _Handler, body: bytes, extra: dict[str, str] | None = None) -> Response:
        """Send ``body`` upstream on this handler's own connection; return the answer."""
        headers = {k: v for k, v in h.headers.items() if k.lower() in FORWARD_HEADERS}
        headers.update(extra or {})
        headers["Accept-Encoding"] = "identity"  # we may need to read and rewrite the body
        headers["Content-Length"] = str(len(body))
        conn = h.upstream
        # A pooled connection the server closed while idle reads as "readable" (EOF).
        if conn is not None and (conn.sock is None or select.select([conn.sock], [], [], 0)[0]):
            conn.close()
            conn = None
        if conn is None:
            conn = h.upstream = http.client.HTTPConnection(
                *self._upstream_addr, timeout=self._timeout
            )
        try:
            conn.request("POST", h.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()
            h.upstream = None
            raise
        if resp.will_close:
            conn.close()
            h.upstream = None
        return resp.status, resp.getheaders(), data

    def _reply(self, h: _Handler, response: Response, crc_of: bytes | None = None) -> None:
        status, headers, body = response
        h.send_response(status)
        names = set()
        for key, value in headers:
            if key.lower() not in _OWN_HEADERS:
                h.send_header(key, value)
                names.add(key.lower())
        if "content-type" not in names:
            h.send_header("Content-Type", JSON_TYPE)
        if "x-amzn-requestid" not in names:
            h.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        # botocore checks this CRC (retrying on mismatch), so it must match the body we send
        # (``crc_of``: the body before a Corrupt fault changed it).
        h.send_header(
            "x-amz-crc32", str(zlib.crc32(body if crc_of is None else crc_of) & 0xFFFFFFFF)
        )
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
