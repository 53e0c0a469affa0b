"""Shared by the benchmarks: import paths, the 20-attribute benchmark model and its data.

Importing this module puts the repository's src/ and root on sys.path, so the benchmarks
run from a plain checkout as well as from an editable install; import it before dynamap.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "src")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from dynamap import Model, PartitionKey, SortKey  # noqa: E402

# fmt: off
WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
]
# fmt: on
STATUSES = ("active", "pending", "suspended", "closed")
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


class BenchItem(Model, table="bench"):
    """A ~1 KB, 20-attribute item with a realistic mix of types."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    email: str
    description: str
    status: str
    country: str
    quantity: int
    version: int
    score: float
    ratio: float
    price: Decimal
    balance: Decimal
    active: bool
    verified: bool
    tags: set[str]
    history: list[int]
    settings: dict[str, Any]
    note: str | None = None
    created_at: dt.datetime


def make_items(count: int, seed: int = 1) -> list[BenchItem]:
    """`count` distinct items, the same for a given seed (every other one has no note)."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        words = rng.choices(WORDS, k=25)
        items.append(
            BenchItem(
                pk=f"customer#{i // 10:06d}",
                sk=f"order#{i:08d}",
                name=" ".join(rng.choices(WORDS, k=2)).title(),
                email=f"{rng.choice(WORDS)}.{i}@example.com",
                description=" ".join(words)[:110],
                status=rng.choice(STATUSES),
                country=rng.choice(("DE", "FR", "GB", "US", "JP", "BR")),
                quantity=rng.randrange(1, 1000),
                version=rng.randrange(1, 50),
                score=rng.random() * 100,
                ratio=round(rng.random(), 4),
                price=Decimal(rng.randrange(100, 1_000_000)).scaleb(-2),
                balance=Decimal(rng.randrange(-(10**9), 10**9)).scaleb(-4),
                active=rng.random() < 0.8,
                verified=rng.random() < 0.5,
                tags=set(rng.sample(WORDS, 6)),
                history=[rng.randrange(10**6) for _ in range(8)],
                settings={
                    "theme": rng.choice(("dark", "light")),
                    "language": rng.choice(("en", "de", "fr")),
                    "notifications": {"email": True, "sms": False, "push": rng.random() < 0.5},
                    "limits": {"daily": rng.randrange(10, 500), "monthly": 10_000},
                    "favourites": rng.sample(WORDS, 3),
                },
                note=None if i % 2 else " ".join(rng.choices(WORDS, k=8)),
                created_at=EPOCH + dt.timedelta(seconds=rng.randrange(10**8)),
            )
        )
    return items


def wire_json_size(item: dict[str, Any]) -> int:
    """Bytes of the item's DynamoDB JSON as it goes over the wire (compact, UTF-8)."""
    return len(json.dumps(item, separators=(",", ":"), default=str).encode())


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def write_json(path: str, results: dict[str, Any]) -> None:
    """Write `results` as indented JSON to `path`, creating its folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results written to {target}")
