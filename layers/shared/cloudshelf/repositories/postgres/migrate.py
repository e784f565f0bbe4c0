"""Versioned SQL migrations: applied in order, each in a transaction, recorded, safe to re-run.

A few lines of our own rather than a library: the layer then needs nothing beyond
psycopg2, an advisory lock keeps two deploys from migrating at once, and a checksum
refuses a migration file that was edited after it was applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

LOCK_ID = 727_274_001  # pg_advisory_xact_lock key shared by every CloudShelf migrator


@dataclass(frozen=True)
class Migration:
    """One SQL file: ``NNNN_name.sql``."""

    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migrations shipped with this code, in order."""
    folder = files("cloudshelf.repositories.postgres") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def apply_migrations(conn: Any) -> list[str]:
    """Apply every pending migration; returns the versions applied (empty when up to date).

    Raises RuntimeError if an applied migration's file has changed since.
    """
    applied_now: list[str] = []
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    conn.commit()
    for migration in available():
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
            cur.execute("SELECT checksum FROM schema_migrations WHERE version = %s", (migration.version,))
            row = cur.fetchone()
            if row is not None:
                conn.rollback()
                if row[0] != migration.checksum:
                    raise RuntimeError(f"migration {migration.version} changed after it was applied")
                continue
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
        conn.commit()
        applied_now.append(migration.version)
    return applied_now
