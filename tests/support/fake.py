"""An in-memory DynamoDB stand-in for testing the session without a server.

It enforces the batch limits the real service enforces (which moto does not),
answers in shuffled order, and can withhold keys and items or fail calls on cue.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from _dynamap.model.keys import canonical_value
from dynamap import TransportError

Withhold = Callable[[str, dict[str, Any]], bool]


class FakeDynamo:
    """A Transport over dicts. `tables` maps name -> key attribute names."""

    def __init__(self, tables: dict[str, tuple[str, ...]], seed: int = 0) -> None:
        self.keys = tables
        self.data: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {t: {} for t in tables}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.withhold: Withhold | None = None
        self.errors: list[TransportError] = []  # raised by the next calls, in order
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def ident(self, table: str, item: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(canonical_value(item[a]) for a in self.keys[table])

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append((operation, params))
            if self.errors:
                raise self.errors.pop(0)
            if operation == "BatchGetItem":
                return self._get(params)
            if operation == "BatchWriteItem":
                return self._write(params)
        raise NotImplementedError(operation)

    def _reject(self, message: str) -> TransportError:
        return TransportError("ValidationException", message, 400)

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        requested = params["RequestItems"]
        if sum(len(e["Keys"]) for e in requested.values()) > 100:
            raise self._reject("Too many items requested for the BatchGetItem call")
        responses: dict[str, list[dict[str, Any]]] = {}
        unprocessed: dict[str, dict[str, Any]] = {}
        for table, entry in requested.items():
            if table not in self.data:
                raise TransportError("ResourceNotFoundException", "Requested resource not found")
            idents = [self.ident(table, k) for k in entry["Keys"]]
            if len(set(idents)) != len(idents):
                raise self._reject("Provided list of item keys contains duplicates")
            for key, ident in zip(entry["Keys"], idents, strict=True):
                if self.withhold is not None and self.withhold(table, key):
                    form = {k: v for k, v in entry.items() if k != "Keys"}
                    unprocessed.setdefault(table, {**form, "Keys": []})["Keys"].append(key)
                    continue
                item = self.data[table].get(ident)
                if item is not None:
                    responses.setdefault(table, []).append(dict(item))
        for found in responses.values():
            self.rng.shuffle(found)  # DynamoDB answers in no particular order
        capacity = [
            {"TableName": t, "CapacityUnits": 0.5 * len(e["Keys"])} for t, e in requested.items()
        ]
        return {
            "Responses": responses,
            "UnprocessedKeys": unprocessed,
            "ConsumedCapacity": capacity,
        }

    def _write(self, params: dict[str, Any]) -> dict[str, Any]:
        requested = params["RequestItems"]
        if sum(len(r) for r in requested.values()) > 25:
            raise self._reject("Too many items requested for the BatchWriteItem call")
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        for table, writes in requested.items():
            bodies = [
                w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"] for w in writes
            ]
            idents = [self.ident(table, b) for b in bodies]
            if len(set(idents)) != len(idents):
                raise self._reject("Provided list of item keys contains duplicates")
        for table, writes in requested.items():
            for write in writes:
                body = write.get("PutRequest", {}).get("Item") or write["DeleteRequest"]["Key"]
                if self.withhold is not None and self.withhold(table, body):
                    unprocessed.setdefault(table, []).append(write)
                elif "PutRequest" in write:
                    self.data[table][self.ident(table, body)] = dict(body)
                else:
                    self.data[table].pop(self.ident(table, body), None)
        capacity = [{"TableName": t, "CapacityUnits": float(len(w))} for t, w in requested.items()]
        return {"UnprocessedItems": unprocessed, "ConsumedCapacity": capacity}

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [p for op, p in self.calls if op == operation]


class FakeClock:
    """A clock that only moves when the session sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
