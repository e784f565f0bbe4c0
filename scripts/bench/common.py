"""Small helpers every section shares: statistics, timing, paths, the Lambda context."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORK_DIR = ROOT / ".aws-sam" / "bench"  # scratch space (ignored by git, like every .aws-sam folder)

# What every in-process section sets before importing boto3 or Powertools (like tests/conftest.py).
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # nosec B105 - not a password: a dummy or empty setting for the local stack
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "cloudshelf",
    "POWERTOOLS_METRICS_NAMESPACE": "CloudShelf",
    "POWERTOOLS_LOG_LEVEL": "INFO",  # the template's default LogLevel
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_DEV": "false",
}


def apply_base_env() -> None:
    """Dummy AWS credentials and Powertools settings; no real AWS endpoint can be reached."""
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.environ.update(BASE_ENV)
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(variable, None)


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method on sorted samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict[str, float]:
    """p50, p90, p99, mean, min, max and n of samples in milliseconds (rounded)."""
    if not samples_ms:
        return {"n": 0}
    return {
        "n": len(samples_ms),
        "p50": round(statistics.median(samples_ms), 3),
        "p90": round(percentile(samples_ms, 0.90), 3),
        "p99": round(percentile(samples_ms, 0.99), 3),
        "mean": round(statistics.fmean(samples_ms), 3),
        "min": round(min(samples_ms), 3),
        "max": round(max(samples_ms), 3),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...; elapsed()`` -> milliseconds since the block began."""
    began = time.perf_counter()
    yield lambda: (time.perf_counter() - began) * 1000


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str = "cloudshelf-bench"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-bench"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/cloudshelf-bench"
    log_stream_name: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        """Plenty: the bench never runs into the function timeout."""
        return 10_000


def new_context() -> LambdaContext:
    """A context with a fresh request id, as Lambda gives every invocation."""
    return LambdaContext(aws_request_id=str(uuid.uuid4()))


def section_log(name: str) -> Callable[[str], None]:
    """A progress printer for one section (stderr, flushed: the orchestrator shows it live)."""
    import sys

    began = time.perf_counter()

    def say(text: str) -> None:
        sys.stderr.write(f"[{name} {time.perf_counter() - began:6.1f}s] {text}\n")
        sys.stderr.flush()

    return say


def jsonable(value: Any) -> Any:
    """Round floats for the JSON report, recursively."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
