"""Logger, tracer and metrics shared by every function (names and levels from POWERTOOLS_* settings)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# X-Ray traces the AWS SDK from the start. PostgreSQL's driver is patched when the first
# connection is made (trace_postgres), so only functions that connect pay for importing it.
# (A bare Tracer() patches every library X-Ray supports that is installed, psycopg2 and
# sqlite3 included, in every function's cold start: `make bench`, item 1.)
TRACED_FROM_START = ("botocore",)

logger = Logger()
tracer = Tracer(patch_modules=TRACED_FROM_START)
metrics = Metrics()


def trace_postgres() -> None:
    """Have X-Ray trace psycopg2 from now on (once; nothing happens when tracing is off)."""
    tracer.patch(["psycopg2"])


def count(metric: str, value: int = 1) -> None:
    """Add to a business metric (OrderPlaced, OrderRejectedOutOfStock, ...)."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
