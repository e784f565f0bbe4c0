"""The runbook on the local stack: `cloudshelf migrate` moves a running store to phase 2 and back."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from cloudshelf_dev import cognito
from cloudshelf_dev.cli import main
from cloudshelf_dev.seed import clear_cloudshelf_caches
from cloudshelf_dev.server import Stack, start_stack


@pytest.fixture(autouse=True)
def _own_environment() -> Iterator[None]:
    """`cloudshelf migrate` points this process at the stack through os.environ: undo that afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    clear_cloudshelf_caches()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Phase 1 with a PostgreSQL beside it, seeded."""
    running = start_stack(port=0, seed=True, with_postgres=True, pool_size=2, log_dir=tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()


def test_the_runbook_on_the_local_stack(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    email, password = stack.admin
    token = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password).id_token
    me = requests.get(f"{stack.api_url}/users/me", headers={"Authorization": token}, timeout=30)
    assert me.status_code == 200
    cli = ["migrate", "--stack", stack.url]
    # Given phase 1 data / When dual-write, backfill and verify run from the CLI
    assert main([*cli, "stage", "dual-write"]) == 0
    assert main([*cli, "backfill", "--segments", "2"]) == 0
    assert main([*cli, "verify"]) == 0
    # And a write made in dual-write reaches both stores
    changed = requests.put(f"{stack.api_url}/users/me", json={"displayName": "Moved"},
                           headers={"Authorization": token}, timeout=30)  # fmt: skip
    assert changed.status_code == 200
    assert main([*cli, "verify", "--resource", "users"]) == 0
    # When reads and then everything move to PostgreSQL / Then the store answers the same
    for mode in ("postgres-read", "postgres"):
        assert main([*cli, "stage", mode]) == 0
        books = requests.get(f"{stack.api_url}/books?limit=100", timeout=30).json()["items"]
        assert len(books) == 75
        profile = requests.get(f"{stack.api_url}/users/me", headers={"Authorization": token}, timeout=30).json()
        assert profile["displayName"] == "Moved"
    # When going back: copy PostgreSQL's writes to DynamoDB first, then step back
    assert main([*cli, "reconcile", "--source", "postgres"]) == 0
    assert main([*cli, "stage", "dynamodb"]) == 0
    assert (
        requests.get(f"{stack.api_url}/users/me", headers={"Authorization": token}, timeout=30).json()["displayName"]
        == "Moved"
    )
    # And settings other than the storage modes cannot be changed this way
    refused = requests.post(f"{stack.url}/_dev/settings", json={"CLOUDSHELF_BOOKS_TABLE": "other"}, timeout=30)
    assert refused.status_code == 400
    assert "clean" in capsys.readouterr().out
