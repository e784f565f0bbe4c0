"""Phase 2 specifics on a real PostgreSQL: search, migrations, connection faults."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest

from cloudshelf.repositories.postgres import migrate
from cloudshelf.repositories.postgres.migrate import apply_migrations
from cloudshelf_dev.postgres import LocalPostgres, find_bin
from tests.integration.conftest import Invoke

phase2 = pytest.mark.parametrize("phase", ["2"], indirect=True)


@phase2
def test_search_stems_and_ranks_title_over_author_over_description(
    invoke: Invoke, add_book: Callable[..., Any]
) -> None:
    # Given books where the word appears in different fields
    add_book(title="The Runner", author="Ann Author", description="A quiet story.")
    add_book(title="Quiet Days", author="Jo Running", description="Nothing much.")
    add_book(title="Long Walks", author="Sam Smith", description="She runs every morning.")
    add_book(title="Unrelated", author="Nobody", description="Gardening.")
    # When a shopper searches "running"
    found = invoke("ListBooks", query={"q": ["running"]}).body["items"]
    # Then stemming finds run/runner/running/runs, title first, then author, then description
    assert [b["title"] for b in found] == ["The Runner", "Quiet Days", "Long Walks"]
    # And prefixes work while typing, and words combine
    assert [b["title"] for b in invoke("ListBooks", query={"q": ["garden"]}).body["items"]] == ["Unrelated"]
    assert [b["title"] for b in invoke("ListBooks", query={"q": ["quiet story"]}).body["items"]] == ["The Runner"]
    # And hostile query text is just text
    for query in ["'; DROP TABLE books; --", "a & | ! (", ":*", "\\"]:
        reply = invoke("ListBooks", query={"q": [query]})
        assert reply.status == 200, query
    assert len(invoke("ListBooks", query={"limit": ["100"]}).body["items"]) == 4


def _schema(dsn: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed program
        [find_bin("pg_dump"), "--schema-only", "--no-owner", "--exclude-table=schema_migrations", dsn],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    skip = ("--", "\\restrict", "\\unrestrict")  # comments and pg_dump's per-run random keys
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(skip))


def test_migrations_from_empty_and_reapplied_give_the_same_schema(postgres: LocalPostgres) -> None:
    # Given an empty database / When migrated twice
    other = LocalPostgres().start()
    try:
        conn = psycopg2.connect(other.dsn)
        first = apply_migrations(conn)
        second = apply_migrations(conn)
        conn.close()
        # Then the first run applies everything, the second nothing, and the schema equals the session's
        assert first == [m.version for m in migrate.available()]
        assert second == []
        assert _schema(other.dsn) == _schema(postgres.dsn)
    finally:
        other.stop()


def test_an_edited_migration_is_refused(postgres: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given applied migrations / When a shipped file no longer matches its checksum
    original = migrate.available()
    edited = [migrate.Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr(migrate, "available", lambda: edited)
    conn = psycopg2.connect(postgres.dsn)
    try:
        # Then migrating refuses to go on
        with pytest.raises(RuntimeError, match="changed after it was applied"):
            apply_migrations(conn)
    finally:
        conn.close()


@pytest.fixture
def own_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    """A PostgreSQL of this test's own, which it may stop and restart."""
    server = LocalPostgres().start()
    conn = psycopg2.connect(server.dsn)
    apply_migrations(conn)
    conn.close()
    yield server
    server.stop()


@phase2
def test_database_down_is_503_and_nothing_half_written(
    invoke: Invoke,
    add_book: Callable[..., Any],
    shopper: dict[str, str],
    own_postgres: LocalPostgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.conftest import reset_caches

    monkeypatch.setenv("CLOUDSHELF_DB_DSN", own_postgres.dsn)
    reset_caches()
    book = add_book(stock=5)
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2})
    # Given the database goes down
    own_postgres.stop(remove=False)
    # When shoppers browse and check out
    replies = [
        invoke("GetBook", bookId=book["bookId"]),
        invoke("ListBooks"),
        invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": ["db-down-key-1"]}),
        invoke("GetMe", claims=shopper),
    ]
    # Then every answer is 503 with Retry-After, never a 500
    for reply in replies:
        assert reply.status == 503, reply.body
        assert "Retry-After" in reply.headers
    # And when it is back, nothing was half-written: stock intact, cart intact, no order
    own_postgres.restart()
    assert invoke("GetBook", bookId=book["bookId"]).body["stock"] == 5
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 1
    assert invoke("ListOrders", claims=shopper).body["items"] == []
    # And the same key now checks out
    assert invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": ["db-down-key-1"]}).status == 201


@phase2
def test_a_connection_dropped_between_invocations_is_replaced(
    invoke: Invoke, add_book: Callable[..., Any], postgres: LocalPostgres
) -> None:
    # Given a warm function whose connection the server has since closed
    book = add_book()
    assert invoke("GetBook", bookId=book["bookId"]).status == 200
    admin = psycopg2.connect(postgres.dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'cloudshelf' AND pid <> pg_backend_pid()"
        )
        assert cur.rowcount >= 1
    admin.close()
    # When the next invocation comes / Then it reconnects and answers
    reply = invoke("GetBook", bookId=book["bookId"])
    assert reply.status == 200
    assert reply.body["bookId"] == book["bookId"]


def test_credentials_come_from_secrets_manager_and_survive_a_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    from cloudshelf.repositories.postgres.connection import connect
    from tests.integration.conftest import reset_caches

    server = LocalPostgres(password_auth=True).start()
    try:
        server.admin("ALTER ROLE cloudshelf PASSWORD 'first-password'")
        with mock_aws():
            # Given the credentials in a secret, as RDS manages them, and settings naming only host and secret
            secrets = boto3.client("secretsmanager", region_name="us-east-1")
            arn = secrets.create_secret(
                Name="rds-master", SecretString='{"username": "cloudshelf", "password": "first-password"}'
            )["ARN"]
            monkeypatch.delenv("CLOUDSHELF_DB_DSN", raising=False)
            for name, value in {
                "HOST": "127.0.0.1",
                "PORT": str(server.port),
                "SECRET_ARN": arn,
                "SSLMODE": "disable",
            }.items():
                monkeypatch.setenv(f"CLOUDSHELF_DB_{name}", value)
            reset_caches()
            first = connect()
            first.close()
            # When the password rotates while the old secret is still cached
            server.admin("ALTER ROLE cloudshelf PASSWORD 'second-password'")
            secrets.put_secret_value(
                SecretId=arn, SecretString='{"username": "cloudshelf", "password": "second-password"}'
            )
            # Then a new connection refetches the secret and logs in
            second = connect()
            with second.cursor() as cur:
                cur.execute("SELECT current_user")
                assert cur.fetchone() == ("cloudshelf",)
            second.close()
    finally:
        server.stop()
