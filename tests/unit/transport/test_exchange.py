"""Exchanges (non-blocking requests) and the answer reader both ways of reading share."""

from __future__ import annotations

import io
import socket
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _dynamap.transport.answer import MAX_HEADERS, MAX_LINE, AnswerReader
from _dynamap.transport.connections import ConnectionPool, _read_response
from _dynamap.transport.exchange import start
from tests.unit.transport.test_connections import (
    HEADERS,
    Script,
    Server,
    exchanged,
    reply,
    run,
    serve,
)

__all__ = ["serve"]  # the fixture, used by name

ANSWERS = [
    b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\nx-amz-crc32: 1\r\n\r\n{"a":1}',
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'3\r\n{"a\r\n4;x=1\r\n":1}\r\n0\r\nTrailer: t\r\n\r\n',
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
    b"HTTP/1.1 400 Bad\r\nContent-Length: 4\r\n\r\nfail",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\n{}",
    b'HTTP/1.0 200 OK\r\n\r\n{"to":"the end"}',
    b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nSet: a\r\nSet: b\r\n\r\n",
]


def _blocking(answer: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    response, keep = _read_response(io.BufferedReader(io.BytesIO(answer)))  # type: ignore[arg-type]
    return response.status, response.headers, response.body, keep


def _fed(answer: bytes, cuts: list[int]) -> tuple[int, dict[str, str], bytes, bool]:
    reader = AnswerReader()
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    for piece in pieces:
        if piece:
            done = reader.feed(piece)
            if done is not None:
                return done
    done = reader.feed(b"")  # the end of the connection
    assert done is not None
    return done


@given(st.sampled_from(ANSWERS), st.data())
def test_an_answer_reads_the_same_however_it_arrives(answer: bytes, data: st.DataObject):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(answer)), max_size=8)))
    assert _fed(answer, cuts) == _blocking(answer)


def test_a_complete_answer_needs_no_end_of_connection():
    reader = AnswerReader()
    assert reader.feed(ANSWERS[0][:-1]) is None
    headers = {"content-length": "7", "x-amz-crc32": "1"}
    assert reader.feed(ANSWERS[0][-1:]) == (200, headers, b'{"a":1}', True)


