"""Pausing Python's cyclic garbage collector while a flush runs.

A flush allocates and keeps many small containers (decoded items, instances,
snapshots). Each time enough of them survive, CPython runs a full collection
over the whole heap, which here cost more CPU per item than decoding. While
paused, reference counting still frees everything that is not part of a cycle;
cycles wait until the collector is enabled again at the end of the flush.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Generator
from contextlib import contextmanager

__all__ = ["paused_gc"]


class _Pauser:
    """Counts the flushes running with the collector paused, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False  # the collector's state when the first of them began

    @contextmanager
    def paused(self) -> Generator[None, None, None]:
        with self.lock:
            if self.depth == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.depth += 1
        try:
            yield
        finally:
            with self.lock:
                self.depth -= 1
                # Only the last flush out turns it back on, and only if it was on before.
                if self.depth == 0 and self.was_enabled:
                    gc.enable()


_PAUSER = _Pauser()


@contextmanager
def paused_gc(enabled: bool = True) -> Generator[None, None, None]:
    """Pause the cyclic collector for the block (nesting and threads are counted)."""
    if not enabled:
        yield
        return
    with _PAUSER.paused():
        yield
