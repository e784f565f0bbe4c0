"""Handlers and repositories on moto's DynamoDB, fed with the events in events/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
from moto import mock_aws

from cloudshelf.api import deps, idempotency
from cloudshelf.repositories.dynamodb.client import dynamodb_client
from cloudshelf.repositories.factory import clear_caches
from cloudshelf.repositories.postgres.migrate import apply_migrations
from cloudshelf_dev.events import claims_for
from cloudshelf_dev.handlers import handler_for
from cloudshelf_dev.moto_server import LockedMotoServer
from cloudshelf_dev.postgres import LocalPostgres
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names

EVENTS = Path(__file__).resolve().parents[2] / "events"
FUNCTION_OF = {"books": "BooksFunction", "categories": "BooksFunction", "cart": "CartsFunction"}
FUNCTION_OF.update({"users": "UsersFunction", "orders": "OrdersFunction"})


@dataclass
class LambdaContext:
    """The parts of the Lambda context that Powertools reads."""

    function_name: str = "cloudshelf-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class Reply:
    """A handler's answer, decoded."""

    status: int
    body: Any
    headers: dict[str, list[str]] = field(default_factory=dict)


def reset_caches() -> None:
    """Forget every cached client, repository and setting."""
    clear_caches()
    idempotency.clear_cache()
    deps.cart_rules.cache_clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A real PostgreSQL server on loopback for the session, with the migrations applied."""
    server = LocalPostgres().start()
    conn = psycopg2.connect(server.dsn)
    try:
        apply_migrations(conn)
    finally:
        conn.close()
    yield server
    server.stop()


@pytest.fixture(params=["1", "2"], ids=["phase1", "phase2"])
def phase(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which data phase the test runs in: 1 (all DynamoDB) or 2 (books, users, orders in PostgreSQL)."""
    value: str = request.param
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", value)
    if value == "2":
        server: LocalPostgres = request.getfixturevalue("postgres")
        monkeypatch.setenv("CLOUDSHELF_DB_DSN", server.dsn)
        truncate(server.dsn)
    return value


def truncate(dsn: str) -> None:
    """Empty every phase-2 table."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("TRUNCATE books, users, orders, order_items, checkout_claims")
    finally:
        conn.close()


@pytest.fixture
def dynamodb(phase: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's DynamoDB with the template's tables, and the settings pointing at them."""
    names = local_table_names("test")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "CLOUDSHELF_DYNAMODB_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)  # moto's in-process mock, not some server
    with mock_aws():
        reset_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client, names)
        yield client
    reset_caches()


@pytest.fixture
def moto_server(phase: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A locked moto server on loopback with the template's tables; settings point at it."""
    server = LockedMotoServer().start()
    server.reset()  # moto's state is per process: start from nothing
    names = local_table_names("conc")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    create_tables(boto3.client("dynamodb", endpoint_url=server.url), names)
    reset_caches()
    yield server.url
    reset_caches()
    server.stop()


@pytest.fixture
def store_calls(dynamodb: Any) -> list[str]:
    """Every DynamoDB operation the code under test makes (names), recorded by a botocore hook."""
    calls: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls


Invoke = Callable[..., Reply]


@pytest.fixture
def invoke(dynamodb: Any) -> Invoke:
    """Call a route's handler with its event from events/, adjusted: ``invoke("GetBook", bookId="x")``."""

    def call(
        route: str,
        *,
        claims: dict[str, Any] | str | None = "default",
        body: Any = "default",
        raw_body: str | None = None,
        query: dict[str, list[str]] | str | None = "default",
        headers: dict[str, list[str]] | None = None,
        **path: str,
    ) -> Reply:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", route).lower()
        event = json.loads((EVENTS / f"{name}.json").read_text())
        if path:
            event["pathParameters"] = {**(event["pathParameters"] or {}), **path}
            event["path"] = re.sub(r"\{(\w+)\}", lambda m: event["pathParameters"][m.group(1)], event["resource"])
        if claims != "default":
            if claims is None:
                event["requestContext"].pop("authorizer", None)
            else:
                event["requestContext"]["authorizer"] = {"claims": claims}
        if raw_body is not None:
            event["body"] = raw_body
        elif body != "default":
            event["body"] = None if body is None else json.dumps(body)
        if query != "default":
            event["multiValueQueryStringParameters"] = query or None
            event["queryStringParameters"] = {k: v[-1] for k, v in (query or {}).items()} or None  # type: ignore[union-attr]
        for key, values in (headers or {}).items():
            if not values:  # an empty list removes the header
                event["multiValueHeaders"].pop(key, None)
                event["headers"].pop(key, None)
                continue
            event["multiValueHeaders"][key] = values
            event["headers"][key] = values[-1]
        function = FUNCTION_OF[event["resource"].split("/")[1]]
        result = handler_for(function)(event, LambdaContext())
        text = result.get("body") or ""
        return Reply(result["statusCode"], json.loads(text) if text else None, result.get("multiValueHeaders") or {})

    return call


@pytest.fixture
def admin() -> dict[str, str]:
    """Claims of a catalog admin."""
    return claims_for("admin-sub-0001", "admin@example.com", ["admin"])


@pytest.fixture
def shopper() -> dict[str, str]:
    """Claims of shopper A."""
    return claims_for("shopper-a-0001", "ann@example.com", name="Ann Elliot")


@pytest.fixture
def other_shopper() -> dict[str, str]:
    """Claims of shopper B."""
    return claims_for("shopper-b-0002", "ben@example.com")


BOOK: dict[str, Any] = {
    "title": "The Time Machine",
    "author": "H. G. Wells",
    "category": "Science Fiction",
    "price": "9.99",
    "stock": 5,
    "description": "Time travel.",
    "isbn": "978-0-306-40615-7",
}


@pytest.fixture
def add_book(invoke: Invoke, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create a book through the API as admin; keyword arguments override BOOK's fields."""

    def add(**fields: Any) -> dict[str, Any]:
        reply = invoke("CreateBook", claims=admin, body={**BOOK, **fields})
        assert reply.status == 201, reply.body
        book: dict[str, Any] = reply.body
        return book

    return add
