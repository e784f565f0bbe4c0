"""Fixtures of the store-history checker: the servers, started once per session, and its figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudshelf_dev.handlers import Handler
from tests.histories.actors import load_handlers
from tests.histories.report import RESULTS, figures, history_lines
from tests.histories.stores import Stores, start_stores, stop_stores


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """A locked moto server (own process) and a migrated PostgreSQL, both on loopback, ended by PID."""
    running = start_stores(tmp_path_factory.mktemp("histories"))
    try:
        yield running
    finally:
        stop_stores(running)


@pytest.fixture(scope="session")
def handlers() -> dict[str, Handler]:
    """The functions' handlers, loaded before any worker is forked (the workers inherit them)."""
    return load_handlers()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Every history's seed and figures, then the totals, so they can be quoted."""
    if not RESULTS:
        return
    terminalreporter.section("store histories")
    for line in [*history_lines(RESULTS), *figures(RESULTS)]:
        terminalreporter.write_line(line)
