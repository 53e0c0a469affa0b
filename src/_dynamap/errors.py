"""The exception hierarchy. Every error dynamap raises derives from `DynamapError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = [
    "DynamapError",
    "ModelDefinitionError",
    "DecodeError",
    "EncodeError",
    "ItemTooLargeError",
    "InvalidKeyError",
    "FlushError",
    "ConditionFailedError",
    "StaleDataError",
    "UnprocessedError",
    "RequestRejectedError",
    "TableNotFoundError",
    "TransportError",
    "InvalidCursorError",
]


class DynamapError(Exception):
    """Base class of every error raised by dynamap."""


class ModelDefinitionError(DynamapError, TypeError):
    """A model class is declared wrongly (keys, indexes, unsupported field types)."""


class EncodeError(DynamapError, ValueError):
    """A value cannot be written to DynamoDB (NaN, out-of-range number, wrong type...).

    When dynamap knows which value, `path` names it (`"Movie.ranks[3]"`) and `key`
    the key of its item (`"pk='m#1', sk='x'"`); otherwise they are empty.
    """

    path: str = ""
    key: str = ""


class DecodeError(DynamapError, ValueError):
    """An item read from DynamoDB does not validate as the model it was read into."""


class ItemTooLargeError(EncodeError):
    """An item is larger than DynamoDB's 400 KB item limit."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        """Create the error.

        Args:
            message: what is too large.
            size: the item's size in bytes, as DynamoDB counts it.
            limit: the limit it exceeds.
        """
        super().__init__(message)
        self.size: int = size
        self.limit: int = limit


class InvalidKeyError(DynamapError, ValueError):
    """Key values passed to a call are missing, surplus or of the wrong type."""


class _Writes(Protocol):
    """What `FlushError.resend` needs of a session."""

    def put(self, instance: Any, /, *, condition: Any = None) -> None: ...

    def delete(self, instance: Any, /, *, condition: Any = None) -> None: ...

    def update(self, instance: Any, update: Any, /, *, condition: Any = None) -> Any: ...

    def _retrack(self, instance: Any, baseline: Any, /) -> None: ...


class FlushError(DynamapError):
    """A flush could not finish everything; it hands back what it did not do.

    `unprocessed` lists the gets and writes that were certainly not done; `unknown`
    lists the writes whose outcome is unknown (sent, but no answer came back, so
    DynamoDB may or may not have applied them); `failures` lists the conditional
    writes DynamoDB refused because their condition was false (ConditionFailure:
    operation, table, key, instance, current). Everything in none of the lists was
    done, and read results stay available through `Deferred.result()`. `report` is
    the FlushReport of the flush. The session no longer tracks the keys of the writes
    handed back: `resend(session)` queues the not-done ones again.
    """

    def __init__(
        self,
        message: str,
        *,
        unprocessed: Sequence[Any] = (),
        unknown: Sequence[Any] = (),
        failures: Sequence[Any] = (),
    ) -> None:
        """Create the error.

        Args:
            message: what happened.
            unprocessed: the gets and writes certainly not done (`Unprocessed` entries).
            unknown: the writes of unknown outcome (`Unprocessed` entries).
        """
        super().__init__(message)
        self.unprocessed: list[Any] = list(unprocessed)
        self.unknown: list[Any] = list(unknown)
        self.failures: list[Any] = list(failures)
        self.report: Any = None  # the FlushReport of what was done, set by the session

    def resend(self, session: _Writes) -> int:
        """Queue the writes not done, and the plain writes of unknown outcome, again.

        A write in `unprocessed` was certainly not applied: it is queued again as it
        was (its condition and update actions included). Of the writes in `unknown`,
        only plain puts and deletes are queued again (they are idempotent, so resending
        one that was in fact applied is harmless); a conditional, versioned or update
        write of unknown outcome is not (an increment could count twice, a create-only
        put would fail against its own first attempt): read the item and decide.
        Writes by key alone (`update_key`, `delete_key`) have no instance and are not
        resent. Writes go with the next flush, each with its instance's state at that
        flush. Gets and condition failures are not resent. Returns how many writes.

        Args:
            session: the session to queue the writes on (usually the one that failed).
        """
        count = 0
        blind = [u for u in self.unknown if getattr(u, "resendable", True)]
        for undone in (*self.unprocessed, *blind):
            instance = undone.instance
            condition = getattr(undone, "condition", None)
            if instance is None or undone.operation == "get":
                continue
            baseline = getattr(undone, "baseline", None)
            if baseline is not None:  # a write-back: of the instance as it is at that flush
                session._retrack(instance, baseline)  # pyright: ignore[reportPrivateUsage]
            elif undone.operation == "put":
                session.put(instance, condition=condition)
            elif undone.operation == "delete":  # by the key it was made for
                again = getattr(undone, "resend_as", None)
                session.delete(instance if again is None else again, condition=condition)
            else:
                session.update(instance, undone.update, condition=condition)
            count += 1
        return count


class ConditionFailedError(FlushError):
    """A conditional write's condition was false (ConditionalCheckFailed): not applied.

    `failures` lists each such write with `current`, the item as stored when it
    failed, decoded into the write's model (None if there is no item, or if it does
    not decode). It is never retried. Every other write of the flush was sent as
    usual; `unprocessed` and `unknown` list what else was not done.
    """


class StaleDataError(ConditionFailedError):
    """A versioned write met another version than the one it was loaded with.

    Raised instead of ConditionFailedError when every failed write was versioned and
    the stored item's version (or its absence) differs from the expected one:
    another writer got there first. `current` of each failure shows the stored item.
    """


class UnprocessedError(FlushError):
    """Keys or items were left when the attempts or the deadline ran out, or got no answer."""


class RequestRejectedError(FlushError):
    """DynamoDB rejected a request in a way retrying cannot fix (e.g. ValidationException)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        tables: Sequence[str],
        code: str,
        unprocessed: Sequence[Any] = (),
        unknown: Sequence[Any] = (),
        failures: Sequence[Any] = (),
    ) -> None:
        """Create the error.

        Args:
            message: what happened.
            operation: the DynamoDB operation that was rejected.
            tables: the tables the request touched.
            code: DynamoDB's error code.
            unprocessed: the gets and writes certainly not done.
            unknown: the writes of unknown outcome.
            failures: the writes whose condition was false.
        """
        super().__init__(message, unprocessed=unprocessed, unknown=unknown, failures=failures)
        self.operation: str = operation
        self.tables: list[str] = list(tables)
        self.code: str = code


