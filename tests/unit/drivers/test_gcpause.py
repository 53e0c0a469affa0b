"""The GC pause: restores exactly what it found, respects changes made meanwhile,
never outlives the last flush, and never starves the collector."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from _dynamap.drivers import gcpause
from _dynamap.drivers.gcpause import _Pauser, paused_gc
from dynamap import Session
from tests.support.fake import FakeDynamo
from tests.support.models import Order


def collecting() -> bool:
    """True when automatic collections can run."""
    return gc.isenabled() and gc.get_threshold()[0] > 0


@pytest.fixture(autouse=True)
def gc_state() -> Iterator[None]:
    """Whatever a test does to the collector, put it back."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def test_the_pause_stops_automatic_collection_and_restores_the_thresholds():
    gc.set_threshold(700, 11, 12)
    with paused_gc():
        assert not collecting()
        assert gc.isenabled()  # the switch is left alone
    assert gc.get_threshold() == (700, 11, 12) and gc.isenabled()


def test_a_disable_made_during_a_flush_is_kept():
    with paused_gc():
        gc.disable()  # e.g. another library, or the application, on another thread
    assert not gc.isenabled()


def test_an_enable_made_during_a_flush_is_kept():
    gc.disable()
    with paused_gc():
        gc.enable()
    assert collecting()


def test_thresholds_set_during_a_flush_are_kept():
    with paused_gc():
        gc.set_threshold(5000, 20, 20)
    assert gc.get_threshold() == (5000, 20, 20)


def test_a_collector_already_off_is_left_alone():
    gc.set_threshold(0, 10, 10)
    with paused_gc():
        pass
    assert gc.get_threshold() == (0, 10, 10)


def test_overlapping_flushes_share_one_pause_that_ends_with_the_last():
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    states: list[bool] = []

    def first() -> None:
        with paused_gc():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with paused_gc():
        second_in.set()
        first_out.wait(5)
        states.append(collecting())  # the first flush is over, this one is not
    thread.join()
    assert states == [False]
    assert gc.get_threshold() == before and collecting()


def test_continuously_overlapping_flushes_let_a_collection_through(monkeypatch):
    now = [0.0]
    pauser = _Pauser(clock=lambda: now[0])
    monkeypatch.setattr(gcpause, "_PAUSER", pauser)
    collections: list[Any] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        pauser.enter()  # a long flush on one thread
        for _ in range(3):  # short flushes on others, one after the other
            pauser.enter()
            now[0] += 0.4
            pauser.leave()
        assert collections == [2]  # once the pause reached MAX_PAUSE (1.2 s > 1 s)
        assert not collecting()  # and the pause goes on
        pauser.leave()
    finally:
        gc.callbacks.remove(count)
    assert collecting()


def test_a_session_flush_pauses_only_while_it_runs():
    seen: list[bool] = []

    class Spy(FakeDynamo):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            seen.append(collecting())
            return super().call(operation, params)

    spy = Spy({"orders": ("pk",)})
    with Session(transport=spy, concurrency=2) as s:
        s.put(Order(pk="o"))
        s.flush()
        assert collecting()
    with Session(transport=spy, pause_gc=False) as s:
        s.put(Order(pk="p"))
    assert seen == [False, True]


def test_a_finaliser_that_flushes_during_a_let_through_collection_does_not_deadlock():
    import threading

    from _dynamap.drivers.gcpause import MAX_PAUSE, _Pauser

    now = [0.0]
    pauser = _Pauser(clock=lambda: now[0])
    entered = []

    class Flushes:  # garbage in a cycle whose finaliser starts a flush on this thread
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            with pauser.paused():
                entered.append(True)

    def run() -> None:
        gc.collect()
        was = gc.isenabled()
        gc.enable()
        try:
            with pauser.paused():
                Flushes()
                now[0] += MAX_PAUSE  # the next nested flush lets a collection through
                with pauser.paused():
                    pass
        finally:
            if not was:
                gc.disable()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "deadlocked: the collection ran while the lock was held"
    assert entered == [True]


def _young(obj: Any) -> bool:
    return any(o is obj for o in gc.get_objects(generation=0))


def _oldest(obj: Any) -> bool:
    return any(o is obj for o in gc.get_objects(generation=2))


def test_many_survivors_of_a_pause_go_to_the_oldest_generation(monkeypatch):
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    with paused_gc():
        kept = [[i] for i in range(2000)]
    assert _oldest(kept[0]) and _oldest(kept) and gc.get_count()[0] < 100


