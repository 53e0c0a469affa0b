"""The fast transport's HTTP client against a scripted local socket server.

Every test runs both ways of sending: `ConnectionPool.post` (blocking, as on a worker)
and an `Exchange` moved on by poll (as the multiplexing driver does).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _dynamap.transport.connections import ConnectionPool, NoAnswer, NotSent, Response
from _dynamap.transport.exchange import Exchange, start
from _dynamap.transport.polling import step_until_done

Script = Callable[[socket.socket, bytes], bool]  # (connection, request) -> keep serving


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:  # closed (or its sending side shut) before the body was whole
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


class Server:
    """Accepts connections; answers each request with the next script step."""

    def __init__(self, steps: list[Script], context: Any = None) -> None:
        self.steps = steps
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released each time a connection is closed
        self.sock = socket.create_server(("127.0.0.1", 0))
        scheme = "http" if context is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}"
        if context is not None:
            self.sock = context.wrap_socket(self.sock, server_side=True)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.steps:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed; or a TLS handshake the client refused: next one
                if self.sock.fileno() < 0:
                    return
                continue
            self.connections += 1
            with conn:
                while self.steps:
                    request = _read_request(conn)
                    if not request:
                        break
                    self.requests.append(request)
                    if not self.steps.pop(0)(conn, request):
                        break
            self.closed.release()


def reply(body: bytes, *headers: str, close: bool = False) -> Script:
    def step(conn: socket.socket, _: bytes) -> bool:
        head = ["HTTP/1.1 200 OK", *headers]
        if not any(h.lower().startswith("transfer-encoding") for h in headers):
            head.append(f"Content-Length: {len(body)}")
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        return not close

    return step


def hang_up(conn: socket.socket, _: bytes) -> bool:
    return False


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(*steps: Script, context: Any = None) -> Server:
        servers.append(Server(list(steps), context))
        return servers[-1]

    yield start
    for server in servers:
        server.sock.close()


HEADERS = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": "2"}

Post = Callable[[ConnectionPool, Any, bytes], Response]


def run(exchange: Exchange, limit: float = 10.0) -> Exchange:
    """Move `exchange` on until it is done, as the multiplexing driver does."""
    assert step_until_done([exchange], limit, poll_at_most=0.05), "the exchange never ended"
    return exchange


def exchanged(pool: ConnectionPool, headers: Any, body: bytes) -> Response:
    exchange = run(start(pool, headers, body))
    if exchange.error is not None:
        raise exchange.error
    assert exchange.response is not None
    return exchange.response


@pytest.fixture(params=["post", "exchange"])
def post(request: pytest.FixtureRequest) -> Post:
    if request.param == "post":
        return lambda pool, headers, body: pool.post(headers, body)
    return exchanged


def test_answers_are_read_and_connections_kept_alive(serve, post: Post):
    server = serve(reply(b'{"a":1}', "x-amz-crc32: 1"), reply(b"{}"))
    pool = ConnectionPool(server.url)
    first = post(pool, HEADERS, b"{}")
    assert (first.status, first.body, first.headers["x-amz-crc32"]) == (200, b'{"a":1}', "1")
    assert post(pool, HEADERS, b"{}").body == b"{}"
    assert server.connections == 1
    host = server.url.removeprefix("http://")
    assert server.requests[0].startswith(f"POST / HTTP/1.1\r\nHost: {host}\r\n".encode())


def test_chunked_answers_are_joined(serve, post: Post):
    chunked = b'3\r\n{"a\r\n4;x=1\r\n":1}\r\n0\r\n\r\n'
    server = serve(reply(chunked, "Transfer-Encoding: chunked"))
    assert post(ConnectionPool(server.url), HEADERS, b"{}").body == b'{"a":1}'


def test_a_connection_the_server_closes_is_not_reused(serve, post: Post):
    server = serve(reply(b"{}", "Connection: close", close=True), reply(b"[]"))
    pool = ConnectionPool(server.url)
    post(pool, HEADERS, b"{}")
    assert post(pool, HEADERS, b"{}").body == b"[]"
    assert server.connections == 2


def test_a_connection_closed_while_idle_is_replaced(serve, post: Post):
    server = serve(reply(b"{}", close=True), reply(b"[]"))  # closes without saying so
    pool = ConnectionPool(server.url)
    post(pool, HEADERS, b"{}")
    assert server.closed.acquire(timeout=5)  # closed while idle in the pool
    assert post(pool, HEADERS, b"{}").body == b"[]"  # the dropped one was detected


def test_a_request_without_answer_is_no_answer(serve, post: Post):
    server = serve(hang_up)
    with pytest.raises(NoAnswer):
        post(ConnectionPool(server.url), HEADERS, b"{}")


def test_a_short_body_is_no_answer(serve, post: Post):
    def short(conn: socket.socket, _: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")
        return False

    server = serve(short)
    with pytest.raises(NoAnswer):
        post(ConnectionPool(server.url), HEADERS, b"{}")


def test_interim_answers_are_skipped_and_the_final_one_is_read(serve, post: Post):
    # A client must read 1xx answers sent before the final one (RFC 9110 15.2), even
    # unasked: taking "100 Continue" as the answer would report a write as done, and
    # leave its real answer on the connection for the next request to read as its own.
    def interim(conn: socket.socket, _: bytes) -> bool:
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nfail"
        )
        return True

    server = serve(interim, reply(b"{}"))
    pool = ConnectionPool(server.url)
    answer = post(pool, HEADERS, b"{}")
    assert (answer.status, answer.body) == (400, b"fail")
    assert post(pool, HEADERS, b"{}").body == b"{}"  # the next request reads its own answer


def test_a_slow_answer_times_out_as_no_answer(serve, post: Post):
    release = threading.Event()

    def slow(conn: socket.socket, _: bytes) -> bool:
        release.wait(5)
        return False

    server = serve(slow)
    with pytest.raises(NoAnswer):
        post(ConnectionPool(server.url, read_timeout=0.2), HEADERS, b"{}")
    release.set()


def test_a_refused_connection_is_not_sent(post: Post):
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(NotSent):
        post(ConnectionPool(f"http://127.0.0.1:{port}", connect_timeout=1), HEADERS, b"{}")


def test_an_answer_without_length_runs_to_the_end_of_the_connection(serve, post: Post):
    def unbounded(conn: socket.socket, _: bytes) -> bool:
        conn.sendall(b'HTTP/1.0 200 OK\r\n\r\n{"a":2}')
        return False

    server = serve(unbounded, reply(b"{}"))
    pool = ConnectionPool(server.url)
    assert post(pool, HEADERS, b"{}").body == b'{"a":2}'
    assert post(pool, HEADERS, b"{}").body == b"{}"
    assert server.connections == 2


def test_tls_endpoints_verify_by_default():
    pool = ConnectionPool("https://dynamodb.eu-west-1.amazonaws.com")
    assert pool.port == 443 and pool.host_header == "dynamodb.eu-west-1.amazonaws.com"
    assert pool._context is not None and pool._context.check_hostname
    insecure = ConnectionPool("https://localhost:8443", verify=False)
    assert insecure.host_header == "localhost:8443" and not insecure._context.check_hostname  # type: ignore[union-attr]


def _self_signed(tmp_path: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_tls_answers_are_read_with_the_given_ca_bundle_and_refused_without(
    serve, tmp_path, post: Post
):
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(reply(b'{"tls":1}'), reply(b"{}"), hang_up, context=context)
    url = server.url
    assert post(ConnectionPool(url, verify=cert), HEADERS, b"{}").body == b'{"tls":1}'
    assert post(ConnectionPool(url, verify=False), HEADERS, b"{}").body == b"{}"
    with pytest.raises(NoAnswer):  # not in the default bundle: as botocore's SSLError
        post(ConnectionPool(url), HEADERS, b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "https://dynamodb.eu-west-1.amazonaws.com",
        "http://LocalHost:8000",
        "http://[::1]:8000",
        "https://[::1]",
        "http://127.0.0.1:80",
    ],
)
def test_the_host_header_is_the_one_sigv4_signs(url):
    from botocore.auth import _host_from_url  # pyright: ignore[reportPrivateUsage]

    assert ConnectionPool(url).host_header == _host_from_url(url)


def test_a_connection_on_a_descriptor_above_1023_is_kept_alive(serve, post: Post):
    """select() refuses descriptors from 1024 on: each idle connection would look dropped
    and be replaced. A process with many files open gets such descriptors."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1100:
        pytest.skip("the descriptor limit is too low to open one above 1023")
    server = serve(reply(b"{}"), reply(b"[]"))
    pool = ConnectionPool(server.url)
    filler = [socket.socket() for _ in range(1030)]  # the next descriptors are above 1023
    try:
        assert post(pool, HEADERS, b"{}").body == b"{}"
        assert pool._idle[0].sock.fileno() >= 1024
        assert post(pool, HEADERS, b"{}").body == b"[]"
        assert server.connections == 1  # the idle one was reused, not taken for dropped
    finally:
        for sock in filler:
            sock.close()
