"""Adversarial flushes over requests prepared ahead (drivers/ahead.py), on DynamoDB Local.

Flushes of several runs of prepared BatchWriteItem requests (runs made short here, so
that the flushes stay small; runs of 256 were attacked the same way with 7,000+ items),
with hostile attribute names and values, through the fault proxy: a deadline that falls
while requests wait prepared, a clock jump or a fatal error mid-run, interrupts and
cancellations at random moments. After each, the table is scanned: every write reported
done is stored as written, every write handed back as not done is absent, nothing is
sent after the deadline or an interrupt, and nothing is sent twice.
"""

from __future__ import annotations

import _thread
import asyncio
import random
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import pytest

from _dynamap.drivers import ahead
from _dynamap.transport.aiofast import AioFastTransport
from _dynamap.transport.fast import FastTransport
from dynamap import (
    Attr,
    FlushError,
    Model,
    PartitionKey,
    RetryPolicy,
    Session,
    SortKey,
    TransportError,
    to_item,
)
from dynamap.aio import AsyncSession
from tests.support.aio import aio_client
from tests.support.faultproxy import Corrupt, FaultPlan
from tests.support.faults import ALL_OPS
from tests.support.tables import create_tables, scan_all

TEXT = 'ü名 "q" \\ \u2028\x00 𝄞 end'


class Hot(Model, table="fattack"):
    pk: Annotated[str, PartitionKey()]
    text: Annotated[str, Attr('a"b\\c\u2028')] = ""
    n: Annotated[int, Attr("#n.:x")] = 0
    blob: Annotated[bytes, Attr("ü名 {n}")] = b""


def items(count: int, *, size: int = 0) -> list[Hot]:
    return [
        Hot(pk=f"k{i:05d}{TEXT}", text=TEXT + "x" * size, n=i, blob=bytes([i % 256]) * 3)
        for i in range(count)
    ]


@pytest.fixture(autouse=True)
def short_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 16)


@pytest.fixture
def table(direct_client, table_prefix, dynamap_transport):
    if dynamap_transport != "fast":
        pytest.skip("requests are prepared ahead by the fast transports only")
    create_tables(direct_client, table_prefix, Hot)
    return table_prefix


class Timed(FastTransport):
    """Records when each request goes out (both paths: prepared or not)."""

    sent: list[float]

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(time.monotonic())
        return super().call(operation, params)

    def send(self, operation: str, prepared: Any) -> dict[str, Any]:
        self.sent.append(time.monotonic())
        return super().send(operation, prepared)


class AioTimed(AioFastTransport):
    sent: list[float]

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(time.monotonic())
        return await super().call(operation, params)

    async def send(self, operation: str, prepared: Any) -> dict[str, Any]:
        self.sent.append(time.monotonic())
        return await super().send(operation, prepared)


class Clock:
    """time.monotonic, remembering its readings (the flush's start is one of them)."""

    def __init__(self) -> None:
        self.readings: list[float] = []

    def __call__(self) -> float:
        now = time.monotonic()
        self.readings.append(now)
        return now


def check(
    direct_client: Any,
    table: str,
    written: list[Hot],
    error: FlushError | None,
    *,
    unknown_ok: bool = True,
) -> tuple[int, int, int]:
    """The table agrees with the report; (done, not done, unknown) counts."""
    stored = {item["pk"]["S"]: item for item in scan_all(direct_client, f"{table}fattack")}
    by_pk = {h.pk: h for h in written}
    not_done = {u.key["pk"]["S"] for u in (error.unprocessed if error else ())}
    unknown = {u.key["pk"]["S"] for u in (error.unknown if error else ())}
    assert not (not_done & unknown)
    assert not_done <= by_pk.keys() and unknown <= by_pk.keys()
    if not unknown_ok:
        assert not unknown
    for pk, instance in by_pk.items():
        if pk in not_done:
            assert pk not in stored, f"{pk!r} reported not done but stored"
        elif pk not in unknown:
            assert stored.get(pk) == to_item(instance), f"{pk!r} reported done, not stored"
    assert set(stored) <= by_pk.keys()
    return len(by_pk) - len(not_done) - len(unknown), len(not_done), len(unknown)


