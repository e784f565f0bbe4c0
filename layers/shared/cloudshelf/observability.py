"""Logger, tracer and metrics shared by every function (names and levels from POWERTOOLS_* settings)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def count(metric: str, value: int = 1) -> None:
    """Add to a business metric (OrderPlaced, OrderRejectedOutOfStock, ...)."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
