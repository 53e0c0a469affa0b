"""The pager: reads the next page of each stream of a query or scan, with retries. Pure code.

A query has one stream; a parallel scan one per segment. A `Pager` plans one round,
the next page of each stream given to it, for a driver to send (concurrently over
its pool for a parallel scan). A throttled or failed page is sent again, with the
same `ExclusiveStartKey`, under the session's `RetryPolicy`; what a page could not be
read for is kept in `failed`, and the caller turns it into an error with a cursor.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from _dynamap.core.retry import RetryPolicy, is_retryable
from _dynamap.errors import TransportError

__all__ = ["PageRequest", "Pager", "PagerStats", "RawPage"]

log = logging.getLogger("dynamap")

ReadOperation = Literal["Query", "Scan"]


@dataclass(eq=False)
class PageRequest:
    """One Query or Scan call for the next page of stream `stream`."""

    operation: ReadOperation
    params: dict[str, Any]
    stream: int
    attempts: int = 0
    settled: bool = False


@dataclass
class RawPage:
    """One page as DynamoDB answered it: items, where to go on from, and the counts."""

    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None
    count: int
    scanned: int


@dataclass
class PagerStats:
    """What the pages read cost: requests (retries included), retries, capacity by table."""

    requests: int = 0
    retries: int = 0
    capacity: dict[str, float] = field(default_factory=dict[str, float])


class Pager:
    """Reads one page of each stream it is given; see the module docstring."""

    def __init__(
        self,
        requests: Iterable[PageRequest],
        *,
        policy: RetryPolicy,
        rng: random.Random,
        start: float,
    ) -> None:
        self.policy = policy
        self.rng = rng
        self.deadline = start + policy.deadline
        self.stats = PagerStats()
        self.pages: dict[int, RawPage] = {}
        # Why a stream's page was not read: the last error (out of attempts or time,
        # rejected, abandoned in flight, or never sent because the round was stopped).
        self.failed: dict[int, TransportError] = {}
        self.fatal: TransportError | None = None
        self.stopped = False
        self._seq = itertools.count()
        self._queue: list[tuple[float, int, PageRequest]] = []
        for request in requests:
            self._push(request, 0.0)
        self._in_flight = 0

    def _push(self, request: PageRequest, ready_at: float) -> None:
        heapq.heappush(self._queue, (ready_at, next(self._seq), request))

    # -- planning ---------------------------------------------------------------------------

    def next_request(self, now: float) -> PageRequest | None:
        """The next page request ready at `now`, or None."""
        if self.fatal is not None or self.stopped or not self._queue:
            return None
        if now >= self.deadline:
            for _, _, request in self._queue:
                self.failed.setdefault(
                    request.stream, TransportError("DeadlineExceeded", "the retry deadline passed")
                )
            self._queue.clear()
            return None
        if self._queue[0][0] > now:
            return None
        request = heapq.heappop(self._queue)[2]
        request.attempts += 1
        if request.attempts > 1:
            self.stats.retries += 1
        self.stats.requests += 1
        self._in_flight += 1
        return request

    def next_wakeup(self) -> float | None:
        """When the next retry is due; None if none is waiting."""
        if self.fatal is not None or self.stopped or not self._queue:
            return None
        return self._queue[0][0]

    @property
    def idle(self) -> bool:
        """True when nothing is in flight and nothing more will be sent."""
        return self._in_flight == 0 and self.next_wakeup() is None

    # -- answers ----------------------------------------------------------------------------

    def _settle(self, request: PageRequest) -> bool:
        if request.settled:
            return False
        request.settled = True
        self._in_flight -= 1
        return True

    def on_response(self, request: PageRequest, response: dict[str, Any], now: float) -> None:
        """Keep the page read."""
        if not self._settle(request):
            return
        capacity: dict[str, Any] = response.get("ConsumedCapacity") or {}
        if capacity:
            table = str(capacity.get("TableName", "?"))
            units = float(capacity.get("CapacityUnits", 0.0))
            self.stats.capacity[table] = self.stats.capacity.get(table, 0.0) + units
        self.pages[request.stream] = RawPage(
            list(response.get("Items") or ()),
            response.get("LastEvaluatedKey") or None,
            int(response.get("Count", 0)),
            int(response.get("ScannedCount", 0)),
        )

    def on_error(self, request: PageRequest, error: TransportError, now: float) -> None:
        """Retry the page (same start key) if the error allows it; else stop the round."""
        if not self._settle(request):
            return
        if is_retryable(error.code, error.status):
            delay = self.policy.delay(request.attempts, self.rng)
            if request.attempts >= self.policy.max_attempts or now + delay >= self.deadline:
                self.failed[request.stream] = error
                return
            log.debug("%s failed with %s; retrying the page", request.operation, error.code)
            again = PageRequest(request.operation, request.params, request.stream)
            again.attempts = request.attempts
            self._push(again, now + delay)
            return
        log.debug("%s failed with %s; stopping", request.operation, error.code)
        self.failed[request.stream] = error
        if self.fatal is None:
            self.fatal = error

    def abandon(self, request: PageRequest) -> None:
        """No answer came in time: the page was not read."""
        if self._settle(request):
            self.failed[request.stream] = TransportError(
                TransportError.NO_ANSWER, "no answer in time"
            )

    def withdraw(self, request: PageRequest) -> None:
        """The request was never sent."""
        if self._settle(request):
            self.failed[request.stream] = TransportError(TransportError.NOT_SENT, "not sent")

    def stop(self) -> None:
        """Send nothing more (the read is interrupted)."""
        self.stopped = True
