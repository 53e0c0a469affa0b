"""The poll loop the multiplexing driver moves its requests on with, on pipes."""

from __future__ import annotations

import os
import time

from _dynamap.transport.polling import poll_once, step_until_done


class Piped:
    """A request whose answer is a byte written to a pipe; it expires when told to."""

    def __init__(self) -> None:
        self.read, self.write = os.pipe()
        self.done = False
        self.wants_write = False
        self.steps = 0
        self.expire = False
        self.expired_at: list[float] = []

    def fileno(self) -> int:
        return self.read

    def step(self) -> None:
        self.steps += 1
        self.done = os.read(self.read, 1) == b"x"

    def expired(self, now: float) -> bool:
        self.expired_at.append(now)
        self.done = self.done or self.expire
        return self.expire

    def close(self) -> None:
        os.close(self.read)
        os.close(self.write)


def test_those_ready_are_stepped_through_the_given_step_and_the_others_wait():
    ready, waiting = Piped(), Piped()
    os.write(ready.write, b"x")
    stepped: list[Piped] = []
    poll_once([ready, waiting], 5.0, stepped.append)
    assert stepped == [ready] and ready.steps == 0  # moved on by the given step only
    assert len(ready.expired_at) == len(waiting.expired_at) == 1
    for piped in (ready, waiting):
        piped.close()


def test_requests_are_moved_on_until_all_are_done():
    first, second = Piped(), Piped()
    os.write(first.write, b"x")
    os.write(second.write, b"x")
    assert step_until_done([first, second], 5.0)
    assert first.steps == second.steps == 1
    before = first.expired_at[:]
    assert step_until_done([first, second], 5.0)  # all done: nothing is waited on
    assert first.expired_at == before
    for piped in (first, second):
        piped.close()


def test_what_is_not_done_in_time_is_left_and_said_so():
    silent = Piped()
    began = time.monotonic()
    assert not step_until_done([silent], 0.2, poll_at_most=0.05)
    assert 0.2 <= time.monotonic() - began < 2.0
    assert len(silent.expired_at) >= 3 and not silent.done  # expiry checked each wait
    silent.expire = True  # its read timeout: it ends without an answer
    assert step_until_done([silent], 5.0, poll_at_most=0.05) and silent.steps == 0
    silent.close()
