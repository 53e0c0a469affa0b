"""Write-back benchmark: load, change one attribute, flush; write_back="update" vs "put".

Run from the repository root (about 1 minute, most of it starting DynamoDB Local):

    python bench/bench_writeback.py                      # 1,000 items, 3 rounds
    python bench/bench_writeback.py --items 1000 --rounds 5 --json bench/results/wb.json

Each round, for each mode in alternating order, a fresh session reads the 1,000
`BenchItem`s (20 attributes, ~1 KB) of a table seeded once, changes `name` on each, and
flushes. Only that flush is timed: requests sent (the flush report), client CPU per item
(`time.process_time()`, this process only: DynamoDB Local is a separate java process)
and wall time. "update" sends one UpdateItem per changed item (`SET name = :v0`, on the
condition that the item still exists); "put" sends whole items, 25 to a BatchWriteItem.
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

import _shared  # puts src/ and the repository root on sys.path: keep it before dynamap

from dynamap import Session, create_table_params
from tests.support import ddblocal

BenchItem = _shared.BenchItem
MODES = ("update", "put")


def seed(client: Any, prefix: str, items: list[Any]) -> None:
    client.create_table(**create_table_params(BenchItem, table_prefix=prefix))
    with Session(client, table_prefix=prefix) as session:
        for item in items:
            session.put(item)


def run_once(client: Any, prefix: str, items: list[Any], mode: Any, tag: str) -> dict[str, float]:
    """Load every item, change one attribute of each, and time the flush that writes back."""
    with Session(client, table_prefix=prefix, write_back=mode) as session:
        loaded = [session.get(BenchItem, item.pk, item.sk) for item in items]
        session.flush()
        for deferred in loaded:
            instance = deferred.result()
            assert instance is not None
            instance.name = f"{tag} {mode} {instance.pk}"  # differs from every earlier run
        cpu, wall = time.process_time(), time.perf_counter()
        report = session.flush()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if report.items_written != len(items):
        raise SystemExit(f"{mode}: wrote {report.items_written} of {len(items)}")
    return {
        "requests": float(report.requests),
        "cpu_us_per_item": cpu / len(items) * 1e6,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items loaded and changed")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    items = _shared.make_items(args.items)
    print(
        f"{args.items:,} items of {len(BenchItem.model_fields)} attributes, one changed each; "
        f"{args.rounds} round(s), Python {platform.python_version()}, "
        f"DynamoDB Local {ddblocal.VERSION}"
    )
    server = ddblocal.DynamoDBLocal()
    print("starting DynamoDB Local ...", flush=True)
    server.start()
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    try:
        client = ddblocal.make_client(server.endpoint)
        seed(client, "wb-", items)
        run_once(client, "wb-", items[:100], "update", "warm")  # warm-up, not counted
        for round_no in range(args.rounds):
            order = MODES if round_no % 2 == 0 else MODES[::-1]
            for mode in order:
                runs[mode].append(run_once(client, "wb-", items, mode, f"r{round_no}"))
    finally:
        server.stop()
    results = {
        mode: {metric: _shared.median([r[metric] for r in rs]) for metric in rs[0]}
        for mode, rs in runs.items()
    }
    print(f"\n{'write_back':<12}{'requests':>10}{'CPU µs/item':>14}{'wall s':>9}")
    for mode, r in results.items():
        print(f"{mode:<12}{r['requests']:>10.0f}{r['cpu_us_per_item']:>14.0f}{r['wall_s']:>9.2f}")
    update, put = results["update"], results["put"]
    print(
        f"\nupdate / put: {update['requests'] / put['requests']:.0f}x the requests, "
        f"{update['cpu_us_per_item'] / put['cpu_us_per_item']:.1f}x the CPU per item, "
        f"{update['wall_s'] / put['wall_s']:.1f}x the wall time"
    )
    if args.json:
        _shared.write_json(args.json, {"items": args.items, "results": results})


if __name__ == "__main__":
    main()
