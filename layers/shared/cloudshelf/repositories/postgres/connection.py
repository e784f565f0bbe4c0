"""One PostgreSQL connection per execution environment, reused, checked and reopened when broken.

Credentials come from Secrets Manager through Powertools Parameters (cached) in AWS, or
from a DSN locally; never from the template. Every statement runs under a timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from cloudshelf.errors import StoreUnavailable
from cloudshelf.settings import get_settings

SECRET_MAX_AGE_S = 300

_local = threading.local()  # one connection per thread: Lambda has one; the local stack has several


def connect() -> Any:
    """A new connection from settings (a DSN, or host/port/name plus the secret)."""
    import psycopg2

    from cloudshelf.observability import trace_postgres

    trace_postgres()  # before psycopg2.connect: X-Ray wraps it
    settings = get_settings()
    options = f"-c statement_timeout={settings.db_statement_timeout_ms} -c idle_in_transaction_session_timeout=60000"
    common: dict[str, Any] = {
        "connect_timeout": settings.db_connect_timeout_s,
        "options": options,
        "application_name": "cloudshelf",
    }
    if settings.db_dsn:
        return psycopg2.connect(settings.db_dsn, **common)
    if not (settings.db_host and settings.db_secret_arn):
        raise RuntimeError("phase 2 needs CLOUDSHELF_DB_DSN, or CLOUDSHELF_DB_HOST and CLOUDSHELF_DB_SECRET_ARN")
    from aws_lambda_powertools.utilities import parameters

    def attempt(force_fetch: bool) -> Any:
        raw = parameters.get_secret(settings.db_secret_arn, max_age=SECRET_MAX_AGE_S, force_fetch=force_fetch)
        secret = json.loads(str(raw))
        return psycopg2.connect(
            host=settings.db_host,
            port=settings.db_port,
            dbname=settings.db_name,
            user=secret["username"],
            password=secret["password"],
            sslmode=settings.db_sslmode,
            **common,
        )

    try:
        return attempt(force_fetch=False)
    except psycopg2.OperationalError as exc:
        # RDS rotates the managed password; a cached secret may be the old one. libpq
        # reports this only as text (there is no error code before a session exists).
        if "password authentication failed" not in str(exc):
            raise
        return attempt(force_fetch=True)


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        try:
            conn = connect()
        except Exception as exc:
            if _is_connection_error(exc):
                raise StoreUnavailable("the database is unreachable; try again shortly", retry_after=5) from exc
            raise
        _local.conn = conn
    return conn


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg2

    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


def drop_connection() -> None:
    """Close this thread's connection (tests, and after a failure)."""
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None and not conn.closed:
        conn.close()


def run[T](work: Callable[[Any], T], *, write: bool = False) -> T:
    """Run ``work(cursor)`` as one unit: a read in autocommit, a write in one transaction.

    A connection that broke since the last invocation is replaced and the unit retried
    once; that is safe because nothing was committed. A failure while committing is not
    retried (the outcome is unknown) and, like an unreachable server, becomes a 503.
    """
    import psycopg2
    from psycopg2 import errorcodes

    for attempt in (1, 2):
        conn = _connection()
        committing = False
        try:
            conn.autocommit = not write
            with conn.cursor() as cur:
                result = work(cur)
            if write:
                committing = True
                conn.commit()
            return result
        except psycopg2.Error as exc:
            broken = _is_connection_error(exc) or conn.closed
            if broken:
                drop_connection()
                if attempt == 1 and not committing:
                    continue
                raise StoreUnavailable("the database is unreachable; try again shortly", retry_after=5) from exc
            if not conn.closed:
                conn.rollback()
            if exc.pgcode in (errorcodes.QUERY_CANCELED, errorcodes.LOCK_NOT_AVAILABLE):
                raise StoreUnavailable("the database is busy; try again shortly", retry_after=2) from exc
            raise
        except BaseException:
            if write and not conn.closed:
                conn.rollback()
            raise
    raise AssertionError("unreachable")
