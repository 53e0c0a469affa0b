"""Driving an engine straight on a sync driver until an interrupt cuts it short."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from _dynamap.core.engine import FlushEngine
from dynamap import RetryPolicy
from tests.unit.core.test_engine import key_of, put_unit


def drive_until_interrupted(
    drive: Callable[..., None], fake: Any, units: int, **options: Any
) -> FlushEngine:
    """Put `units` items into table "a" of `fake` (a PreparingFake, whose clock the
    driver uses) through `drive` (threads.drive or multiplex.drive_multiplexed), which
    must raise KeyboardInterrupt; check each unit ends written or unfinished, once.

    Args:
        drive: the driver's entry point.
        fake: the transport, set up to interrupt the flush.
        units: how many PutRequests to flush.
        **options: the driver's own arguments (concurrency, pool, ...).
    """
    fake.keys, fake.data = {"a": ("pk",)}, {"a": {}}
    writes = [put_unit("a", f"k{i}") for i in range(units)]
    engine = FlushEngine(
        writes=writes, key_of=key_of, policy=RetryPolicy(), rng=random.Random(1), start=0.0
    )
    with pytest.raises(KeyboardInterrupt):
        drive(
            engine,
            fake,
            absorb=lambda: None,
            clock=fake.clock,
            sleep=fake.clock.sleep,
            linger=5.0,
            **options,
        )
    written = [id(u) for u in engine.written]
    left = [id(u) for u in engine.unfinished()]
    assert sorted(written + left) == sorted(id(u) for u in writes)
    return engine
