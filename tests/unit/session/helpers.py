"""Shared by the session unit tests: an in-memory DynamoDB, a session on a fake clock."""

from __future__ import annotations

import random
from typing import Annotated, Any

from dynamap import Model, PartitionKey, Session, SortKey
from tests.support.fake import FakeClock, FakeDynamo
from tests.support.models import User


class UserName(Model, table="users"):
    """A view: same table as `User`, fewer attributes."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str


def make(seed: int = 0) -> FakeDynamo:
    """An empty in-memory DynamoDB with the tables the session tests use."""
    return FakeDynamo({"users": ("pk", "sk"), "orders": ("pk",), "readings": ("pk",)}, seed=seed)


def session(fake: FakeDynamo, **kwargs: Any) -> Session:
    """A session over `fake` that never really sleeps, one request at a time by default."""
    clock = FakeClock()
    kwargs.setdefault("concurrency", 1)
    return Session(transport=fake, clock=clock, sleep=clock.sleep, rng=random.Random(3), **kwargs)


def seed_users(fake: FakeDynamo, n: int) -> None:
    """Store users u0..u{n-1} (sort key "p", name "name{i}")."""
    with session(fake) as s:
        for i in range(n):
            s.put(User(pk=f"u{i}", sk="p", name=f"name{i}"))
