"""The multiplexing driver under attack: deadlines, slow starts, interrupts.

Found by reviewing drivers/multiplex.py against the threaded driver's rules: the first
two tests failed before their fixes; the last checks the fallback to worker threads.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from _dynamap.drivers.multiplex import multiplexes
from _dynamap.transport.fast import FastTransport
from dynamap import FlushError
from tests.support.ddblocal import make_client
from tests.unit.drivers.test_lookahead import session, users
from tests.unit.drivers.test_multiplex import MultiplexFake


def _release_all(fake: MultiplexFake, stop: threading.Event) -> None:
    while not stop.is_set():
        for started in list(fake.started):
            if not started.done:
                started.release()
        time.sleep(0.002)


def test_nothing_starts_after_the_deadline_when_starting_takes_time():
    # Starting a request may block (a new connection, a TLS handshake): the time it
    # took counts before the next one is started.
    fake = MultiplexFake()
    fake.answer_at_once = False
    fake.seconds_per_call = 0.3  # each start takes 0.3 s of the engine's clock
    stop = threading.Event()
    helper = threading.Thread(target=_release_all, args=(fake, stop))
    helper.start()
    try:
        s = session(fake, 8, deadline=1.0)
        for user in users(200):
            s.put(user)
        with pytest.raises(FlushError):  # the deadline fell before all was sent
            s.flush()
    finally:
        stop.set()
        helper.join()
    assert fake.sent_at and all(at < 1.0 for at in fake.sent_at), fake.sent_at


def test_requests_left_in_flight_by_a_second_interrupt_are_stragglers():
    # The first interrupt waits for what is live; a second ends that wait. What is
    # still in flight may yet be applied: it ends on a worker, and the next flush
    # waits for it before writing its keys again (as with the threaded driver).
    fake = MultiplexFake()
    fake.answer_at_once = False
    fake.request_timeout = 30.0  # the linger: only the second interrupt ends the wait
    s = session(fake, 2)
    for user in users(50):
        s.put(user)
    main = threading.main_thread().ident
    assert main is not None
    timers = [threading.Timer(at, signal.pthread_kill, (main, signal.SIGINT)) for at in (0.2, 0.4)]
    for timer in timers:
        timer.start()
    with pytest.raises(KeyboardInterrupt):
        s.flush()
        time.sleep(5)  # (not reached)
    for timer in timers:
        timer.join()
    assert len(fake.started) == 2 and not any(started.closed for started in fake.started)
    assert len(s._stragglers) == 2
    for started in list(fake.started):
        started.release()  # their answers come (late)
    fake.answer_at_once = True
    s.flush()  # waits for them, then writes what is left
    assert not s._stragglers and not fake.live
    assert len(fake.data["users"]) == 50
    s.close()


def test_a_client_whose_requests_botocore_must_send_is_not_multiplexed():
    # A proxy (or a client certificate): our pool cannot send, botocore's session does,
    # blocking, so the threaded driver sends.
    direct = FastTransport(make_client("http://127.0.0.1:9"))
    assert direct.pool is not None and multiplexes(direct)
    proxied = FastTransport(make_client("http://127.0.0.1:9", proxies={"http": "http://p:1"}))
    assert proxied.pool is None and not multiplexes(proxied)
