"""Where dynamap's client time goes: cProfile's own time per function, grouped by concern.

Used by `bench_session.py`. cProfile slows Python-level code more than C, so the shares
are a guide to what to work on next, not a measurement of the unprofiled run.
"""

from __future__ import annotations

import pstats
from typing import Any

# (category, substrings of a file path or of a built-in's name), first match wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The batched puts' items, encoded straight to JSON (codec/jsonenc.py): encoding.
    ("encode/decode + validation", ("<dynamap encode_json", "codec/jsonenc.py")),
    ("JSON", ("from_json", "to_json", "json/", "_json", "base64", "transport/wire.py")),
    (
        "HTTP + signing",
        (
            "urllib3/",
            "http/client.py",
            "socket",
            "ssl",
            "select",
            "botocore/",
            "boto3/",
            "hmac",
            "_hashlib",
            "hashlib",
            "crc32",
            "email/",
            "transport/",
            "urllib/",
            "datetime",
            "strftime",
        ),
    ),
    (
        "encode/decode + validation",
        ("_dynamap/codec/", "_dynamap/model/", "pydantic", "validate_python", "decimal"),
    ),
    ("session bookkeeping", ("_dynamap/", "heapq", "itertools", "concurrent/", "threading")),
)


def category(key: tuple[str, int, str]) -> str:
    """The category of a pstats key (file name, line, function name)."""
    filename, _, function = key
    where = function if filename == "~" else filename
    for name, needles in CATEGORIES:
        if any(needle in where for needle in needles):
            return name
    return "other (GC, interpreter, builtins)"


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per category.

    A built-in (len, dict.get, str.isascii...) that no category names counts for its
    callers, in proportion to the time each spent in it.
    """
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for key, (_, _, tottime, _, callers) in raw.items():
        name = category(key)
        shares = [(category(caller), c[2]) for caller, c in callers.items()]
        spent = sum(share for _, share in shares)
        if key[0] != "~" or not name.startswith("other") or not spent:
            totals[name] = totals.get(name, 0.0) + tottime
            continue
        for caller_name, share in shares:
            totals[caller_name] = totals.get(caller_name, 0.0) + tottime * share / spent
    return totals


def print_breakdown(title: str, totals: dict[str, float], items: int) -> None:
    """One line per category: µs per item under the profiler and share of the total."""
    whole = sum(totals.values()) or 1.0
    print(f"\n{title}")
    print(f"{'':<36} {'µs/item':>8} {'share':>6}")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{name:<36} {seconds / items * 1e6:>8.1f} {seconds / whole:>6.0%}")
