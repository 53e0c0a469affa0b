"""A minimal HTTP/1.1 client for DynamoDB's POSTs: pooled keep-alive connections, no frills.

botocore's urllib3 session costs about 1 ms of client CPU per request on the benchmark
machine (URL parsing, proxy lookup, http.client's email-based header parser, response
wrappers); this one about 0.2 ms. Per BatchWriteItem of 25 items that is ~35 µs an item.
It only does what DynamoDB's JSON protocol needs: a POST with a known length, an answer
with Content-Length or chunked encoding, keep-alive, TLS with the client's verification
setting, connect and read timeouts, TCP options. Proxies and client certificates are not
supported here: `FastTransport` then sends through botocore's own session instead.

Failures are told apart like botocore's: a connection that cannot be made (refused,
unresolvable, connect timeout) raises `NotSent`; anything after the request may have
left (reset, timeout, closed early, TLS failure, malformed answer) raises `NoAnswer`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from typing import Any, cast
from urllib.parse import urlsplit

from _dynamap.transport.answer import MAX_HEADERS, MAX_LINE, add_header, framing, status

__all__ = ["ConnectionPool", "NoAnswer", "NotSent", "Response"]


class NotSent(Exception):
    """No connection could be made: the request certainly did not leave."""


class NoAnswer(Exception):
    """The request may have left, but no complete answer came back."""


class Response:
    """A complete answer: status, headers (lower-case names) and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Connection:
    """A kept-alive socket, and its buffered reader for blocking reads."""

    __slots__ = ("file", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")

    def close(self) -> None:
        for part in (self.file, self.sock):
            with contextlib.suppress(OSError):
                part.close()

    def dropped(self) -> bool:
        """True if the server closed it (or sent anything) while it was idle."""
        try:
            if hasattr(select, "poll"):  # select() refuses descriptors from 1024 on
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return bool(poller.poll(0))
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True


class ConnectionPool:
    """Keep-alive connections to one endpoint (thread-safe; at most `size` kept idle)."""

    def __init__(
        self,
        url: str,
        *,
        verify: bool | str | None = True,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
        size: int = 10,
        socket_options: list[tuple[int, int, int]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Describe the endpoint.

        Args:
            url: the endpoint, e.g. "https://dynamodb.eu-west-1.amazonaws.com".
            verify: TLS verification: True (default bundle), False, or a CA bundle path.
            connect_timeout: seconds to wait for a connection.
            read_timeout: seconds to wait on each read of the answer.
            size: how many idle connections are kept.
            socket_options: `setsockopt` arguments applied to each new socket.
            ssl_context: the TLS context for https (built from `verify` when None).
        """
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        default = 443 if self.tls else 80
        # The Host header exactly as botocore's SigV4 signs it: the lower-case host name
        # (an IPv6 address in brackets), and the port unless it is the scheme's default.
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if parts.port in (None, default) else f"{host}:{parts.port}"
        self.path = parts.path or "/"
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.size = size
        self.socket_options = list(socket_options or [])
        self._context = ssl_context
        if self.tls and ssl_context is None:
            self._context = _context(verify)
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def post(self, headers: Any, body: bytes) -> Response:
        """POST `body` with `headers` (name/value pairs) and read the whole answer.

        Args:
            headers: a mapping of header names to str values, Content-Length included.
            body: the request body.
        """
        data = self.request_bytes(headers, body)
        conn = self.take()
        try:
            conn.sock.sendall(data)
            response, keep = _read_response(conn.file)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, (OSError, ValueError)):
                raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
            raise
        if keep:
            self.give(conn)
        else:
            conn.close()
        return response

    def request_bytes(self, headers: Any, body: bytes) -> bytes:
        """The whole POST request with `headers` and `body`, as it goes on the wire."""
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append("Accept-Encoding: identity\r\n\r\n")
        return "\r\n".join(lines).encode("latin-1") + body

    def take(self) -> Connection:
        """An idle connection still open, or a new one (NotSent if none can be made)."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if not conn.dropped():
                return conn
            conn.close()

    def give(self, conn: Connection) -> None:
        """Keep `conn` for the next request (or close it, if enough are kept)."""
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self) -> Connection:
        try:
            sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        except OSError as exc:  # refused, unresolvable, unreachable, connect timeout
            raise NotSent(f"could not connect to {self.host}:{self.port}: {exc}") from exc
        try:
            for option in self.socket_options:
                sock.setsockopt(*option)
            sock.settimeout(self.read_timeout)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except OSError as exc:  # as botocore: a TLS failure counts as "may have been sent"
            sock.close()
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        return Connection(sock)

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _context(verify: bool | str | None) -> ssl.SSLContext:
    from botocore.httpsession import create_urllib3_context, get_cert_path

    context: ssl.SSLContext = create_urllib3_context()
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        context.load_verify_locations(get_cert_path(cast(Any, True if verify is None else verify)))
    return context


def _line(file: Any) -> bytes:
    line: bytes = file.readline(MAX_LINE + 1)
    if not line:
        raise ValueError("the connection closed before the answer was complete")
    if len(line) > MAX_LINE:
        raise ValueError("an answer line is too long")
    return line


def _read_head(file: Any) -> tuple[str, int, dict[str, str]]:
    """Read an answer's status line and headers: its HTTP version, status and headers."""
    version, code = status(_line(file))
    headers: dict[str, str] = {}
    for count in range(MAX_HEADERS + 1):
        line = _line(file)
        if line in (b"\r\n", b"\n"):
            return version, code, headers
        if count == MAX_HEADERS:
            break
        add_header(headers, line)
    raise ValueError("too many answer headers")


def _read_response(file: Any) -> tuple[Response, bool]:
    """Read one answer; also whether the connection may be used again."""
    version, code, headers = _read_head(file)
    interim = 0
    while 100 <= code < 200:  # interim answers (100 Continue...): the final one follows
        interim += 1
        if interim > MAX_HEADERS:
            raise ValueError("too many interim (1xx) answers")
        version, code, headers = _read_head(file)
    (kind, length), keep = framing(version, code, headers)
    if kind == "chunked":
        body = _read_chunked(file)
    elif kind == "length":
        body = file.read(length)
        if len(body) != length:
            raise ValueError("the connection closed before the answer's body was complete")
    elif kind == "none":
        body = b""
    else:  # no length: the body runs to the end of the connection
        body = file.read()
    return Response(code, headers, body), keep


def _read_chunked(file: Any) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(_line(file).split(b";", 1)[0].strip(), 16)
        if size < 0:
            raise ValueError("a negative chunk size")
        if size == 0:
            while _line(file) not in (b"\r\n", b"\n"):  # trailers
                pass
            return b"".join(parts)
        chunk = file.read(size)
        if len(chunk) != size:
            raise ValueError("the connection closed inside a chunk")
        parts.append(chunk)
        if _line(file) not in (b"\r\n", b"\n"):
            raise ValueError("a chunk runs past its size")
