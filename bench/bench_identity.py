"""Identity-map benchmark: does a flush cost its own work, or the size of the identity map?

In memory (tests/support/fake.py, no server, no network). Run from the repository root:

    python bench/bench_identity.py                        # 30,000 loaded, flushes of 250 puts
    python bench/bench_identity.py --loaded 100000 --rounds 9 --json bench/results/identity.json

For two models, a session first loads `--loaded` items (get, then flush), then times flushes of
`--puts` new puts, one round after another; the same flushes in an empty session are the
baseline. `scalar` has only immutable fields (str, int, float, Decimal, bool, datetime): an
instance can change only by assignment, which the session can see without a snapshot.
`BenchItem` (bench/_shared.py) also has a set, a list and a dict, which can change in place, so
each flush must still compare every loaded instance with its snapshot; `clear()` (or
`expunge()`) is how a long-lived session of such instances stays fast, the last row.

Timed with time.perf_counter around `session.flush()` only, cyclic GC on (the session pauses it
during the flush, as it does by default); the best and the median of the rounds are reported
(on a shared machine the best is the steadier figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from decimal import Decimal
from typing import Annotated, Any

import _shared  # puts src/ and the repo root on sys.path: keep it before the imports below

from dynamap import Model, PartitionKey, Session, SortKey, to_item
from tests.support.fake import FakeDynamo


class Scalar(Model, table="bench"):
    """A 12-attribute item whose fields are all immutable."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    email: str
    status: str
    quantity: int
    version: int
    score: float
    price: Decimal
    active: bool
    note: str | None = None
    created_at: dt.datetime


def scalars(count: int, start: int = 0) -> list[Scalar]:
    """`count` distinct scalar items, keyed from `start`."""
    return [
        Scalar(
            pk=f"customer#{i // 10:06d}",
            sk=f"order#{i:08d}",
            name=f"name {i}",
            email=f"user{i}@example.com",
            status=("active", "pending")[i % 2],
            quantity=i % 1000,
            version=1,
            score=i / 7,
            price=Decimal(i).scaleb(-2),
            active=i % 3 == 0,
            created_at=_shared.EPOCH + dt.timedelta(seconds=i),
        )
        for i in range(start, start + count)
    ]


def bench_items(count: int, start: int = 0) -> list[Any]:
    """`count` distinct BenchItems, keyed from `start`."""
    items = _shared.make_items(count, seed=start + 1)
    for i, item in enumerate(items):
        item.sk = f"order#{start + i:08d}"
    return items


def flush_times(make: Any, loaded: int, puts: int, rounds: int, *, clear: bool) -> list[float]:
    """Seconds per flush of `puts` new puts, in a session that has loaded `loaded` items."""
    fake = FakeDynamo({"bench": ("pk", "sk")})
    for instance in make(loaded):
        fake.data["bench"][(instance.pk, instance.sk)] = to_item(instance)
    session = Session(transport=fake, concurrency=1)
    model = type(make(1)[0])
    keys = list(fake.data["bench"])
    deferreds = [session.get(model, pk, sk) for pk, sk in keys]
    session.flush()
    assert all(d.result() is not None for d in deferreds)
    del deferreds
    if clear:
        session.clear()
    times: list[float] = []
    for round_ in range(rounds):
        batch = make(puts, start=loaded + round_ * puts)
        for instance in batch:
            session.put(instance)
        started = time.perf_counter()
        report = session.flush()
        times.append(time.perf_counter() - started)
        assert report.items_written == puts
        if clear:
            session.clear()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loaded", type=int, default=30_000, help="instances loaded first")
    parser.add_argument("--puts", type=int, default=250, help="puts per timed flush")
    parser.add_argument("--rounds", type=int, default=7, help="timed flushes per case")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(f"flush of {args.puts} puts, {args.rounds} rounds, in-memory transport\n")
    cases = [
        ("scalar (immutable fields)", scalars, 0, False),
        ("scalar (immutable fields)", scalars, args.loaded, False),
        ("BenchItem (set, list, dict)", bench_items, 0, False),
        ("BenchItem (set, list, dict)", bench_items, args.loaded, False),
        ("BenchItem, clear() after each flush", bench_items, args.loaded, True),
    ]
    results: list[dict[str, Any]] = []
    print(f"{'model':<38} {'loaded':>8} {'best ms':>9} {'median ms':>10}")
    for label, make, loaded, clear in cases:
        times = flush_times(make, loaded, args.puts, args.rounds, clear=clear)
        best, median = min(times) * 1000, _shared.median(times) * 1000
        print(f"{label:<38} {loaded:>8,} {best:>9.2f} {median:>10.2f}")
        results.append(
            {"model": label, "loaded": loaded, "puts": args.puts, "best_ms": best, "ms": median}
        )
    if args.json:
        _shared.write_json(args.json, {"python": platform.python_version(), "results": results})


if __name__ == "__main__":
    main()
