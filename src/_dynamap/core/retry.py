"""Retry policy: what is retryable, and exponential backoff with full jitter. Pure code."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy", "is_retryable"]

# Errors that mean "try again later" rather than "this request is wrong".
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ConnectionError",
    }
)


def is_retryable(code: str, status: int | None) -> bool:
    """True for throttling, server-side and connection errors; False for e.g. validation."""
    return code in _RETRYABLE_CODES or (status is not None and status >= 500)


@dataclass(frozen=True)
class RetryPolicy:
    """The retry budget for unprocessed keys and items, and for throttled requests.

    Each key or item gets at most `max_attempts` sends. Between them it waits a
    random time between 0 and `min(max_delay, base_delay * 2**retry)` (full
    jitter). Nothing is retried after `deadline` seconds from the flush start.
    """

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0
    deadline: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.deadline <= 0:
            raise ValueError("delays must be non-negative and the deadline positive")

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return rng.uniform(0.0, ceiling)
