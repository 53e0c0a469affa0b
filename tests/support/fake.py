"""An in-memory DynamoDB stand-in for testing the session without a server.

It enforces the batch limits the real service enforces (which moto does not),
answers in shuffled order, and can withhold keys and items or fail calls on cue.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from decimal import Decimal
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
            if operation in ("PutItem", "DeleteItem", "UpdateItem"):
                return self._single(operation, params)
        raise NotImplementedError(operation)

    # -- single-item writes, with the expression forms dynamap sends -------------------------

    def _single(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        table = params["TableName"]
        if table not in self.data:
            raise TransportError("ResourceNotFoundException", "Requested resource not found")
        body = params.get("Item") or params["Key"]
        ident = self.ident(table, body)
        old = self.data[table].get(ident)
        names: dict[str, str] = dict(params.get("ExpressionAttributeNames") or {})
        values: dict[str, Any] = dict(params.get("ExpressionAttributeValues") or {})
        used: set[str] = set()
        texts = [params.get("ConditionExpression", ""), params.get("UpdateExpression", "")]
        for token in re.findall(r"[#:][A-Za-z0-9_]+", " ".join(texts)):
            used.add(token)
        if set(names) - used or set(values) - used:
            raise self._reject("Value provided in ExpressionAttributeNames unused in expressions")
        if "ConditionExpression" in params and not _holds(
            params["ConditionExpression"], old, names, values
        ):
            details = {}
            if old is not None and params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                details["Item"] = dict(old)
            raise TransportError(
                "ConditionalCheckFailedException", "The conditional request failed", 400, details
            )
        capacity = {"TableName": table, "CapacityUnits": 1.0}
        if operation == "PutItem":
            self.data[table][ident] = dict(params["Item"])
            return {"ConsumedCapacity": capacity}
        if operation == "DeleteItem":
            self.data[table].pop(ident, None)
            return {"ConsumedCapacity": capacity}
        new = dict(old) if old is not None else dict(params["Key"])
        _apply(params["UpdateExpression"], new, names, values)
        self.data[table][ident] = new
        answer: dict[str, Any] = {"ConsumedCapacity": capacity}
        if params.get("ReturnValues") == "ALL_NEW":
            answer["Attributes"] = dict(new)
        return answer

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


def _name(token: str, names: dict[str, str]) -> str:
    token = token.strip()
    if "." in token or "[" in token:
        raise NotImplementedError(f"nested path {token!r}")
    return names[token] if token.startswith("#") else token


def _holds(
    expression: str, item: dict[str, Any] | None, names: dict[str, str], values: dict[str, Any]
) -> bool:
    """Evaluate a condition made of AND-ed functions and comparisons of top-level paths."""
    item = item or {}
    for raw in re.split(r"\s+AND\s+", expression.strip()):
        term = raw.strip().lstrip("(")
        while term.count(")") > term.count("("):  # the closing of a group, not of a call
            term = term[:-1].rstrip()
        match = re.fullmatch(r"(attribute_exists|attribute_not_exists)\((.+)\)", term)
        if match:
            present = _name(match.group(2), names) in item
            if present != (match.group(1) == "attribute_exists"):
                return False
            continue
        match = re.fullmatch(r"(\S+) (=|<>) (:\w+)", term)
        if not match:
            raise NotImplementedError(f"condition {term!r}")
        stored = item.get(_name(match.group(1), names))
        if (stored == values[match.group(3)]) != (match.group(2) == "="):
            return False
    return True


def _apply(
    expression: str, item: dict[str, Any], names: dict[str, str], values: dict[str, Any]
) -> None:
    """Apply SET path = :v, REMOVE path and ADD path :n (numbers) to top-level attributes."""
    clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expression)
    for keyword, body in zip(clauses[1::2], clauses[2::2], strict=True):
        for action in (a.strip() for a in body.split(",")):
            if keyword == "SET":
                path, value = (p.strip() for p in action.split("="))
                if not value.startswith(":"):
                    raise NotImplementedError(f"SET {action!r}")
                item[_name(path, names)] = values[value]
            elif keyword == "REMOVE":
                item.pop(_name(action, names), None)
            elif keyword == "ADD":
                path, value = action.split()
                attr, delta = _name(path, names), values[value]
                if "N" not in delta:
                    raise NotImplementedError(f"ADD {action!r}")
                before = Decimal(item.get(attr, {"N": "0"})["N"])
                item[attr] = {"N": str(before + Decimal(delta["N"]))}
            else:
                raise NotImplementedError(keyword)


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
