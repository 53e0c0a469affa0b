"""The transaction engine: one TransactWriteItems or TransactGetItems, and its retries.

A transaction is never split: the engine sends one request, again and again if need
be, until it is answered, cancelled for good, rejected, or out of attempts or time.
A write transaction carries a `ClientRequestToken` chosen by the caller and reused on
every attempt: DynamoDB applies a token's transaction at most once within ten minutes
and answers a resend as the first attempt was answered, so a resend after a dropped
connection or a 5xx cannot apply the writes twice. Past that window a resend of an
attempt that may have been applied is not made: the outcome is reported as unknown.

Pure code with no I/O, like the flush engine: a driver asks `next_request(now)`,
sends, and reports back.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from _dynamap.core.retry import RetryPolicy, is_retryable, outcome_unknown
from _dynamap.errors import FlushError, TransportError
from _dynamap.model.model import Model

__all__ = [
    "CANCELED",
    "IDEMPOTENCY_WINDOW",
    "IN_PROGRESS",
    "MAX_ACTIONS",
    "MAX_TRANSACTION_BYTES",
    "CancellationReason",
    "TransactEngine",
    "TransactRequest",
    "TransactionCanceledError",
    "retryable_cancellation",
]

log = logging.getLogger("dynamap")

MAX_ACTIONS = 100  # actions per TransactWriteItems, keys per TransactGetItems
# What DynamoDB Local 3.3.1 measures against the 4 MB limit: the sum of the item sizes
# (as counted for the 400 KB limit), refused above 4 MiB ("Transaction payload size").
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
# A token's transaction is applied at most once within this many seconds of its first use.
IDEMPOTENCY_WINDOW = 600.0
# No resend this close to the window's end: it might land after it.
_RESEND_WINDOW = IDEMPOTENCY_WINDOW - 30.0

CANCELED = "TransactionCanceledException"
IN_PROGRESS = "TransactionInProgressException"
# Cancellation reasons that say "try again": another transaction held an item, or the
# table was throttled. "None" marks the actions that did not fail.
_TRANSIENT_REASONS = frozenset(
    {
        "None",
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "ThrottlingException",
    }
)

M = TypeVar("M", bound=Model)
N = TypeVar("N", bound=Model)
Outcome = Literal["pending", "done", "cancelled", "rejected", "not_done", "unknown"]


def retryable_cancellation(reasons: Sequence[dict[str, Any]]) -> bool:
    """True when every reason is a conflict, throttling or "None" (and some action failed)."""
    codes = [str(r.get("Code", "None")) for r in reasons]
    return bool(codes) and all(c in _TRANSIENT_REASONS for c in codes)


@dataclass(frozen=True)
class CancellationReason(Generic[M]):
    """Why one action of a cancelled transaction was refused, or "None" if it was not.

    `code` is DynamoDB's cancellation code ("None", "ConditionalCheckFailed",
    "TransactionConflict", "ValidationError"...), `message` its message. `current` is
    the item as stored when the transaction was cancelled, decoded into the action's
    model (DynamoDB returns it for an action whose condition failed); `stored` is that
    item in DynamoDB's wire format. `instance` is the instance written (None for a
    check, or a write by key).

    Args:
        operation: "put", "update", "delete" or "check" ("get" in a read transaction).
        table: the table name, prefix included.
        key: the primary key, as DynamoDB's AttributeValues.
        code: DynamoDB's cancellation code for this action.
        message: DynamoDB's message for it ("" if none).
        instance: the model instance the action writes, if there is one.
        current: the stored item, decoded into the action's model.
        stored: the stored item, in DynamoDB's wire format.
        model: the action's model class.
    """

    operation: Literal["put", "update", "delete", "check", "get"]
    table: str
    key: dict[str, Any]
    code: str
    message: str = ""
    instance: M | None = None
    current: M | None = None
    stored: dict[str, Any] | None = None
    model: type[M] | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        """True for an action that caused the cancellation (its code is not "None")."""
        return self.code != "None"

    def current_as(self, model: type[N], /) -> N | None:
        """`current` if it is an instance of `model`, else None.

        Args:
            model: the model class the caller expects (the action's own).
        """
        return self.current if isinstance(self.current, model) else None


class TransactionCanceledError(FlushError):
    """DynamoDB cancelled a transaction: none of its actions was applied.

    `reasons` has one CancellationReason per action, in the order the actions were
    added: the failed ones say why (`code`, `message`, and `current`, the stored item
    decoded); the others have code "None". `failed` lists those that caused it. A
    stale versioned write's reason says "ConditionalCheckFailed". Nothing is handed
    back for `resend`: the session is as it was before the transaction.
    """

    def __init__(self, message: str, *, reasons: Sequence[CancellationReason[Model]]) -> None:
        """Create the error.

        Args:
            message: what happened.
            reasons: one entry per action, in order.
        """
        super().__init__(message)
        self.reasons: list[CancellationReason[Model]] = list(reasons)

    @property
    def failed(self) -> list[CancellationReason[Model]]:
        """The reasons of the actions that caused the cancellation."""
        return [reason for reason in self.reasons if reason.failed]


@dataclass(eq=False)
class TransactRequest:
    """One attempt at the transaction (every attempt has the same parameters)."""

    operation: Literal["TransactWriteItems", "TransactGetItems"]
    params: dict[str, Any]
    settled: bool = False


@dataclass
class TransactStats:
    """What the transaction cost, for the report."""

    requests: int = 0
    retries: int = 0
    capacity: dict[str, float] = field(default_factory=dict[str, float])


class TransactEngine:
    """Sends one transaction until it has an outcome; see the module notes.

    `outcome` ends as "done" (`response` holds the answer), "cancelled" (`reasons`
    holds DynamoDB's CancellationReasons), "rejected" (`error` is the final error),
    "not_done" (certainly not applied: out of attempts or time, or never sent) or
    "unknown" (an attempt may have been applied and no later answer says whether).
    """

    def __init__(
        self,
        operation: Literal["TransactWriteItems", "TransactGetItems"],
        items: list[dict[str, Any]],
        *,
        token: str | None = None,
        policy: RetryPolicy,
        rng: random.Random,
        start: float,
    ) -> None:
        params: dict[str, Any] = {"TransactItems": items, "ReturnConsumedCapacity": "TOTAL"}
        if token is not None:
            params["ClientRequestToken"] = token
        self.operation: Literal["TransactWriteItems", "TransactGetItems"] = operation
        self.params = params
        self.writes = operation == "TransactWriteItems"
        self.policy = policy
        self.rng = rng
        self.deadline = start + policy.deadline
        self.stats = TransactStats()
        self.attempts = 0
        self.first_sent: float | None = None
        self.maybe_applied = False  # an attempt went out and no answer said what happened
        self.response: dict[str, Any] | None = None
        self.reasons: list[dict[str, Any]] | None = None
        self.error: TransportError | None = None  # the last error met
        self.why = ""  # why it ended without an answer: attempts, deadline, no answer...
        self._final: Outcome | None = None
        self._ready_at: float | None = 0.0  # when the next attempt may go; None: none will
        self._in_flight = False
        self._stopped = False

    @property
    def outcome(self) -> Outcome:
        """What became of the transaction; "pending" while it may still be sent."""
        if self._final is not None:
            return self._final
        if self._in_flight or (self._ready_at is not None and not self._stopped):
            return "pending"
        return "unknown" if self.maybe_applied else "not_done"

    def next_request(self, now: float) -> TransactRequest | None:
        """The attempt to send at time `now`, or None (waiting, in flight, or finished)."""
        if self._in_flight or self._stopped or self._ready_at is None:
            return None
        if now >= self.deadline:
            self._give_up(f"the {self.policy.deadline:g}s deadline passed")
            return None
        if self._ready_at > now:
            return None
        first = self.first_sent
        if self.maybe_applied and first is not None and now - first >= _RESEND_WINDOW:
            self._give_up("its token's idempotency window was about to close")
            return None
        self._ready_at = None
        self._in_flight = True
        self.attempts += 1
        if self.first_sent is None:
            self.first_sent = now
        if self.attempts > 1:
            self.stats.retries += 1
        self.stats.requests += 1
        log.debug("%s: %d actions, attempt %d", self.operation, len(self.items), self.attempts)
        return TransactRequest(self.operation, self.params)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The actions (TransactItems), in order."""
        items: list[dict[str, Any]] = self.params["TransactItems"]
        return items

    def next_wakeup(self) -> float | None:
        """When the next attempt may go; None if none is waiting."""
        if self._stopped or self._in_flight:
            return None
        return self._ready_at

    def on_response(self, request: TransactRequest, response: dict[str, Any], now: float) -> None:
        """The transaction was applied (or read): keep the answer."""
        if request.settled:
            return
        request.settled = True
        self._in_flight = False
        capacity: list[dict[str, Any]] = response.get("ConsumedCapacity") or []
        for cap in capacity:
            table = cap.get("TableName", "?")
            self.stats.capacity[table] = self.stats.capacity.get(table, 0.0) + float(
                cap.get("CapacityUnits", 0.0)
            )
        self.response = response
        self._final = "done"

    def on_error(self, request: TransactRequest, error: TransportError, now: float) -> None:
        """Retry a transient failure; a cancellation for any other reason is final."""
        if request.settled:
            return
        request.settled = True
        self._in_flight = False
        self.error = error
        if self.writes and outcome_unknown(error.code, error.status):
            self.maybe_applied = True
        if error.code == CANCELED:
            reasons: list[dict[str, Any]] = list(error.details.get("CancellationReasons") or [])
            if not retryable_cancellation(reasons):
                # With the token, a cancellation also says no earlier attempt was applied.
                self.reasons = reasons
                self.maybe_applied = False
                self._final = "cancelled"
                return
        elif not (error.code == IN_PROGRESS or is_retryable(error.code, error.status)):
            log.debug("%s failed with %s: final", self.operation, error.code)
            self._final = "unknown" if self.maybe_applied else "rejected"
            if self.maybe_applied:
                self.why = f"a later attempt was rejected ({error.code})"
            return
        self._retry(now, error.code)

    def abandon(self, request: TransactRequest) -> None:
        """No answer came in time: the attempt may or may not have been applied."""
        if request.settled:
            return
        request.settled = True
        self._in_flight = False
        self.maybe_applied = self.maybe_applied or self.writes
        self._give_up("its request was still in flight when the session stopped waiting")

    def withdraw(self, request: TransactRequest) -> None:
        """The attempt was never sent."""
        if request.settled:
            return
        request.settled = True
        self._in_flight = False
        self.attempts -= 1
        self._give_up("it was never sent")

    def refuse(self, why: str) -> None:
        """Send nothing at all: the transaction ends not done, for the reason `why`."""
        self._stopped = True
        self._ready_at = None
        self.why = why

    def stop(self) -> None:
        """Send nothing more (interrupted); an answer in flight still counts."""
        self._stopped = True
        if not self.why:
            self.why = "the session was interrupted"

    def _retry(self, now: float, code: str) -> None:
        delay = self.policy.delay(self.attempts, self.rng)
        if self.attempts >= self.policy.max_attempts:
            self._give_up(f"it used all {self.policy.max_attempts} attempts (last error: {code})")
        elif now + delay >= self.deadline:
            self._give_up(
                f"the {self.policy.deadline:g}s deadline passed after {self.attempts} "
                f"attempt(s) (last error: {code})"
            )
        else:
            log.debug("%s failed with %s; retrying", self.operation, code)
            self._ready_at = now + delay

    def _give_up(self, why: str) -> None:
        self._ready_at = None
        self.why = why
