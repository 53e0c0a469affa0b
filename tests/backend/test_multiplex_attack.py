"""The multiplexing driver (drivers/multiplex.py) attacked on DynamoDB Local.

Sync flushes at concurrency 2, 4 and 8 over FastTransport send, poll and read their
requests on the flushing thread, over the client's own connections (transport/exchange.py).
Through the fault proxy: thousands of writes and typed reads with withheld items and
keys, throttles, 500s, connections dropped before and after forwarding, corrupted
bodies, answers slower than the client's read timeout, a deadline that falls with
requests live, interrupts at random moments, two threads flushing two sessions of one
client at once. After each, the table is scanned: every write reported done is stored
as written, every write handed back as not done is absent, and the next flush on the
same client (its connection pool) works.
"""

from __future__ import annotations

import _thread
import random
import signal
import sys
import threading
import time
from typing import Annotated, Any

import pytest

from _dynamap.drivers import multiplex
from _dynamap.drivers.multiplex import multiplexes
from _dynamap.transport.base import Prepared, Started
from _dynamap.transport.fast import FastTransport
from dynamap import Attr, FlushError, Model, PartitionKey, RetryPolicy, Session, SortKey, from_item
from tests.support.ddblocal import make_client
from tests.support.faultproxy import Corrupt, FaultPlan, Latency
from tests.support.faults import ALL_OPS, BATCH_OPS
from tests.support.tables import create_tables, scan_all
from tests.unit.session.test_raw_interrupts import _Interrupt

ODD = 'ü名 "q" \\ \u2028 𝄞'
PATIENT = RetryPolicy(max_attempts=30, base_delay=0.005, max_delay=0.05, deadline=120.0)
FAULTS = FaultPlan(
    withhold=0.1,
    throttle=0.05,
    server_error=0.05,
    drop_before=0.03,
    drop_after=0.03,
    operations=ALL_OPS,
    seed=7,
)


