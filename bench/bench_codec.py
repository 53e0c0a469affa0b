"""Codec benchmark: dynamap's item encode/decode against boto3's TypeSerializer/TypeDeserializer.

Run from the repository root (about 40 s):

    python bench/bench_codec.py                 # 20,000 items x 7 interleaved rounds
    python bench/bench_codec.py --items 5000 --rounds 3 --json bench/results/codec.json
    python bench/bench_codec.py --profile       # also print cProfile top entries for dynamap

Every case encodes or decodes the same ~1 KB, 20-attribute items. The boto3 baseline is what
a hand-written boto3 user has to do: `model_dump()`, then float -> Decimal(str(f)) and
datetime -> isoformat() (TypeSerializer rejects both), then TypeSerializer; and to read,
TypeDeserializer then `model_validate`. Those conversions are part of the baseline's cost.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import platform
import pstats
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import _shared  # puts src/ on sys.path: keep it before the dynamap imports
import boto3
import pydantic
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from _dynamap.codec.size import item_size
from _dynamap.model.model import model_info
from dynamap import from_item, to_item

if TYPE_CHECKING:
    from collections.abc import Callable

BenchItem = _shared.BenchItem
TARGET_RATIO = 1 / 3  # the goal: dynamap costs at most a third of the boto3 baseline per item

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _boto3_value(value: Any) -> Any:
    """What users do before TypeSerializer, which rejects float and datetime."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _boto3_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_boto3_value(v) for v in value]
    return value


def boto3_encode(instance: BenchItem) -> dict[str, Any]:
    """Baseline encode: model_dump, float/datetime conversion, TypeSerializer (None omitted)."""
    serialize = _serializer.serialize
    return {
        name: serialize(_boto3_value(value))
        for name, value in instance.model_dump().items()
        if value is not None
    }


def boto3_decode(item: dict[str, Any]) -> BenchItem:
    """Baseline decode: TypeDeserializer, then pydantic validation."""
    deserialize = _deserializer.deserialize
    return BenchItem.model_validate({name: deserialize(av) for name, av in item.items()})


def check_round_trips(items: list[BenchItem]) -> None:
    """Both codecs must give back equal instances, or the timings mean nothing."""
    for instance in items:
        if from_item(BenchItem, to_item(instance)) != instance:
            raise SystemExit(f"dynamap round trip changed {instance.sk}")
        if boto3_decode(boto3_encode(instance)) != instance:
            raise SystemExit(f"boto3 baseline round trip changed {instance.sk}")


def time_pass(fn: Callable[[Any], Any], inputs: list[Any]) -> float:
    """Nanoseconds per item for one pass of `fn` over `inputs` (cyclic GC left on)."""
    gc.collect()
    start = time.perf_counter_ns()
    for value in inputs:
        fn(value)
    return (time.perf_counter_ns() - start) / len(inputs)


def profile(name: str, fn: Callable[[Any], Any], inputs: list[Any], top: int) -> None:
    """Print the top entries by own time of one pass of `fn`."""
    profiler = cProfile.Profile()
    profiler.enable()
    for value in inputs:
        fn(value)
    profiler.disable()
    print(f"\n--- cProfile: {name}, {len(inputs):,} items (top {top} by own time) ---")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000, help="items per pass")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", action="store_true", help="print cProfile top entries")
    args = parser.parse_args()

    instances = _shared.make_items(args.items)
    wire = [to_item(i) for i in instances]
    check_round_trips(instances[:1000])
    codec = model_info(BenchItem).codec
    json_size = sum(map(_shared.wire_json_size, wire)) / len(wire)
    ddb_size = sum(map(item_size, wire)) / len(wire)
    print(
        f"{args.items:,} items of {len(BenchItem.model_fields)} attributes: "
        f"{json_size:,.0f} B of DynamoDB JSON on average ({ddb_size:,.0f} B as DynamoDB counts "
        f"item size); {args.rounds} interleaved rounds, cyclic GC on"
    )
    versions = f"pydantic {pydantic.VERSION}, boto3 {boto3.__version__}"
    print(f"Python {platform.python_version()}, {versions}")

    cases: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "encode  dynamap to_item": (to_item, instances),
        "encode  dynamap codec.encode (no checks)": (codec.encode, instances),
        "encode  boto3 model_dump+Decimal+TypeSerializer": (boto3_encode, instances),
        "decode  dynamap from_item": (lambda item: from_item(BenchItem, item), wire),
        "decode  dynamap codec.to_python (no validation)": (codec.to_python, wire),
        "decode  boto3 TypeDeserializer+model_validate": (boto3_decode, wire),
    }
    names = list(cases)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        # Rotate the order each round so no case always runs first or after the same one.
        for name in names[round_no % len(names) :] + names[: round_no % len(names)]:
            fn, inputs = cases[name]
            runs[name].append(time_pass(fn, inputs) / 1000)

    best = {name: min(values) for name, values in runs.items()}
    med = {name: _shared.median(values) for name, values in runs.items()}
    print(f"\n{'case':<50} {'best µs/item':>13} {'median µs/item':>15}")
    for name in names:
        print(f"{name:<50} {best[name]:>13.2f} {med[name]:>15.2f}")

    def ratios(stat: dict[str, float]) -> dict[str, float]:
        enc, dec = stat[names[0]], stat[names[3]]
        base_enc, base_dec = stat[names[2]], stat[names[5]]
        return {
            "encode (to_item)": enc / base_enc,
            "encode hot path (codec.encode)": stat[names[1]] / base_enc,
            "decode (from_item)": dec / base_dec,
            "encode + decode": (enc + dec) / (base_enc + base_dec),
        }

    by_median, by_best = ratios(med), ratios(best)
    print(f"\n{'dynamap / boto3 baseline':<50} {'best':>13} {'median':>15}  target <= 0.33")
    for label in by_median:
        verdict = "met" if by_median[label] <= TARGET_RATIO else "NOT met"
        print(f"{label:<50} {by_best[label]:>13.2f} {by_median[label]:>15.2f}  {verdict}")

    if args.json:
        _shared.write_json(
            args.json,
            {
                "benchmark": "codec",
                "items": args.items,
                "rounds": args.rounds,
                "attributes": len(BenchItem.model_fields),
                "avg_json_bytes": json_size,
                "avg_dynamodb_item_bytes": ddb_size,
                "python": platform.python_version(),
                "pydantic": pydantic.VERSION,
                "boto3": boto3.__version__,
                "us_per_item": {
                    name: {"best": best[name], "median": med[name], "rounds": runs[name]}
                    for name in names
                },
                "ratios": {"best": by_best, "median": by_median},
                "target_ratio": TARGET_RATIO,
            },
        )

    if args.profile:
        for name in (names[0], names[3]):
            profile(name, *cases[name], top=15)


if __name__ == "__main__":
    main()