class TableNotFoundError(RequestRejectedError):
    """A table named in a request does not exist (ResourceNotFoundException)."""


class InvalidCursorError(DynamapError, ValueError):
    """A cursor token is malformed, or belongs to another table, index, partition or scan."""


class TransportError(Exception):
    """A failed call, reduced to what retry decisions need: error code and HTTP status.

    Transports use the service's error code (e.g. "ThrottlingException") with its
    HTTP status, or one of these for failures without an answer:
    `TransportError.NOT_SENT` ("ConnectionError"): the request never left (no
    connection could be made), so it was certainly not applied;
    `TransportError.NO_ANSWER` ("ResponseLost"): the request was sent but no usable
    answer came back (timeout, connection closed, unreadable answer), so a write may
    have been applied. Any other exception a transport raises counts as the latter.
    """

    NOT_SENT = "ConnectionError"
    NO_ANSWER = "ResponseLost"

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the error.

        Args:
            code: the service's error code, or NOT_SENT / NO_ANSWER.
            message: the service's message.
            status: the HTTP status, when an answer came back.
            details: what else botocore parsed of the error (`Item`, `CancellationReasons`).
        """
        super().__init__(f"{code}: {message}")
        self.code: str = code
        self.message: str = message
        self.status: int | None = status
        # What else the service answered, as parsed: `Item` (the stored item of a failed
        # condition with ALL_OLD), `CancellationReasons` (a cancelled transaction).
        self.details: Mapping[str, Any] = dict(details or {})
