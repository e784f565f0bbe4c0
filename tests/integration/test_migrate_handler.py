"""MigrateFunction (src/migrate/app.py): the CloudFormation custom resource that migrates the schema.

CloudFormation's side is played by a tiny HTTP server on 127.0.0.1 standing in for the
presigned S3 ResponseURL; it records every PUT and stops itself after a deadline even if
a test hangs. ``connect``/``apply_migrations`` are replaced by recording fakes here: what
is under test is the custom-resource protocol (always answer, never drop data), while the
migrations themselves run against a real PostgreSQL in test_postgres.py and in the last
test below.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cloudshelf.repositories.postgres import connection as pg_connection
from cloudshelf.repositories.postgres import migrate as pg_migrate
from cloudshelf.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
SERVER_DEADLINE_S = 30
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/cloudshelf-dev/0a1b2c3d"


def _load_app() -> ModuleType:
    """Import src/migrate/app.py the way Lambda does, under a name of its own."""
    name = "cloudshelf_fn_MigrateFunction_app"
    spec = importlib.util.spec_from_file_location(name, ROOT / "src" / "migrate" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


app = _load_app()


@dataclass
class LambdaContext:
    """The parts of the Lambda context that Powertools and the handler read."""

    function_name: str = "cloudshelf-dev-MigrateFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-dev-MigrateFunction"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Put:
    """One request CloudFormation's bucket received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw_size: int


@dataclass
class ResponseBucket:
    """The stand-in for the presigned ResponseURL: records PUTs, answers with scripted statuses."""

    url: str
    received: queue.Queue[Put]
    statuses: list[int] = field(default_factory=list)

    def puts(self) -> list[Put]:
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out


@pytest.fixture
def bucket() -> Iterator[ResponseBucket]:
    received: queue.Queue[Put] = queue.Queue()
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.put(Put("PUT", self.path, dict(self.headers.items()), json.loads(raw), len(raw)))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    deadline = threading.Timer(SERVER_DEADLINE_S, server.shutdown)  # stops itself whatever happens
    thread.start()
    deadline.start()
    port = server.server_address[1]
    try:
        yield ResponseBucket(f"http://127.0.0.1:{port}/cfn-response?X-Amz-Signature=test", received, statuses)
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeConnection:
    """Only what the handler does with a connection: close it."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@dataclass
class Migrations:
    """Records what the handler asked of the database layer."""

    result: list[str] = field(default_factory=lambda: ["0001", "0002"])
    error: Exception | None = None
    connect_error: Exception | None = None
    connections: list[FakeConnection] = field(default_factory=list)
    applied_on: list[FakeConnection] = field(default_factory=list)

    def connect(self) -> FakeConnection:
        if self.connect_error is not None:
            raise self.connect_error
        conn = FakeConnection()
        self.connections.append(conn)
        return conn

    def apply(self, conn: FakeConnection) -> list[str]:
        self.applied_on.append(conn)
        if self.error is not None:
            raise self.error
        return list(self.result)


@pytest.fixture
def migrations(monkeypatch: pytest.MonkeyPatch) -> Migrations:
    fake = Migrations()
    monkeypatch.setattr(pg_connection, "connect", fake.connect)
    monkeypatch.setattr(pg_migrate, "apply_migrations", fake.apply)
    monkeypatch.setattr(app.time, "sleep", lambda _seconds: None)  # no back-off waits in tests
    return fake


def cfn_event(request_type: str, url: str, **extra: Any) -> dict[str, Any]:
    """A CloudFormation custom-resource request as Lambda receives it."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-dev-MigrateFunction",
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": f"req-{request_type.lower()}",
        "LogicalResourceId": "SchemaMigration",
        "ResourceType": "Custom::SchemaMigration",
        "ResourceProperties": {"ServiceToken": "...", "SharedLayer": "arn:...:layer:shared:7", "SchemaRevision": "1"},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "cloudshelf-schema"
    event.update(extra)
    return event


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def invoke() -> Invoke:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = app.lambda_handler(event, LambdaContext())
        return result

    return call


