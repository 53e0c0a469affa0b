"""The exception hierarchy. Every error dynamap raises derives from `DynamapError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
        super().__init__(message)
        self.size: int = size
        self.limit: int = limit


class InvalidKeyError(DynamapError, ValueError):
    """Key values passed to a call are missing, surplus or of the wrong type."""


class FlushError(DynamapError):
    """A flush could not finish; `unprocessed` holds everything that was not done.

    Everything not listed in `unprocessed` was processed, and read results stay
    available through `Deferred.result()`.
    """

    def __init__(self, message: str, *, unprocessed: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.unprocessed: list[Any] = list(unprocessed)
        self.report: Any = None  # the FlushReport of what was done, set by the session


class UnprocessedError(FlushError):
    """The retry budget ran out with keys or items still unprocessed."""


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
    ) -> None:
        super().__init__(message, unprocessed=unprocessed)
        self.operation: str = operation
        self.tables: list[str] = list(tables)
        self.code: str = code


class TableNotFoundError(RequestRejectedError):
    """A table named in a request does not exist (ResourceNotFoundException)."""


class TransportError(Exception):
    """A failed call, reduced to what retry decisions need: error code and HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code: str = code
        self.message: str = message
        self.status: int | None = status