def late_sends(sent: list[float], clock: Clock, first_send: float, deadline: float) -> list[float]:
    # The flush's start is a clock reading before the first request went out.
    start = max(r for r in clock.readings if r <= first_send)
    return [t - (start + deadline) for t in sent if t > start + deadline + 0.05]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sync_deadline_falls_while_requests_wait_prepared(
    proxy, proxy_client, direct_client, table, concurrency
):
    proxy.set_plan(
        FaultPlan(
            withhold=0.05,
            throttle=0.03,
            server_error=0.03,
            drop_before=0.02,
            drop_after=0.02,
            operations=ALL_OPS,
            seed=11,
        )
    )
    written = items(3000)
    clock = Clock()
    transport = Timed(proxy_client)
    transport.sent = []
    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, deadline=0.5)
    error: FlushError | None = None
    with Session(
        transport=transport, table_prefix=table, concurrency=concurrency, retry=policy, clock=clock
    ) as s:
        for h in written:
            s.put(h)
        try:
            s.flush()
        except FlushError as exc:
            error = exc
    _, not_done, _ = check(direct_client, table, written, error)
    assert error is not None and not_done > 0  # the deadline fell mid-flush
    assert transport.sent
    assert late_sends(transport.sent, clock, transport.sent[0], 0.5) == []


def test_sync_big_items_and_deadline(proxy, proxy_client, direct_client, table):
    # ~390 KB items: 25 to a request is ~10 MB, more than one run's byte budget.
    proxy.set_plan(FaultPlan(withhold=0.1, throttle=0.1, operations=ALL_OPS, seed=4))
    written = items(20, size=390_000 - 4 * len(TEXT.encode()))
    clock = Clock()
    transport = Timed(proxy_client)
    transport.sent = []
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=1.0)
    error: FlushError | None = None
    with Session(transport=transport, table_prefix=table, retry=policy, clock=clock) as s:
        for h in written:
            s.put(h)
        try:
            s.flush()
        except FlushError as exc:
            error = exc
    check(direct_client, table, written, error)
    if transport.sent:
        assert late_sends(transport.sent, clock, transport.sent[0], 1.0) == []


class _Counting:
    """Runs `hook(n)` before the n-th request goes out (prepared or not); counts sends."""

    sent: int = 0
    after: int = 0  # requests sent after the hook fired
    fired = False

    def hook(self, n: int) -> None: ...

    def _go(self) -> None:
        self.sent += 1
        if self.fired:
            self.after += 1
        self.hook(self.sent)


class Hooked(_Counting, FastTransport):
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self._go()
        return super().call(operation, params)

    def send(self, operation: str, prepared: Any) -> dict[str, Any]:
        self._go()
        return super().send(operation, prepared)


class JumpClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.mark.parametrize("concurrency", [1, 4])
def test_clock_jumps_past_the_deadline_with_a_run_prepared(
    proxy, proxy_client, direct_client, table, concurrency
):
    written = items(1000)
    clock = JumpClock()
    transport = Hooked(proxy_client)

    def hook(n: int) -> None:
        if n == 20:  # mid-run: some requests wait prepared
            transport.fired = True
            clock.offset += 1000.0
            raise TransportError(TransportError.NOT_SENT, "jump")  # retried, never sent

    transport.hook = hook  # type: ignore[method-assign]
    policy = RetryPolicy(deadline=60.0)
    with Session(
        transport=transport, table_prefix=table, concurrency=concurrency, retry=policy, clock=clock
    ) as s:
        for h in written:
            s.put(h)
        with pytest.raises(FlushError) as info:
            s.flush()
    done, _, unknown = check(direct_client, table, written, info.value)
    assert transport.after <= concurrency - 1  # those already decided on other workers
    # Requests in flight with the 100th may be answered or abandoned (unknown).
    assert 25 * (20 - concurrency) <= done <= done + unknown <= 25 * (19 + transport.after)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_fatal_error_with_a_run_prepared(proxy, proxy_client, direct_client, table, concurrency):
    written = items(1000)
    transport = Hooked(proxy_client)

    def hook(n: int) -> None:
        if n == 20:
            transport.fired = True
            raise TransportError("ValidationException", "no", status=400)

    transport.hook = hook  # type: ignore[method-assign]
    with Session(transport=transport, table_prefix=table, concurrency=concurrency) as s:
        for h in written:
            s.put(h)
        with pytest.raises(FlushError) as info:
            s.flush()
    done, _, unknown = check(direct_client, table, written, info.value)
    assert transport.after <= concurrency - 1
    # Requests in flight with the 100th may be answered or abandoned (unknown).
    assert 25 * (20 - concurrency) <= done <= done + unknown <= 25 * (19 + transport.after)


class PrepareInterrupted(FastTransport):
    """Raises KeyboardInterrupt while preparing the n-th request ahead."""

    prepared = 0
    at = 0

    def prepare(self, operation: str, params: dict[str, Any]) -> Any:
        self.prepared += 1
        if self.prepared == self.at:
            raise KeyboardInterrupt
        return super().prepare(operation, params)


