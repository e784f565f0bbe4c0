"""User profiles in PostgreSQL."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import Json

from cloudshelf.errors import NotFound
from cloudshelf.models.users import UserProfile
from cloudshelf.repositories.postgres.connection import run

COLUMNS = "user_id, email, display_name, address, created_at, updated_at"


def profile_from_row(row: Any) -> UserProfile:
    """A UserProfile from a row in COLUMNS order."""
    keys = ("userId", "email", "displayName", "address", "createdAt", "updatedAt")
    return UserProfile.model_validate(dict(zip(keys, row, strict=True)))


def _values(profile: UserProfile) -> tuple[Any, ...]:
    address = Json(profile.address.model_dump()) if profile.address else None
    return (profile.userId, profile.email, profile.displayName, address, profile.createdAt, profile.updatedAt)


class PostgresUserRepository:
    """UserRepository on the ``users`` table."""

    def get(self, user_id: str) -> UserProfile | None:
        def work(cur: Any) -> UserProfile | None:
            cur.execute(f"SELECT {COLUMNS} FROM users WHERE user_id = %s", (user_id,))  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            row = cur.fetchone()
            return profile_from_row(row) if row else None

        return run(work)

    def create(self, profile: UserProfile) -> UserProfile:
        def work(cur: Any) -> UserProfile:
            # The no-op update makes RETURNING yield the stored row when it exists already.
            cur.execute(
                f"INSERT INTO users ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
                f"ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING {COLUMNS}",
                _values(profile),
            )
            return profile_from_row(cur.fetchone())

        return run(work, write=True)

    def update(self, profile: UserProfile) -> None:
        def work(cur: Any) -> None:
            values = _values(profile)
            cur.execute(
                "UPDATE users SET email = %s, display_name = %s, address = %s, created_at = %s, updated_at = %s"
                " WHERE user_id = %s",
                (*values[1:], profile.userId),
            )
            if cur.rowcount == 0:
                raise NotFound("no such user")

        run(work, write=True)
