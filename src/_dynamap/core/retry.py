"""Retry policy: what is retryable, and exponential backoff with full jitter. Pure code."""

from __future__ import annotations

import random
from dataclasses import dataclass

from _dynamap.errors import TransportError

__all__ = ["CLIENT_FAILURE", "RetryPolicy", "is_retryable", "outcome_unknown"]

# The code a driver gives any other exception raised by a transport.
CLIENT_FAILURE = "ClientError"

# Errors that mean "try again later" rather than "this request is wrong".
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        TransportError.NOT_SENT,
        TransportError.NO_ANSWER,
    }
)
# Failures after which a write may or may not have been applied: the request went out and
# no answer says what happened. A server error may come after a partial application.
_UNKNOWN_OUTCOME = frozenset(
    {
        TransportError.NO_ANSWER,
        CLIENT_FAILURE,
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)


def is_retryable(code: str, status: int | None) -> bool:
    """True for throttling, server-side and connection errors; False for e.g. validation."""
    return code in _RETRYABLE_CODES or (status is not None and status >= 500)


def outcome_unknown(code: str, status: int | None) -> bool:
    """True when a write that failed so may nonetheless have been applied."""
    return code in _UNKNOWN_OUTCOME or (status is not None and status >= 500)


@dataclass(frozen=True)
class RetryPolicy:
    """The retry budget for unprocessed keys and items, and for throttled requests.

    Each key or item gets at most `max_attempts` sends. Between them it waits a
    random time between 0 and `min(max_delay, base_delay * 2**retry)` (full
    jitter). No request is sent after `deadline` seconds from the flush start, and
    no retry is planned past it; requests in flight then are waited for at most one
    request timeout of the transport.

    Args:
        max_attempts: sends per key, item or request, the first one included.
        base_delay: the ceiling of the first retry's random wait, in seconds.
        max_delay: the largest ceiling of any wait, in seconds.
        deadline: seconds from the flush start after which nothing more is sent.
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
        """The wait before retry number `retry` (1 for the first retry).

        Args:
            retry: which retry this is, 1 for the first.
            rng: the source of the jitter.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return rng.uniform(0.0, ceiling)