@pytest.mark.parametrize(("concurrency", "at"), [(1, 20), (4, 20), (4, 1)])
def test_interrupt_while_preparing_a_run(
    proxy, proxy_client, direct_client, table, concurrency, at
):
    written = items(1000)
    transport = PrepareInterrupted(proxy_client)
    transport.at = at
    s = Session(transport=transport, table_prefix=table, concurrency=concurrency)
    for h in written:
        s.put(h)
    with pytest.raises(KeyboardInterrupt):
        s.flush()
    stored = {item["pk"]["S"] for item in scan_all(direct_client, f"{table}fattack")}
    assert len(stored) == 25 * min(at - 1, 16)  # the first run went out whole, no more
    transport.at = -1
    before = proxy.counts.requests.get("BatchWriteItem", 0)
    s.flush()  # the rest was pending again: all stored now, none sent twice
    s.close()
    resent = proxy.counts.requests.get("BatchWriteItem", 0) - before
    assert resent == -(-(len(written) - len(stored)) // 25)
    check(direct_client, table, written, None, unknown_ok=False)


class AioHooked(_Counting, AioFastTransport):
    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self._go()
        return await super().call(operation, params)

    async def send(self, operation: str, prepared: Any) -> dict[str, Any]:
        self._go()
        return await super().send(operation, prepared)


@pytest.mark.parametrize("fault", ["jump", "fatal"])
def test_async_deadline_jump_or_fatal_with_a_run_prepared(proxy, direct_client, table, fault):
    written = items(1000)
    clock = JumpClock()

    async def run() -> FlushError:
        async with aio_client(proxy.endpoint) as client:
            transport = AioHooked(client)

            def hook(n: int) -> None:
                if n == 20:
                    transport.fired = True
                    if fault == "jump":
                        clock.offset += 1000.0
                        raise TransportError(TransportError.NOT_SENT, "jump")
                    raise TransportError("ValidationException", "no", status=400)

            transport.hook = hook  # type: ignore[method-assign]
            s = AsyncSession(transport=transport, table_prefix=table, clock=clock, concurrency=8)
            for h in written:
                s.put(h)
            with pytest.raises(FlushError) as info:
                await s.flush()
            await s.close()
            assert transport.after <= 7
            return info.value

    error = asyncio.run(run())
    done, _, unknown = check(direct_client, table, written, error)
    assert done >= 25 * 12 and done + unknown <= 25 * 26


class Rich(Model, table="fattackrich"):
    pk: Annotated[Decimal, PartitionKey()]
    sk: Annotated[int, SortKey(), Attr("s k.#:")]
    doc: dict[str, Any] = {}
    tags: set[str] = set()
    seq: list[Any] = []
    when: datetime | None = None
    ident: UUID | None = None
    big: int = 0


def rich(count: int) -> list[Rich]:
    return [
        Rich(
            pk=Decimal(f"{i}.500") if i % 2 else Decimal(i) * Decimal("1E+3"),
            sk=-(10**37) - i if i % 3 else i,
            doc={"ü名": {"#a": [i, "x\u2028", True, None]}, '"q"': TEXT, "{n}": Decimal("-0.10")},
            tags={TEXT, "", f"t{i}"} if i % 5 else set(),
            seq=[1.25, Decimal("1E-130"), "𝄞", b"\x00\xff", [], {}],
            when=datetime(2020, 1, 1, tzinfo=timezone.utc) if i % 2 else None,
            ident=UUID(int=i),
            big=10**37 + i,
        )
        for i in range(count)
    ]


def same(a: Any, b: Any) -> bool:
    """Equal items, sets compared as sets."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: sorted(x) if k in ("SS", "BS") else norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return bool(norm(a) == norm(b))


def test_json_shortcut_with_withheld_number_keys(proxy, proxy_client, direct_client, table):
    create_tables(direct_client, table, Rich)
    written = rich(800)
    proxy.set_plan(FaultPlan(withhold=0.3, seed=9))
    proxy.enqueue(*[Corrupt()] * 5)
    error: FlushError | None = None
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    with Session(proxy_client, table_prefix=table, retry=policy) as s:
        for r in written:
            s.put(r)
        try:
            s.flush()
        except FlushError as exc:
            error = exc
    stored = {
        (item["pk"]["N"], item["s k.#:"]["N"]): item
        for item in scan_all(direct_client, f"{table}fattackrich")
    }
    canon = {(Decimal(p), Decimal(k)): v for (p, k), v in stored.items()}
    not_done = {
        (Decimal(u.key["pk"]["N"]), Decimal(u.key["s k.#:"]["N"]))
        for u in (error.unprocessed if error else ())
    }
    unknown = {
        (Decimal(u.key["pk"]["N"]), Decimal(u.key["s k.#:"]["N"]))
        for u in (error.unknown if error else ())
    }
    assert error is not None and not_done  # 30% withheld, 3 attempts: some are left
    for r in written:
        item = to_item(r)
        k = (Decimal(item["pk"]["N"]), Decimal(item["s k.#:"]["N"]))
        if k in not_done:
            assert k not in canon
        elif k not in unknown:
            assert same(canon.get(k), item), k


@pytest.mark.parametrize("concurrency", [4])  # 1 passed too (12 rounds; slower)
def test_interrupts_at_random_points_with_short_runs(
    proxy, proxy_client, direct_client, table, concurrency, monkeypatch
):
    # Runs of 3 requests: a 40-request flush prepares a dozen runs, so an interrupt at a
    # random moment falls anywhere in taking, preparing, sending and handing back.
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 3)
    proxy.set_plan(FaultPlan(withhold=0.05, throttle=0.05, operations=ALL_OPS, seed=2))
    rng = random.Random(7)
    written: list[Hot] = []
    interrupted = 0
    for round_ in range(5):
        batch = [Hot(pk=f"r{round_}-{i}{TEXT}", text=TEXT, n=i, blob=b"\x01") for i in range(300)]
        written += batch
        s = Session(proxy_client, table_prefix=table, concurrency=concurrency)
        for h in batch:
            s.put(h)
        delay = rng.uniform(0.0, 0.15)
        timer = threading.Timer(delay, _thread.interrupt_main)
        timer.start()
        try:
            s.flush()
            timer.join()
            time.sleep(0.05)  # the interrupt may land here, after the flush
        except KeyboardInterrupt:
            interrupted += 1
            timer.cancel()
            seen = sum(proxy.counts.requests.values())
            time.sleep(0.2)
            assert sum(proxy.counts.requests.values()) == seen, "sent after the interrupt"
        s.flush()  # what was not done stayed pending
        s.close()
    assert interrupted == 5  # during the flush or just after
    check(direct_client, table, written, None, unknown_ok=False)


def test_async_cancels_at_random_points_with_short_runs(proxy, direct_client, table, monkeypatch):
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 3)
    proxy.set_plan(FaultPlan(withhold=0.05, throttle=0.05, operations=ALL_OPS, seed=4))
    rng = random.Random(5)
    written: list[Hot] = []

    async def run() -> int:
        cancelled = 0
        async with aio_client(proxy.endpoint) as client:
            for round_ in range(5):
                batch = [Hot(pk=f"a{round_}-{i}{TEXT}", text=TEXT, n=i) for i in range(300)]
                written.extend(batch)
                s = AsyncSession(client, table_prefix=table, concurrency=4, cancel_grace=1.0)
                for h in batch:
                    s.put(h)
                task = asyncio.ensure_future(s.flush())
                await asyncio.sleep(rng.uniform(0.0, 0.1))
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    cancelled += 1
                    seen = sum(proxy.counts.requests.values())
                    await asyncio.sleep(0.2)
                    assert sum(proxy.counts.requests.values()) == seen
                await s.flush()
                await s.close()
        return cancelled

    assert asyncio.run(run()) >= 1
    check(direct_client, table, written, None, unknown_ok=False)


@pytest.mark.parametrize("prepared_for", [-1.0, 0.0])
def test_requests_signed_again_are_sent_once(
    proxy, proxy_client, direct_client, table, monkeypatch, prepared_for
):
    monkeypatch.setattr(ahead, "PREPARED_FOR", prepared_for)
    written = items(500)
    with Session(proxy_client, table_prefix=table) as s:
        for h in written:
            s.put(h)
    assert proxy.counts.requests["BatchWriteItem"] == 20
    check(direct_client, table, written, None, unknown_ok=False)


class FlakyCredentials(AioFastTransport):
    """Fails to fetch credentials now and then (as a refresh over the network might)."""

    calls = 0

    async def _credentials(self) -> Any:
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("no credentials now")
        return await super()._credentials()


def test_async_credentials_failing_between_runs(proxy, direct_client, table, monkeypatch):
    monkeypatch.setattr(ahead, "AHEAD_REQUESTS", 3)
    written = items(600)

    async def run() -> FlushError | None:
        async with aio_client(proxy.endpoint) as client:
            s = AsyncSession(transport=FlakyCredentials(client), table_prefix=table)
            for h in written:
                s.put(h)
            try:
                await s.flush()
            except FlushError as exc:
                return exc
            finally:
                await s.close()
            return None

    error = asyncio.run(run())
    check(direct_client, table, written, error)