def test_a_few_survivors_stay_young(monkeypatch):
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    gc.collect()
    with paused_gc():
        kept = [[i] for i in range(10)]
    assert _young(kept[0]) and not _oldest(kept[0])


def test_survivors_are_counted_when_the_pause_freed_many_older_objects(monkeypatch):
    # The collector's young count is net of every object freed, old ones too: a flush
    # that drops its plan (made before the pause) can leave it near zero while many of
    # its own objects are young. A long pause counts them one by one, and promotes them.
    now = [0.0]
    monkeypatch.setattr(gcpause, "_PAUSER", _Pauser(clock=lambda: now[0]))
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    old = [[i] for i in range(3000)]
    gc.collect()  # now old: freeing them lowers the young count all the same
    with paused_gc():
        kept = [[i] for i in range(2000)]
        del old
        assert gc.get_count()[0] < 1000  # what the count alone would go by
        now[0] += gcpause.COUNT_AFTER
    assert _oldest(kept[0]) and not _young(kept[0])


def test_a_short_pause_goes_by_the_count_alone(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(gcpause, "_PAUSER", _Pauser(clock=lambda: now[0]))
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    old = [[i] for i in range(3000)]
    gc.collect()
    with paused_gc():
        kept = [[i] for i in range(2000)]
        del old
    assert _young(kept[0])  # not counted one by one: a small flush pays nothing for it


def test_objects_the_application_froze_stay_frozen(monkeypatch):
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    mine = [object()]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            kept = [[i] for i in range(2000)]
        assert gc.get_freeze_count() == frozen  # nothing of the application's unfrozen
        assert not _oldest(mine) and not _oldest(kept[0])
    finally:
        gc.unfreeze()


def test_cycles_promoted_are_collected_within_the_budget(monkeypatch):
    import weakref

    monkeypatch.setattr(gcpause, "PROMOTE_AT", 1000)
    monkeypatch.setattr(gcpause, "PROMOTE_BUDGET", 5000)
    monkeypatch.setattr(gcpause, "_PAUSER", _Pauser())

    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    refs = []
    kept: list[Any] = []
    for _ in range(4):  # 4 pauses of ~2,000 survivors: over the budget once
        with paused_gc():
            node = Node()
            refs.append(weakref.ref(node))
            kept.append([[i] for i in range(2000)])
            del node
        assert _oldest(kept[-1][0])
    assert refs[0]() is None  # a full collection ran when the budget was spent


# -- the widening while sessions queue work ---------------------------------------------------


@pytest.fixture
def pauser(monkeypatch) -> Iterator[tuple[_Pauser, list[float]]]:
    now = [0.0]
    fresh = _Pauser(clock=lambda: now[0])
    monkeypatch.setattr(gcpause, "_PAUSER", fresh)
    yield fresh, now
    if fresh.hooked:
        gc.callbacks.remove(fresh._on_collection)


def test_registrations_widen_the_first_threshold_until_the_next_flush(pauser):
    p, _ = pauser
    gc.set_threshold(700, 11, 12)
    p.busy()
    assert gc.get_threshold() == (gcpause.WIDE_AT, 11, 12)
    p.busy()  # again: nothing more
    assert gc.get_threshold() == (gcpause.WIDE_AT, 11, 12)
    p.enter()
    assert gc.get_threshold() == (0, 11, 12)  # the flush pauses as before
    p.leave()
    assert gc.get_threshold() == (700, 11, 12) and collecting()  # what was found


def test_a_registration_during_another_threads_flush_keeps_the_pause(pauser):
    p, _ = pauser
    gc.set_threshold(700, 11, 12)
    p.enter()
    p.busy()
    assert gc.get_threshold() == (0, 11, 12)
    p.leave()
    assert gc.get_threshold() == (700, 11, 12)


def test_a_widening_no_registration_renews_ends_at_a_collection(pauser):
    p, now = pauser
    gc.set_threshold(700, 11, 12)
    p.busy()
    now[0] += gcpause.WIDE_FOR / 2
    gc.collect()
    assert gc.get_threshold() == (gcpause.WIDE_AT, 11, 12)  # renewed recently enough
    p.busy()
    now[0] += gcpause.WIDE_FOR
    gc.collect()  # e.g. a session dropped with pending work: it cannot keep the widening
    assert gc.get_threshold() == (700, 11, 12)
    p.busy()  # a later registration widens again
    assert gc.get_threshold() == (gcpause.WIDE_AT, 11, 12)


def test_thresholds_set_while_widened_are_kept(pauser):
    p, _ = pauser
    p.busy()
    gc.set_threshold(500, 3, 4)  # the application's own choice wins
    p.enter()
    assert gc.get_threshold() == (0, 3, 4)  # a flush pauses over it...
    p.leave()
    assert gc.get_threshold() == (500, 3, 4)  # ...and gives it back
    p.busy()
    gc.set_threshold(600, 3, 4)
    p.busy()
    gc.collect()
    assert gc.get_threshold() == (600, 3, 4)


def test_a_high_threshold_or_a_collector_off_is_left_alone(pauser):
    p, _ = pauser
    gc.set_threshold(500_000, 10, 10)
    p.busy()
    assert gc.get_threshold() == (500_000, 10, 10)
    p.enter()
    p.leave()
    gc.disable()
    gc.set_threshold(700, 10, 10)
    p.busy()
    assert gc.get_threshold() == (700, 10, 10) and not gc.isenabled()


def test_a_session_widens_while_it_queues_unless_pause_gc_is_off(pauser):
    gc.set_threshold(700, 10, 10)
    fake = FakeDynamo({"orders": ("pk",)})
    with Session(transport=fake) as s:
        s.put(Order(pk="o"))
        assert gc.get_threshold()[0] == gcpause.WIDE_AT
        s.get(Order, "x")
        s.flush()
        assert gc.get_threshold() == (700, 10, 10)
    with Session(transport=fake, pause_gc=False) as s:
        s.put(Order(pk="p"))
        s.get(Order, "y")
        assert gc.get_threshold() == (700, 10, 10)


_FINALISER_FLUSHES_DURING_BUSY = """
import gc, threading
from _dynamap.drivers.gcpause import _Pauser

current = []

class Flushes:  # garbage in a cycle whose finaliser runs a flush on the collecting thread
    def __init__(self):
        self.me = self

    def __del__(self):
        with current[-1].paused():
            pass

def run():
    # Sweep the first threshold so that, for some k, the automatic collection that
    # finds the garbage starts on an allocation inside busy()'s critical section.
    for k in range(1, 80):
        pauser = _Pauser(clock=lambda: 0.0)
        current.append(pauser)
        gc.collect()
        gc.set_threshold(k, 1000, 1000)
        Flushes()
        pauser.busy()
        gc.set_threshold(700, 10, 10)
        gc.callbacks.remove(pauser._on_collection)

worker = threading.Thread(target=run, daemon=True)
worker.start()
worker.join(20)
print("deadlocked" if worker.is_alive() else "ok")
"""


def test_a_finaliser_that_flushes_during_a_registrations_collection_does_not_deadlock():
    # Run apart: a thread stuck inside a collection would stop the collector for the
    # rest of this process (CPython runs one collection at a time).
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", _FINALISER_FLUSHES_DURING_BUSY],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "ok", out.stdout + out.stderr


def test_a_registration_racing_the_end_of_the_widening_does_not_stop_later_ones(pauser):
    p, _ = pauser
    gc.set_threshold(700, 10, 10)
    p.busy()
    p.enter()
    p.leave()  # the widening ends...
    p.last_busy = 0.0  # ...as a busy() on another thread writes its time, having read it set
    p.busy()
    assert gc.get_threshold()[0] == 700  # the stale time stands in the way...
    gc.collect()  # ...until the next collection clears it
    p.busy()
    assert gc.get_threshold() == (gcpause.WIDE_AT, 10, 10)


def test_an_interrupt_in_a_let_through_collection_ends_that_flush(pauser, monkeypatch):
    p, now = pauser
    gc.set_threshold(700, 10, 10)
    p.enter()  # a long flush
    now[0] += gcpause.MAX_PAUSE + 1

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gc, "collect", interrupted)
    with pytest.raises(KeyboardInterrupt), paused_gc():  # a second one, let through
        pytest.fail("not reached")
    monkeypatch.undo()
    assert p.depth == 1
    p.leave()
    assert gc.get_threshold() == (700, 10, 10)


def test_an_interrupt_while_widening_leaves_the_session_usable(monkeypatch):
    fake = FakeDynamo({"orders": ("pk",)})
    with Session(transport=fake) as s:

        def interrupted() -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(gcpause, "busy", interrupted)
        monkeypatch.setattr("_dynamap.session.facade.gc_busy", interrupted)
        with pytest.raises(KeyboardInterrupt):
            s.put(Order(pk="o"))
        monkeypatch.undo()
        s.put(Order(pk="o"))  # not refused as "another call is running"
