"""Model-based, concurrent histories against the real handlers, in every phase and dual-store stage.

Several shoppers with several tabs each and an admin act at once in forked worker processes while
faults are injected (see tests/histories/actors.py); afterwards the stores are checked against a
reference model (tests/histories/model.py). docs/testing.md explains it; `make soak` runs it longer.
"""

from __future__ import annotations

import time

import pytest

from cloudshelf_dev.handlers import Handler
from tests.histories.report import RESULTS, failure_report
from tests.histories.runner import Knobs, run_history
from tests.histories.stores import STAGES, Stores

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stage", list(STAGES))
def test_store_histories(
    stage: str, stores: Stores, handlers: dict[str, Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the store in this stage, pointed at fresh servers
    knobs = Knobs.from_env()
    for variable, value in stores.environment(stage).items():
        monkeypatch.setenv(variable, value)
    # When seeded histories run, one after the other, until the count or the time budget is reached
    results = []
    started = time.monotonic()
    for n, seed in enumerate(knobs.seeds()):
        if n and time.monotonic() - started > knobs.seconds:
            break
        print(f"[histories] {stage} seed={seed} ...", flush=True)
        result = run_history(stage, seed, stores, handlers, knobs)
        print(f"[histories] {result.line()}", flush=True)
        RESULTS.append(result)
        results.append(result)
    # Then no history broke an invariant (each failure says how to replay its seed)
    failing = [r for r in results if r.violations or r.harness]
    assert not failing, "\n\n".join(failure_report(r) for r in failing)
