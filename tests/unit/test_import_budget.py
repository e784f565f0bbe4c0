"""Cold-start budget: what a function's handler imports, against the floor measured in the same run.

The floor is a minimal handler that imports only boto3 and Powertools' event handler
(`make bench`, item 1). No absolute time is asserted: machines differ and are shared.
Each import runs in a fresh interpreter with X-Ray tracing on, as in Lambda.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("books", "carts", "users", "orders")
# Handler import / floor import, medians of the same run. `make bench` measures ~1.4-2.1x
# (with .pyc, as here); the budget leaves room for a noisy machine, not for a heavy import.
BUDGET = 3.5
ROUNDS = 3
PROBE = """
import importlib, json, sys, time
began = time.perf_counter()
sys.path[:0] = [sys.argv[1], sys.argv[2]]
if sys.argv[1] == "floor":
    import boto3
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    APIGatewayRestResolver()
else:
    importlib.import_module("app").lambda_handler
print(json.dumps({"ms": (time.perf_counter() - began) * 1000,
                  "modules": sorted(m for m in sys.modules if "." not in m)}))
"""


def _import(code_dir: str) -> dict[str, object]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "cloudshelf-budget",
        "LAMBDA_TASK_ROOT": "/var/task",  # Powertools' Tracer is then on, as in Lambda
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_SERVICE_NAME": "cloudshelf",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(  # noqa: S603 # nosec B603 - our own interpreter and a fixed probe
        [sys.executable, "-I", "-c", PROBE, code_dir, str(ROOT / "layers" / "shared")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_no_handler_imports_more_than_the_budget_times_the_floor() -> None:
    # Given the floor and every API function, imported in turn in fresh interpreters (round-robin)
    samples: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for name in ("floor", *FUNCTIONS):
            code_dir = name if name == "floor" else str(ROOT / "src" / name)
            samples.setdefault(name, []).append(float(_import(code_dir)["ms"]))  # type: ignore[arg-type]
    floor = statistics.median(samples["floor"])
    # Then each handler's median import time stays within the budget of the floor's
    ratios = {name: round(statistics.median(samples[name]) / floor, 2) for name in FUNCTIONS}
    assert all(r <= BUDGET for r in ratios.values()), f"handler import / floor: {ratios} (budget {BUDGET}x)"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_imports_no_database_driver_it_may_never_use(function: str) -> None:
    # Given tracing on, as deployed: X-Ray patches botocore at import, psycopg2 at the first connection
    modules = _import(str(ROOT / "src" / function))["modules"]
    # Then importing the handler loads neither PostgreSQL's driver nor sqlite
    assert isinstance(modules, list)
    assert "psycopg2" not in modules
    assert "sqlite3" not in modules
