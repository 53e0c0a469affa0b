"""The exception hierarchy. Every error dynamap raises derives from `DynamapError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = [
    "DynamapError",
    "ModelDefinitionError",
    "DecodeError",
    "EncodeError",
    "ItemTooLargeError",
    "InvalidKeyError",
    "FlushError",
    "UnprocessedError",
    "RequestRejectedError",
    "TableNotFoundError",
    "TransportError",
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

    def put(self, instance: Any, /) -> None: ...

    def delete(self, instance: Any, /) -> None: ...


class FlushError(DynamapError):
    """A flush could not finish everything; it hands back what it did not do.

    `unprocessed` lists the gets and writes that were certainly not done; `unknown`
    lists the writes whose outcome is unknown (sent, but no answer came back, so
    DynamoDB may or may not have applied them). Everything in neither list was done,
    and read results stay available through `Deferred.result()`. `report` is the
    FlushReport of the flush. The session no longer tracks the keys of the writes
    handed back: `resend(session)` queues them again.
    """

    def __init__(
        self, message: str, *, unprocessed: Sequence[Any] = (), unknown: Sequence[Any] = ()
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
        self.report: Any = None  # the FlushReport of what was done, set by the session

    def resend(self, session: _Writes) -> int:
        """Queue every write not done or of unknown outcome on `session` again.

        Puts and deletes are idempotent, so resending one that was in fact applied is
        harmless. The writes go with the session's next flush, each with the state of
        its instance at that flush. Gets are not resent. Returns how many writes.

        Args:
            session: the session to queue the writes on (usually the one that failed).
        """
        count = 0
        for undone in (*self.unprocessed, *self.unknown):
            if undone.operation == "put":
                session.put(undone.instance)
            elif undone.operation == "delete":
                session.delete(undone.instance)
            else:
                continue
            count += 1
        return count


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
    ) -> None:
        """Create the error.

        Args:
            message: what happened.
            operation: the DynamoDB operation that was rejected.
            tables: the tables the request touched.
            code: DynamoDB's error code.
            unprocessed: the gets and writes certainly not done.
            unknown: the writes of unknown outcome.
        """
        super().__init__(message, unprocessed=unprocessed, unknown=unknown)
        self.operation: str = operation
        self.tables: list[str] = list(tables)
        self.code: str = code


class TableNotFoundError(RequestRejectedError):
    """A table named in a request does not exist (ResourceNotFoundException)."""


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

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        """Create the error.

        Args:
            code: the service's error code, or NOT_SENT / NO_ANSWER.
            message: the service's message.
            status: the HTTP status, when an answer came back.
        """
        super().__init__(f"{code}: {message}")
        self.code: str = code
        self.message: str = message
        self.status: int | None = status