class Mx(Model, table="mxattack"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    text: Annotated[str, Attr('a"b\\c\u2028')] = ""
    n: int = 0
    tags: set[str] = set()


def rows(count: int, *, tag: str = "", start: int = 0) -> list[Mx]:
    return [
        Mx(pk=f"p{i % 13}{ODD}{tag}", sk=i, text=f"{ODD} {i}", n=i * 3, tags={f"t{i}", ODD})
        for i in range(start, start + count)
    ]


class Timed(FastTransport):
    """Records when each request starts (overriding `start` keeps multiplexing)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.started: list[float] = []

    def start(self, operation: str, prepared: Prepared) -> Started:
        self.started.append(time.monotonic())
        return super().start(operation, prepared)


@pytest.fixture
def table(direct_client: Any, table_prefix: str, dynamap_transport: str) -> str:
    if dynamap_transport != "fast":
        pytest.skip("only the fast transport multiplexes")
    create_tables(direct_client, table_prefix, Mx)
    return table_prefix


def stored(direct_client: Any, table: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (item["pk"]["S"], int(item["sk"]["N"])): item
        for item in scan_all(direct_client, f"{table}mxattack")
    }


def check(
    direct_client: Any, table: str, written: list[Mx], error: FlushError | None
) -> tuple[int, int, int]:
    """The table agrees with the report: (done, not done, unknown)."""
    held = stored(direct_client, table)
    by_key = {(w.pk, w.sk): w for w in written}
    not_done = {
        (u.key["pk"]["S"], int(u.key["sk"]["N"])) for u in (error.unprocessed if error else ())
    }
    unknown = {(u.key["pk"]["S"], int(u.key["sk"]["N"])) for u in (error.unknown if error else ())}
    assert not (not_done & unknown)
    assert not_done <= by_key.keys() and unknown <= by_key.keys()
    for key, w in by_key.items():
        if key in not_done:
            assert key not in held, f"{key!r} reported not done but stored"
        elif key not in unknown:
            assert key in held and from_item(Mx, held[key]) == w, f"{key!r} done, not stored"
    return len(by_key) - len(not_done) - len(unknown), len(not_done), len(unknown)


def session(client: Any, table: str, concurrency: int, **kwargs: Any) -> Session:
    s = Session(client, table_prefix=table, concurrency=concurrency, **kwargs)
    assert multiplexes(s.transport)
    return s


@pytest.mark.parametrize("concurrency", [2, 4, 8])
def test_large_flushes_of_writes_and_reads_under_faults(
    proxy, proxy_client, direct_client, table, concurrency
):
    proxy.set_plan(FAULTS)
    proxy.enqueue(Corrupt(), Corrupt(), Corrupt())
    written = rows(4000)
    with session(proxy_client, table, concurrency, retry=PATIENT) as s:
        for w in written:
            s.put(w)
        s.flush()
    assert check(direct_client, table, written, None) == (4000, 0, 0)
    assert len(stored(direct_client, table)) == 4000
    assert proxy.counts.faults["corrupt"] == 3 and proxy.counts.faults["drop_after"] > 0
    # Typed reads of all of them, and of keys that are not there.
    keys = [(w.pk, w.sk) for w in written] + [(f"gone{i}", i) for i in range(100)]
    random.Random(concurrency).shuffle(keys)
    proxy.enqueue(Corrupt(), Corrupt())
    with session(proxy_client, table, concurrency, retry=PATIENT) as s:
        got = {key: s.get(Mx, *key) for key in keys}
        report = s.flush()
        assert (report.items_read, report.items_not_found) == (4000, 100)
        truth = {(w.pk, w.sk): w for w in written}
        for key, deferred in got.items():
            assert deferred.result() == truth.get(key), key
    assert proxy.counts.withheld["BatchGetItem"] > 0


@pytest.mark.parametrize("concurrency", [2, 4, 8])
def test_a_short_retry_budget_hands_back_what_was_not_done(
    proxy, proxy_client, direct_client, table, concurrency
):
    proxy.set_plan(
        FaultPlan(
            withhold=0.3,
            throttle=0.1,
            server_error=0.1,
            drop_before=0.05,
            drop_after=0.05,
            operations=ALL_OPS,
            seed=concurrency,
        )
    )
    written = rows(3000)
    policy = RetryPolicy(max_attempts=2, base_delay=0.005, max_delay=0.01)
    s = session(proxy_client, table, concurrency, retry=policy)
    for w in written:
        s.put(w)
    with pytest.raises(FlushError) as caught:
        s.flush()
    done, not_done, unknown = check(direct_client, table, written, caught.value)
    assert done and not_done and unknown and done + not_done + unknown == 3000
    # The pool is not poisoned: the same client writes everything now.
    proxy.set_plan(FaultPlan())
    s.retry = PATIENT
    for w in written:
        s.put(w)
    s.flush()
    s.close()
    assert check(direct_client, table, written, None) == (3000, 0, 0)


def test_answers_slower_than_the_read_timeout_are_no_answer_and_retried(
    proxy, direct_client, table
):
    client = make_client(
        proxy.endpoint, retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1
    )
    proxy.set_plan(FaultPlan(operations=BATCH_OPS))
    proxy.enqueue(Latency(1.6), Latency(0.2), Latency(1.6), Latency(2.5))
    written = rows(500)
    began = time.monotonic()
    with session(client, table, 4, retry=PATIENT) as s:
        for w in written:
            s.put(w)
        s.flush()
    assert time.monotonic() - began < 15
    assert check(direct_client, table, written, None) == (500, 0, 0)
    assert proxy.counts.requests["BatchWriteItem"] >= 23  # 20 + 3 retried after the timeout
    # Reads too, on the same pool.
    proxy.enqueue(Latency(1.6), Latency(1.6))
    with session(client, table, 4, retry=PATIENT) as s:
        got = [s.get(Mx, w.pk, w.sk) for w in written]
        s.flush()
        assert [d.result() for d in got] == written


@pytest.mark.parametrize("concurrency", [2, 8])
def test_a_deadline_falling_with_requests_live(proxy, direct_client, table, concurrency):
    client = make_client(
        proxy.endpoint, retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2
    )
    proxy.set_plan(FaultPlan(latency=0.3, withhold=0.2, throttle=0.1, operations=BATCH_OPS))
    transport = Timed(client)
    written = rows(2000)
    deadline = 1.0
    policy = RetryPolicy(max_attempts=30, base_delay=0.005, max_delay=0.02, deadline=deadline)
    clock_readings: list[float] = []

    def clock() -> float:
        clock_readings.append(now := time.monotonic())
        return now

    s = Session(
        transport=transport, table_prefix=table, concurrency=concurrency, retry=policy, clock=clock
    )
    assert multiplexes(s.transport)
    for w in written:
        s.put(w)
    began = time.monotonic()
    with pytest.raises(FlushError) as caught:
        s.flush()
    took = time.monotonic() - began
    assert took < deadline + 3 + 1  # the deadline, then at most the linger (connect + read)
    done, not_done, _ = check(direct_client, table, written, caught.value)
    assert done and not_done
    start = min(r for r in clock_readings if r >= began)
    late = [t - start - deadline for t in transport.started if t > start + deadline + 0.02]
    assert late == []
    # Next flush on the same client: the rest goes out.
    proxy.set_plan(FaultPlan())
    s.retry = PATIENT
    for w in written:
        s.put(w)
    s.flush()
    s.close()
    assert check(direct_client, table, written, None) == (2000, 0, 0)


@pytest.mark.parametrize("seed", range(6))
def test_interrupts_at_random_moments_lose_nothing(proxy, proxy_client, direct_client, table, seed):
    rng = random.Random(seed)
    proxy.set_plan(FaultPlan(latency=0.01, withhold=0.1, drop_after=0.03, seed=seed))
    written = rows(1500)
    s = session(proxy_client, table, rng.choice([2, 4, 8]), retry=PATIENT)
    for w in written:
        s.put(w)
    delay = rng.uniform(0.05, 0.6)
    timer = threading.Timer(delay, _thread.interrupt_main)
    timer.start()
    interrupted = False
    try:
        s.flush()
        time.sleep(delay + 0.2)  # the interrupt may still come: let it come here
    except KeyboardInterrupt:
        interrupted = True
    finally:
        timer.cancel()
    held = stored(direct_client, table)
    assert set(held) <= {(w.pk, w.sk) for w in written}
    # What was not done stays pending (what is stored is stored as written); the next
    # flush sends it over the same client's pool.
    for key, item in held.items():
        assert from_item(Mx, item) == next(w for w in written if (w.pk, w.sk) == key)
    proxy.set_plan(FaultPlan())
    s.flush()
    s.close()
    assert check(direct_client, table, written, None) == (1500, 0, 0)
    assert interrupted or len(held) == 1500


@pytest.mark.parametrize("concurrencies", [(4, 8), (1, 8)])
def test_two_threads_flushing_two_sessions_of_one_client_lose_nothing(
    proxy, proxy_client, direct_client, table, concurrencies
):
    # (At concurrency 1 a session posts on the flushing thread, blocking: the same pool.)
    proxy.set_plan(FAULTS)
    errors: list[BaseException] = []
    batches = [rows(2500, tag="a"), rows(2500, tag="b", start=10_000)]

    def flush(written: list[Mx], concurrency: int) -> None:
        try:
            for _ in range(2):  # twice: the second flush rewrites, on connections reused
                with Session(
                    proxy_client, table_prefix=table, concurrency=concurrency, retry=PATIENT
                ) as s:
                    for w in written:
                        s.put(w)
                with Session(
                    proxy_client, table_prefix=table, concurrency=concurrency, retry=PATIENT
                ) as s:
                    got = [s.get(Mx, w.pk, w.sk) for w in written]
                    s.flush()
                    assert [d.result() for d in got] == written
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=flush, args=(batch, c))
        for batch, c in zip(batches, concurrencies, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert check(direct_client, table, batches[0] + batches[1], None) == (5000, 0, 0)
    assert len(stored(direct_client, table)) == 5000


@pytest.mark.parametrize("multiplexed", [False, True])
def test_a_write_cut_short_by_two_interrupts_is_not_overtaken_by_the_next_flush(
    proxy, proxy_client, direct_client, table, multiplexed, monkeypatch
):
    # The first interrupt lets what is live come back (for the linger); a second one
    # ends that wait. A request still in flight then may yet be applied: the next
    # flush must not send a newer write of its key before it is over.
    monkeypatch.setattr(multiplex, "MULTIPLEX", multiplexed)
    proxy.set_plan(FaultPlan(operations=BATCH_OPS))
    proxy.enqueue(Latency(2.5))  # the first write arrives late at DynamoDB Local
    s = Session(proxy_client, table_prefix=table, concurrency=4, retry=PATIENT)
    assert multiplexes(s.transport) is multiplexed
    old = rows(3)  # one BatchWriteItem
    for w in old:
        s.put(w)
    main = threading.main_thread().ident
    assert main is not None
    timers = [threading.Timer(at, signal.pthread_kill, (main, signal.SIGINT)) for at in (0.3, 0.6)]
    for timer in timers:
        timer.start()
    with pytest.raises(KeyboardInterrupt):
        s.flush()
        time.sleep(5)  # (not reached: the interrupts come during the flush)
    for timer in timers:
        timer.join()
    new = [w.model_copy(update={"text": "newer"}) for w in old]
    for w in new:
        s.put(w)
    s.flush()
    s.close()
    time.sleep(3)  # the late request has arrived by now
    assert check(direct_client, table, new, None) == (3, 0, 0)


@pytest.mark.parametrize(
    "files",
    [
        # (Not connections.py: the tracer's interrupt at the implicit __exit__ of
        # `with self._lock:` leaves the lock held, where a real signal cannot strike.)
        ("_dynamap/transport/exchange.py",),
        ("_dynamap/transport/answer.py", "_dynamap/transport/fast.py"),
    ],
)
def test_an_interrupt_at_any_line_of_an_exchange_loses_nothing_and_spoils_no_connection(
    direct_client, table, files
):
    # KeyboardInterrupt at each line those files run in turn (on the flushing thread),
    # straight to DynamoDB Local; then the same session's next flush writes everything,
    # and every connection the pool keeps is blocking, with nothing unread.
    client = make_client(direct_client.meta.endpoint_url, connect_timeout=1, read_timeout=2)
    count = 0
    at = 1
    while True:
        written = rows(60, tag=f"-{at}")
        s = Session(client, table_prefix=table, concurrency=2, retry=PATIENT)
        assert multiplexes(s.transport)
        tracer = _Interrupt(at, files)
        for w in written:
            s.put(w)
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            s.flush()
        except KeyboardInterrupt:
            count += 1
        finally:
            sys.settrace(previous)
        s.flush()
        assert s.flush().requests == 0
        s.close()
        keys = [{"pk": {"S": w.pk}, "sk": {"N": str(w.sk)}} for w in written]
        got: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            got += direct_client.batch_get_item(
                RequestItems={f"{table}mxattack": {"Keys": keys[start : start + 100]}}
            )["Responses"][f"{table}mxattack"]
        assert sorted((from_item(Mx, i) for i in got), key=lambda m: m.sk) == written, at
        pool = s.transport.pool  # type: ignore[attr-defined]
        for conn in list(pool._idle):
            assert conn.sock.gettimeout() == pool.read_timeout and not conn.dropped(), at
        if not tracer.fired:
            break
        at += 1
        assert at < 3000
    assert count > 20


@pytest.mark.parametrize("concurrency", [2, 8])
def test_a_large_flush_on_either_backend(client, table_prefix, dynamap_transport, concurrency):
    # On moto every request is answered in-process as it starts (no socket to wait on).
    create_tables(client, table_prefix, Mx)
    written = rows(3000)
    with Session(client, table_prefix=table_prefix, concurrency=concurrency, retry=PATIENT) as s:
        assert multiplexes(s.transport) is (dynamap_transport == "fast")
        for w in written:
            s.put(w)
    with Session(client, table_prefix=table_prefix, concurrency=concurrency, retry=PATIENT) as s:
        got = [s.get(Mx, w.pk, w.sk) for w in written]
        assert s.flush().items_read == 3000
        assert [d.result() for d in got] == written
        for d in got[:500]:
            d.result().n += 1
        assert s.flush().requests > 0
    held = {
        (i["pk"]["S"], int(i["sk"]["N"])): i for i in scan_all(client, f"{table_prefix}mxattack")
    }
    assert len(held) == 3000
    assert all(int(held[w.pk, w.sk]["n"]["N"]) == w.n + (w.sk < 500) for w in written)
