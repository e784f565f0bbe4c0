"""The stores a section runs on: moto's DynamoDB in this process, and a local PostgreSQL.

Handlers get template.yaml's own environment for the phase (Globals and the function's
variables, ``Fn::If`` decided for the phase), as the local stack gives its workers, with
the table names of this bench and, in phase 2, a DSN instead of the RDS Proxy's host.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .counters import COUNTER

TABLE_PREFIX = "bench"


def start_postgres(*, log_statements: bool = False) -> Any:
    """A throwaway PostgreSQL on loopback (fsync off, as the tests run it) with the schema applied."""
    import psycopg2

    from cloudshelf.repositories.postgres.migrate import apply_migrations
    from cloudshelf_dev.postgres import LocalPostgres

    server = LocalPostgres().start()
    try:
        conn = psycopg2.connect(server.dsn)
        try:
            apply_migrations(conn)
        finally:
            conn.close()
        server.admin("ALTER SYSTEM SET log_line_prefix = '%a|'")
        if log_statements:
            server.admin("ALTER SYSTEM SET log_statement = 'all'")
        server.admin("SELECT pg_reload_conf()")
    except BaseException:
        server.stop()
        raise
    return server


def db_overrides(dsn: str) -> dict[str, str]:
    """Phase 2's database variables locally: a DSN instead of the RDS Proxy host and its secret."""
    return {
        "CLOUDSHELF_DB_DSN": dsn,
        "CLOUDSHELF_DB_HOST": "",
        "CLOUDSHELF_DB_SECRET_ARN": "",  # nosec B105 - not a password: a dummy or empty setting for the local stack
        "CLOUDSHELF_DB_MIGRATION": "local",
        "CLOUDSHELF_DB_SSLMODE": "disable",
    }


def function_env(phase: str, dsn: str = "") -> dict[str, str]:
    """The union of the API functions' template environments for ``phase`` (they agree on every name)."""
    from cloudshelf_dev.lambda_env import function_environment
    from cloudshelf_dev.tables import local_table_names
    from cloudshelf_dev.template import functions

    refs = {**local_table_names(TABLE_PREFIX), "Stage": "bench", "DataPhase": phase}
    overrides = db_overrides(dsn) if dsn else {}
    env: dict[str, str] = {}
    for spec in functions():
        env.update(function_environment(spec, refs, "", overrides))
    env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
    return env


@dataclass
class Stores:
    """What a section's store setup made."""

    phase: str
    tables: dict[str, str]
    client: Any
    postgres: Any = None

    @property
    def dsn(self) -> str:
        """PostgreSQL's DSN (phase 2), else ''."""
        return str(self.postgres.dsn) if self.postgres is not None else ""


def reset_cloudshelf() -> None:
    """Forget every cached client, repository, setting and idempotency layer of the cloudshelf package."""
    from cloudshelf_dev.seed import clear_cloudshelf_caches

    clear_cloudshelf_caches()


@contextmanager
def in_process(phase: str, *, postgres: Any = None, server_url: str = "") -> Iterator[Stores]:
    """moto (in this process, or the locked server at ``server_url``) with the template's tables,
    PostgreSQL in phase 2 (started here unless given), the environment of the functions, and
    the store counters attached."""
    import boto3
    from moto import mock_aws

    from cloudshelf_dev.tables import create_tables, local_table_names

    COUNTER.install_postgres()
    own_postgres = None
    if phase == "2" and postgres is None:
        postgres = own_postgres = start_postgres()
    saved = dict(os.environ)
    mock = None if server_url else mock_aws()
    try:
        os.environ.update(function_env(phase, postgres.dsn if postgres is not None else ""))
        if server_url:
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server_url
        if mock is not None:
            mock.start()  # (it swaps boto3's default session for its own: hook after this)
        COUNTER.hook_boto3()
        names = local_table_names(TABLE_PREFIX)
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server_url or None)
        create_tables(client, names)
        reset_cloudshelf()
        yield Stores(phase, names, client, postgres)
    finally:
        reset_cloudshelf()
        if mock is not None:
            mock.stop()
        os.environ.clear()
        os.environ.update(saved)
        if own_postgres is not None:
            own_postgres.stop()