def test_bytes_after_an_answer_mean_the_connection_is_not_kept():
    done = AnswerReader().feed(ANSWERS[0] + b"HTTP/1.1 200 OK")
    assert done is not None and done[2] == b'{"a":1}' and done[3] is False


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"SMTP ready\r\n\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "negative"),
        (b"HTTP/1.1 200 OK\r\n" + b"x" * (MAX_LINE + 1), "too long"),
        (b"HTTP/1.1 200 OK\r\n" + b"a: b\r\n" * (MAX_HEADERS + 1) + b"\r\n", "too many"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", "closed before"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n", "past its size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab", "inside a chunk"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "closed before"),
    ],
)
def test_malformed_answers_are_refused_both_ways(answer: bytes, error: str):
    with pytest.raises(ValueError, match=error):
        _fed(answer, [len(answer) // 2])
    with pytest.raises(ValueError, match=error):
        _blocking(answer)


def test_exactly_the_limits_are_accepted():
    headers = b"".join(f"h{i}: v\r\n".encode() for i in range(MAX_HEADERS))
    answer = b"HTTP/1.1 200 OK\r\n" + headers + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(ValueError, match="too many"):  # one more than the limit
        _fed(answer, [])
    answer = b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n"
    assert _fed(answer, [])[1]["h99"] == "v"
    assert _blocking(answer)[1]["h99"] == "v"


class _HeldServer(Server):
    """A Server that accepts and reads nothing until `go` is set."""

    def __init__(self, steps: list[Script]) -> None:
        self.go = threading.Event()  # before the serving thread starts
        super().__init__(steps)

    def _serve(self) -> None:
        self.go.wait(10)
        super()._serve()


def test_a_request_larger_than_the_socket_buffer_is_sent_in_steps():
    # The server reads nothing during the first step: with a server draining the socket
    # meanwhile, a busy machine could let all 8 MB go in one step (a flaky test).
    server = _HeldServer([reply(b"{}"), reply(b"[]")])
    try:
        pool = ConnectionPool(server.url)
        body = b"x" * (8 << 20)
        headers = {**HEADERS, "Content-Length": str(len(body))}
        exchange = start(pool, headers, body)
        exchange.step()
        assert exchange.wants_write  # 8 MB do not leave at once
        server.go.set()
        assert run(exchange).response is not None and exchange.response.body == b"{}"
        assert len(server.requests[0]) > len(body)
        assert exchanged(pool, HEADERS, b"{}").body == b"[]"
        assert server.connections == 1  # kept alive across both
    finally:
        server.go.set()
        server.sock.close()


def test_an_answer_trickling_in_is_read_when_complete(serve):
    answer = b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}'

    def trickle(conn: socket.socket, _: bytes) -> bool:
        for i in range(len(answer)):
            conn.sendall(answer[i : i + 1])
            time.sleep(0.002)
        return True

    server = serve(trickle, reply(b"{}"))
    pool = ConnectionPool(server.url, read_timeout=1)
    assert exchanged(pool, HEADERS, b"{}").body == b'{"a":1}'
    assert exchanged(pool, HEADERS, b"{}").body == b"{}"  # the connection went back
    assert server.connections == 1


def test_progress_resets_the_read_timeout_and_silence_ends_it(serve):
    def slow_but_moving(conn: socket.socket, _: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(4):
            time.sleep(0.15)
            conn.sendall(b"a: b\r\n")
        conn.sendall(b"Content-Length: 2\r\n\r\n{}")
        return True

    def silent(conn: socket.socket, _: bytes) -> bool:
        time.sleep(1.0)
        return False

    server = serve(slow_but_moving, silent)
    pool = ConnectionPool(server.url, read_timeout=0.4)
    assert exchanged(pool, HEADERS, b"{}").body == b"{}"  # 0.6 s in all, never 0.4 silent
    exchange = run(start(pool, HEADERS, b"{}"))
    assert exchange.error is not None and "no answer within" in str(exchange.error)
    assert exchange.fileno() == -1  # closed


def test_a_closed_exchange_gives_its_connection_back_to_no_one(serve):
    def never(conn: socket.socket, _: bytes) -> bool:
        time.sleep(0.5)
        return False

    server = serve(never, reply(b"{}"))
    pool = ConnectionPool(server.url)
    exchange = start(pool, HEADERS, b"{}")
    assert exchange.wants_write  # nothing sent before its first step
    exchange.step()
    assert not exchange.wants_write
    exchange.close()
    assert exchange.done and exchange.response is None and exchange.fileno() == -1
    exchange.step()  # nothing more happens
    assert not exchange.expired(time.monotonic() + 3600)
    assert exchanged(pool, HEADERS, b"{}").body == b"{}"  # on a new connection
    assert server.connections == 2


def test_one_exchange_per_connection_at_a_time(serve):
    def later(body: bytes) -> Any:
        def step(conn: socket.socket, request: bytes) -> bool:
            time.sleep(0.1)  # none is answered while the others start
            return reply(body, close=True)(conn, request)

        return step

    server = serve(*(later(b) for b in (b"1", b"2", b"3")))  # one connection at a time
    pool = ConnectionPool(server.url)
    exchanges: list[Any] = [start(pool, HEADERS, b"{}") for _ in range(3)]
    assert len({e.fileno() for e in exchanges}) == 3
    assert sorted(run(e).response.body for e in exchanges) == [b"1", b"2", b"3"]


def test_an_exchange_cut_while_sending_sends_no_more_and_waits_for_the_server():
    """An interrupt inside a step leaves how much was sent unsure: `cut` shuts the
    sending side; the server refuses the cut request (here: its connection ends), and the
    exchange ends as not answered. Its connection never goes back to the pool."""
    server = _HeldServer([reply(b"{}"), reply(b"[]")])  # reads nothing in the first step
    try:
        pool = ConnectionPool(server.url)
        body = b"x" * (8 << 20)
        exchange = start(pool, {**HEADERS, "Content-Length": str(len(body))}, body)
        exchange.step()
        assert exchange.wants_write  # part of it left
        exchange.cut()
        assert not exchange.wants_write
        server.go.set()
        run(exchange)
        assert exchange.error is not None and exchange.response is None
        assert pool._idle == [] and server.requests == []  # the server saw no whole request
        assert exchanged(pool, HEADERS, b"{}").body == b"{}"  # on a new connection
        assert server.connections == 2
    finally:
        server.go.set()
        server.sock.close()


def test_an_exchange_cut_after_its_last_send_waits_for_the_answer_and_distrusts_it(serve):
    def slow(conn: socket.socket, request: bytes) -> bool:
        time.sleep(0.2)  # not answered within the first step
        return reply(b'{"a":1}')(conn, request)

    server = serve(slow, reply(b"[]"))
    pool = ConnectionPool(server.url)
    exchange = start(pool, HEADERS, b"{}")
    data = exchange._out  # as if the count of the last send was lost to the interrupt
    exchange.step()
    exchange._out = data
    exchange.cut()
    run(exchange)
    assert server.requests and exchange.response is None  # answered, but not trusted
    assert exchange.error is not None and "not trusted" in str(exchange.error)
    assert pool._idle == []
    assert exchanged(pool, HEADERS, b"{}").body == b"[]"
    assert server.connections == 2


def test_an_exchange_cut_while_reading_is_closed(serve):
    def slow(conn: socket.socket, request: bytes) -> bool:
        time.sleep(0.2)  # not answered within the first step
        return reply(b'{"a":1}')(conn, request)

    server = serve(slow)
    pool = ConnectionPool(server.url)
    exchange = start(pool, HEADERS, b"{}")
    exchange.step()  # all sent
    exchange.cut()
    assert exchange.done and exchange.error is not None and exchange.fileno() == -1
