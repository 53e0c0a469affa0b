"""Moving started requests on from one thread: wait for their sockets, step those ready.

The multiplexing driver (`drivers/multiplex.py`) waits this way for what it has in
flight, and for a request it abandoned, which ends on a worker. One loop serves both:
`poll` the sockets of those not done (to write while `wants_write`, else to read),
`step` those ready, then end those that made no progress for their read timeout.
"""

from __future__ import annotations

import math
import select
import time
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from _dynamap.transport.base import Pollable

__all__ = ["POLL_AT_MOST", "poll_once", "step_until_done"]

# The longest single wait: expired requests are noticed at least this often.
POLL_AT_MOST = 1.0


P = TypeVar("P", bound=Pollable)


def poll_once(
    requests: Iterable[P], timeout: float, step: Callable[[P], None] | None = None
) -> None:
    """Wait at most `timeout` seconds (and `POLL_AT_MOST`) for a socket of one of
    `requests` not done, step each that is ready, then let those waited on expire.

    An exception from a step propagates at once (nothing more is stepped or expired).

    Args:
        requests: the requests; those done are passed over.
        timeout: the longest wait, in seconds.
        step: what moves one on (default: its `step`), e.g. to note which is being moved.
    """
    poller = select.poll()
    by_fd: dict[int, P] = {}
    for started in requests:
        if started.done:
            continue
        fd = started.fileno()
        by_fd[fd] = started
        poller.register(fd, select.POLLOUT if started.wants_write else select.POLLIN)
    if not by_fd:
        return  # all done: nothing to wait for
    for fd, _ in poller.poll(math.ceil(min(timeout, POLL_AT_MOST) * 1000)):
        if step is None:
            by_fd[fd].step()
        else:
            step(by_fd[fd])
    now = time.monotonic()
    for started in by_fd.values():
        started.expired(now)


def step_until_done(
    requests: Collection[P],
    timeout: float,
    step: Callable[[P], None] | None = None,
    *,
    poll_at_most: float = POLL_AT_MOST,
) -> bool:
    """Move `requests` on (`poll_once`) until all are done or `timeout` seconds pass;
    whether all are done.

    Args:
        requests: the requests; those done are passed over.
        timeout: how long they may take, in seconds (`math.inf`: until each ends,
            by its answer or its read timeout).
        step: as in `poll_once`.
        poll_at_most: the longest single wait (how late an expiry may be noticed).
    """
    end = time.monotonic() + timeout
    while any(not started.done for started in requests):
        left = end - time.monotonic()
        if left <= 0:
            return False
        poll_once(requests, min(left, poll_at_most), step)
    return True
