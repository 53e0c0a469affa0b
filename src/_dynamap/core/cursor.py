"""Cursors: where a query or scan resumes, as a url-safe token for an API. Pure code.

A cursor names the table, the index, the partition (for a query) and the segments (for
a scan) it belongs to, and the key to resume after on each stream. Tokens are plain
JSON in url-safe base64: no pickling, and every field is validated on decode. They
are not signed: treat a token from a client as untrusted input (it is checked, and can
only move the read within the same table, index and partition).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal, Union, cast

from _dynamap.errors import DynamapError, InvalidCursorError

__all__ = ["DONE", "Cursor", "Position", "QueryError", "Stream"]

DONE: Literal["done"] = "done"
# Where a stream resumes: None (from the start), the key to resume after, or DONE.
Position = Union[dict[str, dict[str, Any]], None, Literal["done"]]  # noqa: UP007
# A stream: None (a query, or a whole scan), or (segment, total segments) of a scan.
Stream = Union[tuple[int, int], None]  # noqa: UP007

_VERSION = 1
_MAX_TOKEN = 64 * 1024  # far above any real key: 2 KB + 1 KB per key, 1,000,000 segments aside


@dataclass(frozen=True)
class Cursor:
    """Where a query or scan resumes: `page.cursor`, `Cursor.decode(token)`.

    Args:
        table: the table read (with the session's table prefix).
        index: the index read, or None for the table.
        scope: a query's partition key as `{attribute: AttributeValue}`; None for a scan.
        streams: the streams read: `(None,)` for a query or a whole scan, else one
            `(segment, total_segments)` per scan segment.
        positions: per stream, the key to resume after, None to start, or "done".
    """

    table: str
    index: str | None
    scope: dict[str, dict[str, Any]] | None
    streams: tuple[Stream, ...]
    positions: tuple[Position, ...]

    def __post_init__(self) -> None:
        if len(self.streams) != len(self.positions) or not self.streams:
            raise InvalidCursorError("a cursor needs one position per stream")

    @property
    def finished(self) -> bool:
        """True when every stream has been read to its end."""
        return all(p == DONE for p in self.positions)

    def encode(self) -> str:
        """This cursor as a url-safe token (ASCII letters, digits, '-' and '_')."""
        doc = {
            "v": _VERSION,
            "t": self.table,
            "i": self.index,
            "p": None if self.scope is None else _key_out(self.scope),
            "s": [None if s is None else list(s) for s in self.streams],
            "k": [p if p is None or p == DONE else _key_out(p) for p in self.positions],
        }
        raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a token made by `encode`, checking every field.

        Raises InvalidCursorError for anything malformed; whether the cursor belongs to
        a given query is checked when it is used (`query.page(after=cursor)`).

        Args:
            token: the string `encode` returned.
        """
        if not token or len(token) > _MAX_TOKEN:
            raise InvalidCursorError("a cursor token is a non-empty string of at most 64 KB")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc: Any = json.loads(raw)
        except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
            # RecursionError: JSON nested deeper than the decoder recurses (a hostile token).
            raise InvalidCursorError("not a dynamap cursor token") from None
        fields = _as_dict(doc)
        if fields is None or fields.get("v") != _VERSION:
            raise InvalidCursorError("not a dynamap cursor token (or of another version)")
        table, index, scope = fields.get("t"), fields.get("i"), fields.get("p")
        streams, keys = _as_list(fields.get("s")), _as_list(fields.get("k"))
        if not isinstance(table, str) or not (index is None or isinstance(index, str)):
            raise InvalidCursorError("a cursor token names its table and index")
        if streams is None or keys is None:
            raise InvalidCursorError("a cursor token lists its streams and positions")
        return cls(
            table,
            index,
            None if scope is None else _key_in(scope),
            tuple(_stream_in(s) for s in streams),
            tuple(_position_in(k) for k in keys),
        )


class QueryError(DynamapError):
    """A query or scan could not read a page: rejected, or out of attempts or time.

    Nothing is lost: `cursor` resumes the read at the first item not returned
    (`query.page(after=error.cursor)`), from the start if nothing was handed out.
    """

    def __init__(self, message: str, *, code: str, cursor: Cursor | None) -> None:
        """Create the error.

        Args:
            message: what happened.
            code: DynamoDB's error code, or why the retries stopped.
            cursor: where to resume.
        """
        super().__init__(message)
        self.code: str = code
        self.cursor: Cursor | None = cursor


def _key_out(key: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for attr, av in key.items():
        ((tag, value),) = av.items()
        text = base64.b64encode(value).decode("ascii") if tag == "B" else value
        out[attr] = {tag: text}
    return out


def _as_dict(raw: Any) -> dict[Any, Any] | None:
    return cast("dict[Any, Any]", raw) if isinstance(raw, dict) else None  # type: ignore[redundant-cast]


def _as_list(raw: Any) -> list[Any] | None:
    return cast("list[Any]", raw) if isinstance(raw, list) else None  # type: ignore[redundant-cast]


def _key_in(raw: object) -> dict[str, dict[str, Any]]:
    pairs = _as_dict(raw)
    if not pairs or len(pairs) > 4:
        raise InvalidCursorError("a cursor key holds one to four key attributes")
    key: dict[str, dict[str, Any]] = {}
    for attr, value in pairs.items():
        av = _as_dict(value)
        if not isinstance(attr, str) or not attr or av is None or len(av) != 1:
            raise InvalidCursorError("a cursor key maps attribute names to one typed value each")
        ((tag, text),) = av.items()
        if tag not in ("S", "N", "B") or not isinstance(text, str) or not text:
            raise InvalidCursorError("cursor key values are non-empty S, N or B values")
        if tag == "B":
            try:
                key[attr] = {"B": base64.b64decode(text, validate=True)}
            except binascii.Error:
                raise InvalidCursorError("a cursor's binary key value is not base64") from None
        else:
            key[attr] = {tag: text}
    return key


def _stream_in(raw: object) -> Stream:
    if raw is None:
        return None
    pair = _as_list(raw)
    if pair is not None and len(pair) == 2 and all(type(n) is int for n in pair):
        segment, total = cast("tuple[int, int]", tuple(pair))
        if 0 <= segment < total <= 1_000_000:
            return (segment, total)
    raise InvalidCursorError("a cursor's scan segment is out of range")


def _position_in(raw: object) -> Position:
    if raw is None or raw == DONE:
        return None if raw is None else DONE
    return _key_in(raw)
