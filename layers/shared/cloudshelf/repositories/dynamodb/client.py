"""The DynamoDB client, built once per execution environment, and error translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cloudshelf.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Error codes that mean "try again later", not "your request is wrong".
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    """A DynamoDB client with bounded timeouts and standard retries (with backoff).

    The local stack points the same code at its embedded DynamoDB with boto3's own
    ``AWS_ENDPOINT_URL_DYNAMODB``, or with ``CLOUDSHELF_DYNAMODB_ENDPOINT`` (which
    ``sam local --env-vars`` can set, since the template declares it).
    """
    import boto3
    from botocore.config import Config

    from cloudshelf.settings import get_settings

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},  # two retries, backoff with jitter
        connect_timeout=1,
        read_timeout=get_settings().dynamodb_read_timeout_s,
        tcp_keepalive=True,
        max_pool_connections=32,
    )
    settings = get_settings()
    endpoint = settings.dynamodb_endpoint or None
    return boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint, config=config)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn throttling, outages and network failures into StoreUnavailable."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in RETRYABLE_CODES:
            raise StoreUnavailable("the data store is busy; try again shortly", retry_after=2) from exc
        raise
    except (ConnectionError, HTTPClientError) as exc:
        raise StoreUnavailable("the data store is unreachable; try again shortly", retry_after=5) from exc


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError, or ''."""
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))
