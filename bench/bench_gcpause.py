"""GC pause benchmark: the client CPU per item of a flush with and without the pause.

Run from the repository root (about 1 minute):

    python bench/bench_gcpause.py                        # 10,000 items, 5 rounds, 2 heap sizes
    python bench/bench_gcpause.py --items 10000 --rounds 5 --heap 0 --heap 1000000 \\
        --json bench/results/gcpause.json

Sessions write 10,000 items (`put` each, `flush`) and read them back (`get` each, `flush`,
`result()` each) through the in-memory fake transport of the tests (tests/support/fake.py),
so no server or network time is measured: the figure is `time.process_time()` per item of
the whole `with Session(...)` block, with `pause_gc=True` (the default) and `pause_gc=False`,
in alternating order. The cost of a full collection grows with everything alive in the
process, so each case runs once with no other objects and once with `--heap` long-lived
containers standing for an application's own data. Also counted: the collections of each
generation that ran during the timed blocks (through `gc.callbacks`).
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
from collections import Counter
from typing import Any

import _shared  # puts src/ and the repository root on sys.path: keep it before dynamap

from dynamap import Session
from tests.support.fake import FakeDynamo

BenchItem = _shared.BenchItem


class _Collections:
    """Counts the collections of each generation while installed."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            self.counts[info["generation"]] += 1


def _timed(block: Any, count: int, collections: _Collections) -> tuple[float, Counter[int]]:
    """CPU µs per item of `block()`, and the collections it triggered."""
    gc.collect()
    collections.counts.clear()
    started = time.process_time()
    block()
    elapsed = time.process_time() - started
    return elapsed / count * 1e6, Counter(collections.counts)


def run_round(
    items: list[Any], pause: bool, collections: _Collections
) -> dict[str, tuple[float, Counter[int]]]:
    """Write then read `items` through a fresh fake table; CPU µs/item of each phase."""
    fake = FakeDynamo({"bench": ("pk", "sk")})

    def write() -> None:
        with Session(transport=fake, concurrency=1, pause_gc=pause) as session:
            for item in items:
                session.put(item)

    def read() -> None:
        with Session(transport=fake, concurrency=1, pause_gc=pause) as session:
            reads = [session.get(BenchItem, item.pk, item.sk) for item in items]
            session.flush()
            if sum(1 for r in reads if r.result() is not None) != len(items):
                raise SystemExit("the read did not find every item written")

    return {
        "write": _timed(write, len(items), collections),
        "read": _timed(read, len(items), collections),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--heap", type=int, action="append", help="long-lived containers (default: 0, 1000000)"
    )
    parser.add_argument("--json", help="also write every figure as JSON to this path")
    args = parser.parse_args()
    heaps = args.heap or [0, 1_000_000]
    items = _shared.make_items(args.items)
    collections = _Collections()
    gc.callbacks.append(collections)
    print(
        f"Python {platform.python_version()}, {args.items:,} items, {args.rounds} rounds, "
        f"thresholds {gc.get_threshold()}; CPU µs per item, median (best)"
    )
    results: dict[str, Any] = {}
    for heap in heaps:
        ballast = [{"n": n} for n in range(heap)]  # the application's own data
        run_round(items[:1000], True, collections)  # warm-up: codecs, caches
        figures: dict[tuple[str, bool], list[float]] = {}
        counted: dict[tuple[str, bool], Counter[int]] = {}
        for round_ in range(args.rounds):
            for pause in (True, False) if round_ % 2 == 0 else (False, True):
                for phase, (cost, seen) in run_round(items, pause, collections).items():
                    figures.setdefault((phase, pause), []).append(cost)
                    counted.setdefault((phase, pause), Counter()).update(seen)
        print(f"\nheap of {heap:,} other containers")
        print("| phase | pause on | pause off | saved | collections on | collections off |")
        print("| --- | ---: | ---: | ---: | --- | --- |")
        for phase in ("write", "read"):
            on, off = figures[phase, True], figures[phase, False]
            saved = 1 - _shared.median(on) / _shared.median(off)
            cells = [
                f"{_shared.median(on):.1f} ({min(on):.1f})",
                f"{_shared.median(off):.1f} ({min(off):.1f})",
                f"{saved:.0%}",
            ]
            for pause in (True, False):
                seen = counted[phase, pause]
                cells.append(
                    " / ".join(f"{seen[g] / args.rounds:g}" for g in range(3)) + " per round"
                )
            print(f"| {phase} | " + " | ".join(cells) + " |")
            results[f"heap={heap}"] = results.get(f"heap={heap}", {}) | {
                phase: {"on": on, "off": off, "saved": saved}
            }
        del ballast
    print("\ncollections: generation 0 / 1 / 2, per timed block")
    gc.callbacks.remove(collections)
    if args.json:
        _shared.write_json(args.json, results)


if __name__ == "__main__":
    main()
