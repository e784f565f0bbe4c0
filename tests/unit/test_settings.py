"""Settings: one model, read from the environment; storage modes follow the phase unless set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloudshelf.settings import Settings


def test_store_modes_follow_the_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no explicit storage modes / When the phase is 1 or 2 / Then every resource follows it
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", "1")
    assert {Settings().store_mode(r) for r in ("books", "users", "orders")} == {"dynamodb"}
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", "2")
    assert {Settings().store_mode(r) for r in ("books", "users", "orders")} == {"postgres"}


def test_an_explicit_mode_wins_and_blank_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the template passes "" for unset modes and one resource mid-move
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", "1")
    monkeypatch.setenv("CLOUDSHELF_USERS_STORE", "dual-write")
    monkeypatch.setenv("CLOUDSHELF_BOOKS_STORE", "")
    settings = Settings()
    # Then the explicit one is used and the blank one follows the phase
    assert settings.store_mode("users") == "dual-write"
    assert settings.store_mode("books") == "dynamodb"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLOUDSHELF_DATA_PHASE", "3"),
        ("CLOUDSHELF_BOOKS_STORE", "mysql"),
        ("CLOUDSHELF_SHADOW_READ_RATE", "1.5"),
        ("CLOUDSHELF_CURRENCY", "dollars"),
        ("CLOUDSHELF_CART_TTL_DAYS", "0"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    # Given a bad value / When settings load / Then they refuse it, naming nothing secret
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
