"""The identity of the caller."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """Who is calling, from the verified token (never from the request body or path)."""

    user_id: str
    email: str = ""
    name: str = ""
    groups: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        """Member of the ``admin`` group."""
        return "admin" in self.groups
