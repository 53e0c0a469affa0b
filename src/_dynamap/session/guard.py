"""`CallGuard`: a session serves one call at a time, and refuses a second instead of waiting.

A call made while another runs comes from another thread, or from a callback during a
flush (a validator, a transport, a clock). Either would change the unit of work while
it is being planned or settled, so it is refused with a DynamapError: the caller knows,
and nothing is done. A session handed from thread to thread between calls keeps working.
"""

from __future__ import annotations

import threading

from _dynamap.errors import DynamapError

__all__ = ["CallGuard"]


class CallGuard:
    """Admits one call at a time; `enter` raises while another call holds the guard."""

    __slots__ = ("_holder", "_lock")

    def __init__(self) -> None:
        # A lock taken without blocking is an atomic test-and-set: nobody ever waits on it.
        self._lock = threading.Lock()
        self._holder = 0  # the thread ident of the call inside, for the error message

    def enter(self, call: str) -> None:
        """Start `call` (e.g. "put"), or raise DynamapError if another call is running."""
        if not self._lock.acquire(blocking=False):
            raise self._refuse(call)
        self._holder = threading.get_ident()

    def leave(self) -> None:
        """End the current call."""
        self._holder = 0  # before the release, so no later refusal names a stale holder
        self._lock.release()

    def _refuse(self, call: str) -> DynamapError:
        holder = self._holder
        if holder == threading.get_ident():
            return DynamapError(
                f"Session.{call} was called during a flush of this session, from the flushing "
                f"thread (a callback such as a validator, a transport or a clock); nothing "
                f"was done: make the call before or after the flush"
            )
        name = next((t.name for t in threading.enumerate() if t.ident == holder), "?")
        return DynamapError(
            f"Session.{call}: this session is in use by another call (in thread {name!r}); "
            f"nothing was done. A session serves one call at a time: use one session per "
            f"thread, or hand it over between calls"
        )
