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
- When the pause ends with many new objects alive (`PROMOTE_AT` or more, counted by
  `gc.get_count()`: a large flush's instances, snapshots and their containers), they
  are moved to the oldest generation (`gc.freeze()` then `gc.unfreeze()`) instead of
  being traversed by the next young collection and again by the middle one: on a read
  of 10,000 items that collection cost more than decoding a quarter of them. Cycles
  among them (garbage made during the pause, by anyone) then wait for a full
  collection; so that they never wait unboundedly, every `PROMOTE_BUDGET` promoted
  objects the pause runs one itself when it ends. An application that uses
  `gc.freeze()` itself (its freeze count is not zero) is never promoted.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager

__all__ = ["MAX_PAUSE", "PROMOTE_AT", "PROMOTE_BUDGET", "paused_gc"]

MAX_PAUSE = 1.0  # seconds of uninterrupted pause before a collection is let through
PROMOTE_AT = 20_000  # new objects alive at the end of a pause from which they are promoted
PROMOTE_BUDGET = 1_000_000  # objects promoted between two full collections run here


class _Pauser:
    """Counts the flushes running with the collector paused, across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.depth = 0
        self.found: tuple[int, int, int] | None = None  # thresholds found, while paused
        self.since = 0.0  # when the pause (or the last collection let through) began
        self.promoted = 0  # objects promoted since the last full collection run here

    @contextmanager
    def paused(self) -> Generator[None, None, None]:
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def enter(self) -> None:
        due = False
        with self.lock:
            if self.depth == 0:
                found = gc.get_threshold()
                if gc.isenabled() and found[0] > 0:
                    self.found = found
                    gc.set_threshold(0, found[1], found[2])
                    self.since = self.clock()
            else:
                due = self._due()
            self.depth += 1
        if due:  # outside the lock: a finaliser may start a flush on this very thread
            gc.collect()

    def leave(self) -> None:
        due = False
        with self.lock:
            self.depth -= 1
            if self.depth > 0:
                due = self._due()
            else:
                found, self.found = self.found, None
                # Restore only what is still ours: a threshold set meanwhile wins.
                if found is not None and gc.get_threshold() == (0, found[1], found[2]):
                    due = self._promote()
                    gc.set_threshold(*found)
        if due:  # outside the lock: a finaliser may start a flush on this very thread
            gc.collect()

    def _promote(self) -> bool:
        """Move the pause's many survivors to the oldest generation (see the module
        notes); whether a full collection is due now, to bound how long cycles wait."""
        alive = gc.get_count()[0]  # tracked objects made since the last collection, alive
        if alive < PROMOTE_AT or gc.get_freeze_count():
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
        if self.found is not None and self.clock() - self.since >= MAX_PAUSE:
            self.since = self.clock()
            return True
        return False


_PAUSER = _Pauser()


@contextmanager
def paused_gc(enabled: bool = True) -> Generator[None, None, None]:
    """Pause automatic cyclic collection for the block (nesting and threads are counted)."""
    if not enabled:
        yield
        return
    with _PAUSER.paused():
        yield
