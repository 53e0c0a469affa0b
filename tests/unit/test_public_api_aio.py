"""The public surface of `dynamap.aio` is curated too (see test_public_api.py)."""

from __future__ import annotations

import dynamap.aio

PINNED = [
    "AioFastTransport",
    "AiobotocoreTransport",
    "AsyncDeferred",
    "AsyncQuery",
    "AsyncReadTransaction",
    "AsyncScan",
    "AsyncSession",
    "AsyncTransaction",
    "AsyncTransport",
]


def test_all_is_pinned_and_documented():
    assert sorted(dynamap.aio.__all__) == sorted(PINNED)
    for name in dynamap.aio.__all__:
        assert getattr(dynamap.aio, name).__doc__, f"{name} has no docstring"
