"""Pausing Python's cyclic garbage collector while a flush runs.

A flush allocates and keeps many small containers (decoded items, instances,
snapshots). Each time enough of them survive, CPython runs a collection, and now and
then a full one over the whole heap, which cost more CPU per item than decoding
(`bench/bench_gcpause.py`). While paused, reference counting still frees everything
that is not part of a cycle; cycles wait for the collector.

What the pause does, exactly:
- It sets the collector's first threshold to 0, which stops automatic collections
  (`gc.set_threshold`), and leaves `gc.isenabled()` alone. The collector is
  process-wide: while any flush runs, no thread's garbage is collected automatically
  (explicit `gc.collect()` calls still work).
- Overlapping flushes (several threads) share one pause; the last one out restores
  the thresholds it found. If the thresholds were changed meanwhile (by
  `gc.set_threshold` elsewhere), that change is kept; `gc.disable()`/`gc.enable()`
  calls made meanwhile are kept too, since the pause never touches that switch. A
  collector already off (disabled, or threshold 0) is not paused at all.
- When flushes overlap without a break, the pause does not starve the collector:
  once it has lasted `MAX_PAUSE` seconds, the next flush to start or end runs one
  full collection and the pause starts over.
- When the pause ends with many new objects alive (`PROMOTE_AT` or more: a large
  flush's instances, snapshots and their containers), they are moved to the oldest
  generation (`gc.freeze()` then `gc.unfreeze()`) instead of being traversed by the
  next young collection and again by the middle one: on a read of 10,000 items that
  collection cost more than decoding a quarter of them. Cycles
  among them (garbage made during the pause, by anyone) then wait for a full
  collection; so that they never wait unboundedly, every `PROMOTE_BUDGET` promoted
  objects the pause runs one itself when it ends. That collection walks the whole heap
  (about 0.4 s for the benchmark's 440,000 objects, cold): at one per million promoted
  objects, one read or write flush of 10,000 items in three paid it, about 40 µs per
  item of that flush. Since the objects a flush leaves are mostly live instances and
  snapshots, and cycles among them rare, it runs every four million. An application that uses
  `gc.freeze()` itself (its freeze count is not zero) is never promoted.
  They are counted by `gc.get_count()`, which is net of every object freed, old ones
  too: a write flush that drops its queued writes, made by the puts before the pause,
  could report 4,700 young objects while 40,000 of its snapshots were young, and the
  young collection that followed cost 20 to 30 ms per 10,000 items written. So a
  pause that lasted `COUNT_AFTER` seconds or more counts its young objects one by one
  (`gc.get_objects(0)`, a walk of pointers far cheaper than a collection); shorter ones,
  small flushes, go by the count alone.

Between flushes, while a session registers work (`busy()`: each get, put, delete or
update), the first threshold is widened to `WIDE_AT` instead: collections still run,
in larger steps. Registrations allocate a few small containers each (pending reads and
writes, keys, identity-map entries); at the default threshold of 700 they set off a
young collection every hundred or so calls and, on a large heap, full ones, which cost
more than the registrations themselves (`bench/README.md`). At 100,000, a batch of
10,000 puts or gets (about 8 to 10 containers each) queues without a collection, and
the flush's pause then promotes them with its own objects, unwalked. Garbage cycles
made meanwhile wait for at most that many new objects. The widening ends with
the next flush's pause, or, once no registration was made for `WIDE_FOR` seconds, at
the next collection (a `gc.callbacks` hook): an abandoned session cannot keep it.
Thresholds changed meanwhile by anyone else are kept, as for the pause.

A collection can start on any allocation, also inside the pauser's own critical
section; a finaliser it runs there that flushes or registers work on that thread
leaves the collector to the call it interrupted (the flush runs unpaused) rather than
wait for a lock its own thread holds.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager

__all__ = [
    "COUNT_AFTER",
    "MAX_PAUSE",
    "PROMOTE_AT",
    "PROMOTE_BUDGET",
    "WIDE_AT",
    "WIDE_FOR",
    "busy",
    "paused_gc",
]

MAX_PAUSE = 1.0  # seconds of uninterrupted pause before a collection is let through
PROMOTE_AT = 20_000  # new objects alive at the end of a pause from which they are promoted
PROMOTE_BUDGET = 4_000_000  # objects promoted between two full collections run here
WIDE_AT = 100_000  # the first threshold while sessions register work between flushes
COUNT_AFTER = 0.05  # seconds of pause after which its young objects are counted one by one
WIDE_FOR = 1.0  # seconds without a registration after which the widening ends


class _Pauser:
    """Counts the flushes running with the collector paused, across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.depth = 0
        # The thresholds found when the pause or the widening began, and those set then
        # (None while neither runs, or once someone else changed them).
        self.found: tuple[int, int, int] | None = None
        self.applied: tuple[int, int, int] | None = None
        self.since = 0.0  # when the pause (or the last collection let through) began
        self.promoted = 0  # objects promoted since the last full collection run here
        self.last_busy: float | None = None  # the last registration, while widened
        self.hooked = False
        # The thread holding the lock. A collection can start on an allocation inside
        # the critical section and run a finaliser that flushes or registers on that
        # thread: it must not wait for the lock its own thread holds.
        self.owner: int | None = None

    @contextmanager
    def paused(self) -> Generator[None, None, None]:
        counted = self.enter()
        try:
            yield
        finally:
            if counted:
                self.leave()

    def _acquire(self) -> bool:
        """Take the lock; False (not taken) if this thread holds it already (a
        finaliser run by a collection inside the critical section: see `owner`)."""
        me = threading.get_ident()
        if self.owner == me:
            return False
        self.lock.acquire()
        self.owner = me
        return True

    def _release(self) -> None:
        self.owner = None
        self.lock.release()

    def busy(self) -> None:
        """A registration: widen the first threshold (see the module notes), if it is not."""
        if self.last_busy is not None:  # widened: only note the time (no lock needed)
            self.last_busy = self.clock()
            return
        if not self._acquire():
            return  # inside this thread's own critical section: it decides
        try:
            if self.depth == 0 and self._take():
                self.last_busy = self.clock()
                self._apply()
        finally:
            self._release()
        if not self.hooked:
            self.hooked = True
            gc.callbacks.append(self._on_collection)

    def enter(self) -> bool:
        """Start a flush; False if it is not counted (started by a finaliser inside
        this thread's own critical section: it runs unpaused and must not `leave`)."""
        due = False
        if not self._acquire():
            return False
        try:
            if self.depth == 0:
                if self._take():
                    self.since = self.clock()
            else:
                due = self._due()
            self.depth += 1
            self._apply()
        finally:
            self._release()
        if due:  # outside the lock: a finaliser may start a flush on this very thread
            try:
                gc.collect()
            except BaseException:  # an interrupt: this flush never starts, so never leaves
                self.leave()
                raise
        return True

    def leave(self) -> None:
        due = False
        self.lock.acquire()  # never re-entered: only a counted `enter` is left
        self.owner = threading.get_ident()
        try:
            self.depth -= 1
            if self.depth > 0:
                due = self._due()
            elif self._owned():
                due = self._promote()
                self.last_busy = None  # registrations after the flush widen it again
                self._apply()
        finally:
            self._release()
        if due:  # outside the lock: a finaliser may start a flush on this very thread
            gc.collect()

    def _take(self) -> bool:
        """Start managing the thresholds (lock held); False if the collector is off."""
        if self._owned():
            return True
        found = gc.get_threshold()
        if not gc.isenabled() or found[0] <= 0:
            return False  # a collector already off is left alone
        self.found = self.applied = found
        return True

    def _owned(self) -> bool:
        """Whether the thresholds are still as this pauser set them (lock held).

        If anyone else set them meanwhile, theirs win: the pauser forgets what it
        found and leaves them alone until it starts over.
        """
        if self.found is None:
            return False
        if gc.get_threshold() != self.applied:
            self.found = self.applied = None
            self.last_busy = None
            return False
        return True

    def _apply(self) -> None:
        """Set the thresholds the state asks for (lock held; only while owned)."""
        found = self.found
        if found is None:
            return
        if self.depth > 0:
            wanted: tuple[int, int, int] | None = (0, found[1], found[2])
        elif self.last_busy is not None:
            wanted = (max(found[0], WIDE_AT), found[1], found[2])
        else:
            wanted = None  # neither: put back what was found, and stop managing
        gc.set_threshold(*(wanted or found))
        self.applied = wanted
        if wanted is None:
            self.found = None

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        """A collection starts: end a widening no registration renewed for WIDE_FOR."""
        last = self.last_busy
        if phase != "start" or last is None:
            return
        if self.found is None:
            # A registration raced the end of the widening (it read `last_busy` just
            # before another thread cleared it): forget it, so that the next one widens.
            self.last_busy = None
            return
        if self.clock() - last < WIDE_FOR:
            return
        if not self.lock.acquire(blocking=False):
            return  # the lock's holder decides; the next collection checks again
        try:
            if self.depth == 0 and self._owned():
                self.last_busy = None
                self._apply()
        finally:
            self.lock.release()

    def _promote(self) -> bool:
        """Move the pause's many survivors to the oldest generation (see the module
        notes); whether a full collection is due now, to bound how long cycles wait."""
        if gc.get_freeze_count():
            return False  # the application freezes objects itself: never promote
        alive = gc.get_count()[0]  # tracked objects made since the last collection, alive
        if alive < PROMOTE_AT and self.clock() - self.since >= COUNT_AFTER:
            # That count is net of every object freed, old ones too: a flush that dropped
            # its queued writes (made before the pause, by the puts) can say a few
            # thousand while tens of thousands of its objects are young. A long pause
            # can afford to count them (a pointer walk, far cheaper than a collection).
            alive = len(gc.get_objects(generation=0))
        if alive < PROMOTE_AT:
            return False
        gc.freeze()  # every tracked object to the permanent generation...
        gc.unfreeze()  # ...and back into the oldest one, untraversed; young counts reset
        self.promoted += alive
        if self.promoted < PROMOTE_BUDGET:
            return False
        self.promoted = 0
        return True

    def _due(self) -> bool:
        """Whether to let a collection through now (the pause has lasted long enough)."""
        if self._owned() and self.clock() - self.since >= MAX_PAUSE:
            self.since = self.clock()
            return True
        return False


_PAUSER = _Pauser()


def busy() -> None:
    """A session registers work: widen the collector's first threshold (module notes)."""
    _PAUSER.busy()


@contextmanager
def paused_gc(enabled: bool = True) -> Generator[None, None, None]:
    """Pause automatic cyclic collection for the block (nesting and threads are counted)."""
    if not enabled:
        yield
        return
    with _PAUSER.paused():
        yield
