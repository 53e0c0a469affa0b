"""Reading an HTTP/1.1 answer: the rules both ways of reading one share.

`ConnectionPool.post` reads an answer line by line from a blocking socket;
`Exchange` (exchange.py) feeds `AnswerReader` whatever bytes have arrived. Both take the
status line, the headers and the body's framing from here, so they accept and refuse
the same answers: interim (1xx) answers are skipped, a body is framed by chunked
encoding, Content-Length or the end of the connection, and the connection is kept
only if the answer allows it. A malformed answer raises ValueError.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["MAX_HEADERS", "MAX_LINE", "AnswerReader", "Framing", "add_header", "framing", "status"]

MAX_LINE = 65536
MAX_HEADERS = 100

# How a body ends: after `length` bytes, with the last chunk, with the connection, or
# right away (no body).
Framing = tuple[Literal["length", "chunked", "close", "none"], int]


def status(line: bytes) -> tuple[str, int]:
    """The HTTP version and status code of an answer's status line."""
    version, _, rest = line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/"):
        raise ValueError(f"not an HTTP answer: {version[:40]!r}")
    return version, int(rest.split(" ", 1)[0])


def add_header(headers: dict[str, str], line: bytes) -> None:
    """Add a header line to `headers` (lower-case names; repeats joined by commas)."""
    name, _, value = line.decode("latin-1").partition(":")
    key = name.strip().lower()
    value = value.strip()
    headers[key] = f"{headers[key]}, {value}" if key in headers else value


def framing(version: str, code: int, headers: dict[str, str]) -> tuple[Framing, bool]:
    """How the body of a final answer ends, and whether the connection may be kept."""
    keep = version != "HTTP/1.0" and "close" not in headers.get("connection", "").lower()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return ("chunked", 0), keep
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length < 0:
            raise ValueError("a negative Content-Length")
        return ("length", length), keep
    if code in (204, 304):
        return ("none", 0), keep
    return ("close", 0), False  # no length: the body runs to the end of the connection


class AnswerReader:
    """Reads one answer from the bytes fed to it, as they arrive.

    `feed(data)` returns (status, headers, body, keep) once the answer is complete,
    None while it is not; `feed(b"")` says the connection closed. Bytes after a
    complete answer mean the connection cannot be kept.
    """

    __slots__ = (
        "_body",
        "_buf",
        "_framing",
        "_headers",
        "_interim",
        "_keep",
        "_lines",
        "_pos",
        "_status",
        "_version",
    )

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # where parsing goes on
        self._version = ""
        self._status = -1  # -1: no status line yet
        self._headers: dict[str, str] = {}
        self._interim = 0
        self._framing: Framing | None = None
        self._keep = False
        self._lines = 0  # header lines of the answer being read
        self._body: list[bytes] = []  # chunks read so far

    def feed(self, data: bytes) -> tuple[int, dict[str, str], bytes, bool] | None:
        """Take `data` (b"" at the end of the connection); the answer once complete.

        Args:
            data: the bytes received since the last call.
        """
        eof = not data
        self._buf += data
        if self._framing is None and not self._head(eof):
            return None
        return self._rest(eof)

    def _line(self, eof: bool) -> bytes | None:
        buf, pos = self._buf, self._pos
        end = buf.find(b"\n", pos)
        if end < 0:
            if len(buf) - pos > MAX_LINE:
                raise ValueError("an answer line is too long")
            if eof:
                raise ValueError("the connection closed before the answer was complete")
            return None
        if end + 1 - pos > MAX_LINE:
            raise ValueError("an answer line is too long")
        self._pos = end + 1
        return bytes(buf[pos : end + 1])

    def _head(self, eof: bool) -> bool:
        while True:
            line = self._line(eof)
            if line is None:
                return False
            if self._status < 0:
                self._version, self._status = status(line)
                continue
            if line not in (b"\r\n", b"\n"):
                self._lines += 1
                if self._lines > MAX_HEADERS:
                    raise ValueError("too many answer headers")
                add_header(self._headers, line)
                continue
            if 100 <= self._status < 200:  # interim (100 Continue...): the final one follows
                self._interim += 1
                if self._interim > MAX_HEADERS:
                    raise ValueError("too many interim (1xx) answers")
                self._status, self._headers, self._lines = -1, {}, 0
                continue
            self._framing, self._keep = framing(self._version, self._status, self._headers)
            return True

    def _rest(self, eof: bool) -> tuple[int, dict[str, str], bytes, bool] | None:
        assert self._framing is not None
        kind, length = self._framing
        buf, pos = self._buf, self._pos
        keep = self._keep
        if kind == "none":
            body, end = b"", pos
        elif kind == "length":
            if len(buf) - pos < length:
                if eof:
                    raise ValueError("the connection closed before the answer's body was complete")
                return None
            body, end = bytes(buf[pos : pos + length]), pos + length
        elif kind == "close":
            if not eof:
                return None
            body, end, keep = bytes(buf[pos:]), len(buf), False
        else:
            if not self._chunks(eof):
                return None
            body, end = b"".join(self._body), self._pos
        if end < len(buf):
            keep = False  # more than the answer: nothing after it can be trusted
        return self._status, self._headers, body, keep

    def _chunks(self, eof: bool) -> bool:
        buf = self._buf
        while True:
            start = self._pos
            line = self._line(eof)
            if line is None:
                return False
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size < 0:
                raise ValueError("a negative chunk size")
            if size == 0:
                while True:  # trailers, up to the blank line
                    trailer = self._line(eof)
                    if trailer is None:
                        self._pos = start  # read the last chunk's line again next time
                        return False
                    if trailer in (b"\r\n", b"\n"):
                        return True
            end = self._pos + size
            if len(buf) < end + 2:  # the chunk and its line end
                if eof:
                    raise ValueError("the connection closed inside a chunk")
                self._pos = start
                return False
            self._body.append(bytes(buf[self._pos : end]))
            self._pos = end
            if self._line(eof) not in (b"\r\n", b"\n"):
                raise ValueError("a chunk runs past its size")
