"""Shared fixtures: DynamoDB backends (moto, DynamoDB Local) and the fault proxy."""

from __future__ import annotations

import os
import signal
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.support.ddblocal import DynamoDBLocal, make_client
from tests.support.faultproxy import FaultProxy


def pytest_configure(config: pytest.Config) -> None:
    # The interrupt tests send SIGINT to the main thread. A test run started in the
    # background by a non-interactive shell (`cmd &`, as some CI runners do) inherits
    # SIGINT ignored, which Python keeps: those signals would vanish and such tests hang
    # or fail. Python's own handler makes the run behave as in a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

ALL_BACKENDS = ("moto", "dynamodb-local")
# Fixtures that talk to DynamoDB Local over HTTP: moto's mock_aws would swallow their traffic.
_LOCAL_FIXTURES = frozenset({"ddb_local", "proxy", "proxy_client", "direct_client"})
_DYNAMODB_FIXTURES = _LOCAL_FIXTURES | {"client", "backend"}


ALL_TRANSPORTS = ("fast", "botocore")


def selected_transports() -> list[str]:
    """The transports named in $DYNAMAP_TRANSPORTS (default: both).

    Every test that talks to a DynamoDB backend runs once per transport: "fast"
    (FastTransport, the default of ``Session(client)``) and "botocore" (Boto3Transport).
    """
    raw = os.environ.get("DYNAMAP_TRANSPORTS", ",".join(ALL_TRANSPORTS))
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ALL_TRANSPORTS))
    if unknown or not chosen:
        raise pytest.UsageError(
            f"DYNAMAP_TRANSPORTS={raw!r}: choose from {', '.join(ALL_TRANSPORTS)} (comma-separated)"
        )
    return chosen


def selected_backends() -> list[str]:
    """The backends named in $DYNAMAP_BACKENDS (default: all of them)."""
    raw = os.environ.get("DYNAMAP_BACKENDS", ",".join(ALL_BACKENDS))
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ALL_BACKENDS))
    if unknown or not chosen:
        raise pytest.UsageError(
            f"DYNAMAP_BACKENDS={raw!r}: choose from {', '.join(ALL_BACKENDS)} (comma-separated)"
        )
    return chosen


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a DynamoDB fixture as ``dynamodb``.

    Leave out the AsyncSession runs on moto (its in-process mock does not serve
    aiobotocore): they test nothing, so they are not listed as skipped either. With the
    "botocore" transport an AsyncSession sends through AiobotocoreTransport, with "fast"
    through AioFastTransport.
    """
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("session_flavor") == "async" and params.get("backend") == "moto":
            left.append(item)
            continue
        if _DYNAMODB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.dynamodb)
        kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses a DynamoDB fixture once per selected transport."""
    if _DYNAMODB_FIXTURES.intersection(metafunc.fixturenames):
        metafunc.parametrize("dynamap_transport", selected_transports(), indirect=True)


@pytest.fixture(autouse=True)
def dynamap_transport(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The transport ``Session(client)`` uses in this test (backend tests only).

    Parametrised by ``pytest_generate_tests`` for tests that use a DynamoDB fixture; other
    tests get None and the library's default.
    """
    from _dynamap.transport import fast

    kind: str | None = getattr(request, "param", None)
    if kind is None:
        yield None
        return
    saved, fast.DEFAULT_TRANSPORT = fast.DEFAULT_TRANSPORT, kind
    try:
        yield kind
    finally:
        fast.DEFAULT_TRANSPORT = saved


@pytest.fixture(scope="session")
def ddb_local() -> Iterator[DynamoDBLocal]:
    """One DynamoDB Local for the session, started the first time a test needs it.

    A missing java/npm or a failed start raises, so those tests fail (never skip).
    """
    server = DynamoDBLocal()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def running(server: DynamoDBLocal) -> DynamoDBLocal:
    """``server``, or a test failure with its log if the process has died."""
    if not server.is_running():
        pytest.fail(
            f"DynamoDB Local is no longer running; log {server.log_path}:\n{server.log_tail()}"
        )
    return server


@pytest.fixture(params=selected_backends())
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name: "moto" or "dynamodb-local" (restrict with $DYNAMAP_BACKENDS)."""
    return str(request.param)


@pytest.fixture
def client(backend: str, request: pytest.FixtureRequest) -> Iterator[DynamoDBClient]:
    """A low-level DynamoDB client on ``backend``."""
    if backend == "dynamodb-local":
        yield make_client(running(request.getfixturevalue("ddb_local")).endpoint)
        return
    clash = sorted(_LOCAL_FIXTURES.intersection(request.fixturenames))
    if clash:
        pytest.fail(f"the moto backend intercepts all botocore traffic; it cannot run with {clash}")
    from moto import mock_aws  # only the moto backend pays for importing moto

    # Function scope on purpose: mock_aws patches ALL of botocore while active.
    with mock_aws():
        yield make_client(None)


@pytest.fixture
def table_prefix() -> str:
    """A table-name prefix unique to this test (all tests share one DynamoDB Local)."""
    return f"t{uuid.uuid4().hex[:8]}-"


@pytest.fixture
def proxy(ddb_local: DynamoDBLocal) -> Iterator[FaultProxy]:
    """A started FaultProxy in front of DynamoDB Local, with no faults."""
    with FaultProxy(running(ddb_local).endpoint) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def proxy_client(proxy: FaultProxy) -> DynamoDBClient:
    """A client through ``proxy`` with few botocore retries, so the library's own retry.

    botocore's ``max_attempts`` counts retries: this is up to 3 attempts per call.
    """
    return make_client(
        proxy.endpoint,
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=10,
    )


@pytest.fixture
def direct_client(ddb_local: DynamoDBLocal) -> DynamoDBClient:
    """A client straight to DynamoDB Local, bypassing the proxy, to check the real state."""
    return make_client(running(ddb_local).endpoint)


# -- Session and AsyncSession: one test body for both ----------------------------------------


@pytest.fixture(params=["sync", "async"])
def session_flavor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Run a test module's `Session` as itself, then as an AsyncSession.

    A module opts in with `pytestmark = pytest.mark.usefixtures("session_flavor")`. The
    async run replaces the module's `Session` with `BlockingAsyncSession` (a real
    AsyncSession behind Session's interface); moto's in-process mock does not serve
    aiobotocore, so on the moto backend the async run is skipped.
    """
    if request.param == "sync":
        yield "sync"
        return
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "moto":
        pytest.skip("AsyncSession runs on DynamoDB Local (moto's mock does not serve aiobotocore)")
    from tests.support.aio import BlockingAsyncSession

    monkeypatch.setattr(request.module, "Session", BlockingAsyncSession)
    try:
        yield "async"
    finally:
        opened, BlockingAsyncSession.opened[:] = list(BlockingAsyncSession.opened), []
        for session in opened:
            session.shut()
