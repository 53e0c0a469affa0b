"""One HTTP request on a pooled connection, moved on without blocking by a driver's loop.

The threaded driver sends each request on a worker that blocks until its answer comes
back. Every such wait ends in a wake-up: of the worker when the answer arrives, of the
flushing thread when the worker hands it over, and of whichever thread has to wait for
the GIL. On the benchmark machine (a virtual machine) each wake-up costs tens of
microseconds of CPU, several hundred per BatchWriteItem in all. An `Exchange` instead
leaves its socket to the flushing thread, which sends, polls and reads several at once
(`drivers/multiplex.py`): about half the client CPU per request.

The rules are those of `ConnectionPool.post`, answer parsing included (`answer.py`):
- a connection that cannot be made raises `NotSent` from `ConnectionPool.start`;
- anything after the request may have left (reset, closed early, malformed answer,
  no progress for the read timeout) ends the exchange with `NoAnswer`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from typing import Any

from _dynamap.transport.answer import AnswerReader
from _dynamap.transport.connections import Connection, ConnectionPool, NoAnswer, NotSent, Response

__all__ = ["Exchange", "start"]

_CHUNK = 1 << 16


def start(pool: ConnectionPool, headers: Any, body: bytes) -> Exchange:
    """Start a POST of `body` with `headers` on one of `pool`'s connections.

    Raises NotSent if no connection can be made (as `ConnectionPool.post` does).

    Args:
        pool: the endpoint's connections.
        headers: a mapping of header names to str values, Content-Length included.
        body: the request body.
    """
    data = pool.request_bytes(headers, body)
    conn = pool.take()
    try:
        conn.sock.setblocking(False)
    except OSError as exc:
        conn.close()
        raise NotSent(f"{type(exc).__name__}: {exc}") from exc
    return Exchange(pool, conn, data)


class Exchange:
    """A request being sent and its answer being read, on a non-blocking connection
    (made by `start`).

    `step()` moves it on when its socket is ready (`wants_write` tells for what);
    `expired(now)` ends it with `NoAnswer` after `read_timeout` seconds without
    progress. When `done`, `response` holds the answer, or `error` why there is none.
    `close()` ends it early: the connection is closed (its answer may still come).
    """

    __slots__ = (
        "_conn",
        "_out",
        "_pool",
        "_reader",
        "_timeout",
        "_untrusted",
        "done",
        "error",
        "idle_until",
        "response",
        "wants_write",
    )

    def __init__(self, pool: ConnectionPool, conn: Connection, data: bytes) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._out = memoryview(data)
        self._reader = AnswerReader()
        self._timeout = pool.read_timeout
        self.done = False
        self.wants_write = True
        self.response: Response | None = None
        self.error: NoAnswer | None = None
        self.idle_until = time.monotonic() + self._timeout
        self._untrusted = False
        # Nothing is sent yet: the caller records the exchange first, then steps it (most
        # requests leave whole in that first step), so an interrupt never loses one.

    def fileno(self) -> int:
        """The socket's descriptor (-1 once done)."""
        return -1 if self._conn is None else self._conn.sock.fileno()

    def step(self) -> None:
        """Send what the socket takes, then read what has arrived; never blocks."""
        conn = self._conn
        if conn is None:
            return
        try:
            if self._out:
                self._send(conn)
            if not self._out:
                self._receive(conn)
        except (OSError, ValueError) as exc:  # reset, closed early, malformed answer
            self._fail(NoAnswer(f"{type(exc).__name__}: {exc}"))

    def expired(self, now: float) -> bool:
        """End the exchange with NoAnswer if it made no progress until `now` (monotonic).

        Args:
            now: `time.monotonic()`.
        """
        if self.done or now < self.idle_until:
            return False
        self._fail(NoAnswer(f"TimeoutError: no answer within {self._timeout:g} s"))
        return True

    def cut(self) -> None:
        """After an interrupt inside `step`: how much was sent or read is unsure.

        Once the request has left whole, the server has answered or is answering it:
        the connection is closed. Before that (part of it may have left, maybe all of
        it, the last count lost), nothing more is sent and the sending side is shut:
        the server then applies a whole request and answers, or refuses a cut one, or
        closes. Reading goes on until that tells when the server is done with it, but
        the exchange ends as not answered, whatever comes.
        """
        conn = self._conn
        if conn is None:
            return
        if not self._out:
            self._fail(NoAnswer("interrupted while reading the answer"))
            return
        self._untrusted = True
        self._out = memoryview(b"")
        self.wants_write = False
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._fail(NoAnswer("interrupted while sending"))

    def close(self) -> None:
        """Stop here: the connection is closed, whatever was sent or read."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.done = True

    def _send(self, conn: Connection) -> None:
        while self._out:
            try:
                sent = conn.sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError):
                self.wants_write = True
                return
            except ssl.SSLWantReadError:  # TLS needs the peer first (renegotiation)
                self.wants_write = False
                return
            self._out = self._out[sent:]  # kept as it goes: the next step sends the rest
            self.idle_until = time.monotonic() + self._timeout
        self.wants_write = False

    def _receive(self, conn: Connection) -> None:
        reader = self._reader
        # A TLS socket may hold decrypted data the descriptor no longer signals:
        # read until it says it has nothing more.
        while True:
            try:
                chunk = conn.sock.recv(_CHUNK)
            except (BlockingIOError, ssl.SSLWantReadError):
                self.wants_write = False
                return
            except ssl.SSLWantWriteError:
                self.wants_write = True
                return
            self.idle_until = time.monotonic() + self._timeout
            answer = reader.feed(chunk)
            if answer is not None:
                code, headers, body, keep = answer
                self._finish(Response(code, headers, body), keep)
                return
            if not chunk:  # closed, yet the reader did not refuse: cannot happen
                raise ValueError("the connection closed before the answer was complete")

    def _finish(self, response: Response, keep: bool) -> None:
        if self._untrusted:  # whatever it says, it may answer a cut request
            self._fail(NoAnswer("interrupted while sending; the answer is not trusted"))
            return
        conn, self._conn = self._conn, None
        self.done = True
        self.response = response
        if conn is None:
            return
        if keep:
            try:
                conn.sock.settimeout(self._timeout)  # as `post` expects its connections
            except OSError:
                conn.close()
                return
            self._pool.give(conn)
        else:
            conn.close()

    def _fail(self, error: NoAnswer) -> None:
        self.error = error
        with contextlib.suppress(Exception):
            self.close()
        self.done = True