# ------------------------------------------------------------------ Create / Update
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_apply_migrations_and_answer_success(
    request_type: str, bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    # Given two pending migrations
    extra = {"OldResourceProperties": {"SchemaRevision": "0"}} if request_type == "Update" else {}

    # When CloudFormation sends the request
    result = invoke(cfn_event(request_type, bucket.url, **extra))

    # Then they are applied on one connection, which is closed afterwards
    assert len(migrations.connections) == 1
    assert migrations.applied_on == migrations.connections
    assert migrations.connections[0].closed
    # And CloudFormation hears SUCCESS with the applied versions, once
    (put,) = bucket.puts()
    assert put.method == "PUT"
    assert put.path == "/cfn-response?X-Amz-Signature=test"
    assert put.headers.get("Content-Type", "") == ""
    assert put.body == {
        "Status": "SUCCESS",
        "Reason": put.body["Reason"],
        "PhysicalResourceId": "cloudshelf-schema",
        "StackId": STACK_ID,
        "RequestId": f"req-{request_type.lower()}",
        "LogicalResourceId": "SchemaMigration",
        "Data": {"applied": ["0001", "0002"]},
    }
    assert "2 migration(s)" in put.body["Reason"]
    assert LambdaContext.log_stream_name in put.body["Reason"]
    assert result["Status"] == "SUCCESS"


def test_nothing_pending_is_still_a_success(bucket: ResponseBucket, migrations: Migrations, invoke: Invoke) -> None:
    migrations.result = []

    invoke(cfn_event("Update", bucket.url))

    (put,) = bucket.puts()
    assert (put.body["Status"], put.body["Data"]) == ("SUCCESS", {"applied": []})


# ------------------------------------------------------------------ failures
def test_a_failing_migration_answers_failed_with_the_reason(
    bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    # Given a migration that fails
    migrations.error = RuntimeError("migration 0002 changed after it was applied")

    # When CloudFormation asks for an update, Then the handler itself does not raise
    result = invoke(cfn_event("Update", bucket.url))

    # And CloudFormation hears FAILED, with the error and where the logs are
    (put,) = bucket.puts()
    assert put.body["Status"] == "FAILED"
    assert "RuntimeError: migration 0002 changed after it was applied" in put.body["Reason"]
    assert LambdaContext.log_stream_name in put.body["Reason"]
    assert put.body["PhysicalResourceId"] == "cloudshelf-schema"  # no replacement, so no Delete follows
    assert put.body["Data"] == {}
    assert migrations.connections[0].closed
    assert result["Status"] == "FAILED"


def test_an_unreachable_database_answers_failed(bucket: ResponseBucket, migrations: Migrations, invoke: Invoke) -> None:
    migrations.connect_error = OSError("could not connect to server: Connection timed out")

    invoke(cfn_event("Create", bucket.url))

    (put,) = bucket.puts()
    assert put.body["Status"] == "FAILED"
    assert "OSError: could not connect to server" in put.body["Reason"]
    assert migrations.applied_on == []


def test_the_answer_stays_within_cloudformations_size_limit(
    bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    migrations.error = RuntimeError("x" * 20_000)

    invoke(cfn_event("Create", bucket.url))

    (put,) = bucket.puts()
    assert put.body["Status"] == "FAILED"
    assert put.raw_size < 4096


def test_a_failed_answer_is_retried(bucket: ResponseBucket, migrations: Migrations, invoke: Invoke) -> None:
    # Given CloudFormation's bucket failing once
    bucket.statuses.extend([503])

    # When the handler answers, Then it tries again and the second answer lands
    invoke(cfn_event("Create", bucket.url))

    first, second = bucket.puts()
    assert first.body == second.body
    assert second.body["Status"] == "SUCCESS"


def test_an_answer_that_never_lands_raises_so_lambda_retries(
    bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    bucket.statuses.extend([500, 500, 500])

    with pytest.raises(OSError, match="500"):
        invoke(cfn_event("Create", bucket.url))

    assert len(bucket.puts()) == app.SEND_ATTEMPTS


# ------------------------------------------------------------------ Delete
def test_delete_never_touches_the_database(bucket: ResponseBucket, migrations: Migrations, invoke: Invoke) -> None:
    # When the resource (or the whole stack) is deleted
    invoke(cfn_event("Delete", bucket.url))

    # Then nothing connects, nothing migrates, nothing is dropped, and CloudFormation hears SUCCESS
    assert migrations.connections == []
    assert migrations.applied_on == []
    (put,) = bucket.puts()
    assert put.body["Status"] == "SUCCESS"
    assert put.body["PhysicalResourceId"] == "cloudshelf-schema"
    assert "kept" in put.body["Reason"]


def test_delete_succeeds_even_when_the_database_is_gone(
    bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    migrations.connect_error = OSError("no such host")

    invoke(cfn_event("Delete", bucket.url))

    (put,) = bucket.puts()
    assert put.body["Status"] == "SUCCESS"


# ------------------------------------------------------------------ operators
def test_a_direct_invoke_migrates_and_returns_the_versions(
    bucket: ResponseBucket, migrations: Migrations, invoke: Invoke
) -> None:
    # `sam remote invoke MigrateFunction --event '{"action": "migrate"}'`
    result = invoke({"action": "migrate"})

    assert result == {"applied": ["0001", "0002"]}
    assert migrations.connections[0].closed
    assert bucket.puts() == []  # no CloudFormation answer for a direct invoke


def test_a_direct_invoke_that_fails_raises(migrations: Migrations, invoke: Invoke) -> None:
    # An operator sees the error (sam remote invoke prints it), rather than a quiet success
    migrations.error = RuntimeError("relation already exists")

    with pytest.raises(RuntimeError, match="relation already exists"):
        invoke({"action": "migrate"})
    assert migrations.connections[0].closed


@pytest.mark.parametrize("event", [{}, {"action": "drop"}, {"hello": "world"}])
def test_any_other_event_is_refused(event: dict[str, Any], migrations: Migrations, invoke: Invoke) -> None:
    with pytest.raises(ValueError, match="migrate"):
        invoke(event)
    assert migrations.connections == []


# ------------------------------------------------------------------ real PostgreSQL
def test_against_a_real_database_an_up_to_date_schema_applies_nothing(
    postgres: Any, bucket: ResponseBucket, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the local PostgreSQL with every migration applied (the session fixture does that)
    monkeypatch.setenv("CLOUDSHELF_DB_DSN", postgres.dsn)
    get_settings.cache_clear()
    try:
        # When CloudFormation re-runs the migration on an update
        invoke(cfn_event("Update", bucket.url))
    finally:
        get_settings.cache_clear()

    # Then the real code connects, finds nothing pending and reports success
    (put,) = bucket.puts()
    assert (put.body["Status"], put.body["Data"]) == ("SUCCESS", {"applied": []}), put.body["Reason"]
