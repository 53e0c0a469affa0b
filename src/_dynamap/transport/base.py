"""The transport seam: call a DynamoDB operation with parameters, get the parsed response."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from _dynamap.codec.wireread import BatchGetReader

__all__ = [
    "Multiplexing",
    "Pollable",
    "Prepared",
    "Preparing",
    "Started",
    "Transport",
    "wraps_call",
    "wraps_send",
]


@runtime_checkable
class Transport(Protocol):
    """Anything that can call a DynamoDB operation; sync drivers use `call`.

    A transport may also have a `request_timeout` attribute: the longest one call can
    take, in seconds. A flush waits that long for requests in flight past its deadline
    or after an interrupt (60 s when the attribute is absent).
    """

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` (e.g. "BatchGetItem") and return the parsed response.

        Raises TransportError for service and connection errors, with
        `TransportError.NOT_SENT` or `TransportError.NO_ANSWER` as the code when no
        answer came back; any other exception counts as a maybe-applied failure.

        Args:
            operation: the DynamoDB operation name, as in the API reference.
            params: the request parameters, in DynamoDB's JSON shape (boto3's client form).
        """
        ...


class Prepared:
    """A request signed and encoded ahead of sending: what `Preparing.send` takes.

    `size` is its body's length in bytes (what holding it costs); `request` is the
    transport's own form of it. `reader` is set by the driver for a BatchGetItem whose
    answer can be read straight into models (`codec/wireread.py`): a transport that
    parses JSON itself may use it, and must parse the general way when it answers None.
    """

    __slots__ = ("reader", "request", "size")

    def __init__(self, request: Any, size: int) -> None:
        self.request = request
        self.size = size
        self.reader: BatchGetReader | None = None


@runtime_checkable
class Preparing(Protocol):
    """A transport that can sign and encode a request before it is sent.

    The sync driver prepares the next requests in one run on its own thread, while
    their data is still in the CPU's caches, and the workers only send them. Sending a
    prepared request behaves exactly as `call` with the same parameters, except that
    the signature dates from when it was prepared (the driver prepares again what
    waited too long).
    """

    def prepare(self, operation: str, params: dict[str, Any]) -> Prepared:
        """Sign and encode `operation` with `params` for a later `send`.

        Args:
            operation: the DynamoDB operation name.
            params: the request parameters, in boto3's client form.
        """
        ...

    def send(self, operation: str, prepared: Prepared) -> dict[str, Any]:
        """Send a prepared request; return and raise as `call` does.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        ...


class Pollable(Protocol):
    """A request moved on by `step` when its socket (`fileno`) is ready to read, or to
    write while `wants_write`, until `done` (what `transport/polling.py` needs)."""

    @property
    def done(self) -> bool:
        """Whether it has ended (for a `Started`: its outcome is known, `result` tells it)."""
        ...

    @property
    def wants_write(self) -> bool:
        """Whether it waits for its socket to take more of the request."""
        ...

    def fileno(self) -> int:
        """The socket to wait on."""
        ...

    def step(self) -> None:
        """Send or read what can be, without blocking."""
        ...

    def expired(self, now: float) -> bool:
        """End it, as not answered, if it made no progress for the read timeout.

        Args:
            now: `time.monotonic()`.
        """
        ...


@runtime_checkable
class Started(Pollable, Protocol):
    """A request `Multiplexing.start` started: a `Pollable` whose outcome `result`
    tells once it is `done`."""

    def cut(self) -> None:
        """An interrupt came inside `step`: send nothing more; it ends as not answered
        once the server is done with what it got (moved on by `step` until `done`)."""
        ...

    def close(self) -> None:
        """Give up on it: it may or may not have been applied."""
        ...

    def result(self) -> dict[str, Any]:
        """Once done: the parsed answer, or the TransportError `call` would raise."""
        ...


@runtime_checkable
class Multiplexing(Protocol):
    """A preparing transport whose requests one thread can have in flight together.

    The sync driver then sends, waits and reads on the flushing thread itself, without
    workers (see `drivers/multiplex.py`). `multiplexed` may be False for a transport
    that can only do it in some configurations.
    """

    multiplexed: bool

    def prepare(self, operation: str, params: dict[str, Any]) -> Prepared:
        """As `Preparing.prepare`.

        Args:
            operation: the DynamoDB operation name.
            params: the request parameters, in boto3's client form.
        """
        ...

    def start(self, operation: str, prepared: Prepared) -> Started:
        """Start sending a prepared request; raise as `call` does if it cannot be.

        Args:
            operation: the operation it was prepared for.
            prepared: what `prepare` returned.
        """
        ...


def wraps_call(transport: object) -> bool:
    """Whether a class of `transport` overrides `call` later than `send` (a subclass or
    mixin that logs or counts requests in `call`): it expects every request to go
    through `call`, so drivers must not prepare its requests ahead and `send` them.

    Args:
        transport: a sync or async transport.
    """
    return _defined_before(transport, "call", "send")


def wraps_send(transport: object) -> bool:
    """Whether a class of `transport` overrides `call` or `send` later than `start`: it
    expects every request to go through one of those, so the driver must not `start`
    them itself.

    Args:
        transport: a sync transport.
    """
    return _defined_before(transport, "call", "start") or _defined_before(
        transport, "send", "start"
    )


def _defined_before(transport: object, first: str, then: str) -> bool:
    mro = type(transport).__mro__
    one = next((i for i, c in enumerate(mro) if first in c.__dict__), len(mro))
    other = next((i for i, c in enumerate(mro) if then in c.__dict__), len(mro))
    return one < other
