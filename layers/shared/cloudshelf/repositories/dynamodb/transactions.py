"""TransactWriteItems and BatchWriteItem with the retries and error meaning we need."""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from cloudshelf.errors import Conflict, StoreUnavailable
from cloudshelf.repositories.dynamodb.client import dynamodb_client, error_code, translated_errors

MAX_CONFLICT_RETRIES = 4


class TransactionCancelled(Exception):
    """A transaction was cancelled by a condition; ``reasons`` has one code per action."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


def transact_write(actions: list[dict[str, Any]], token: str | None = None) -> None:
    """Run ``actions`` all or nothing.

    Retries (with jittered backoff) when DynamoDB cancels because another transaction
    touched the same items; raises TransactionCancelled when a condition failed.
    """
    from botocore.exceptions import ClientError

    # The SDK resends a request whose answer was lost with the same parameters, hence the same
    # token: DynamoDB then applies the transaction once. A retry of ours after a conflict is a
    # new attempt with a new token.
    base = token or hashlib.sha256(json.dumps(actions, sort_keys=True).encode()).hexdigest()
    params: dict[str, Any] = {"TransactItems": actions}
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        params["ClientRequestToken"] = f"{base[:32]}-{attempt}"
        try:
            with translated_errors():
                dynamodb_client().transact_write_items(**params)
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise TransactionCancelled(reasons) from exc
            if "TransactionConflict" not in reasons or attempt == MAX_CONFLICT_RETRIES:
                if any(r in ("ThrottlingError", "ProvisionedThroughputExceeded") for r in reasons):
                    raise StoreUnavailable("the data store is busy; try again shortly", 2) from exc
                raise Conflict("another change to the same data was in progress; try again") from exc
            time.sleep(random.uniform(0.005, 0.02) * (2**attempt))  # noqa: S311 # nosec B311 - retry jitter, not security


def batch_write(table: str, requests: list[dict[str, Any]]) -> None:
    """Put/delete requests in batches of 25, resending unprocessed ones with backoff."""
    client = dynamodb_client()
    for start in range(0, len(requests), 25):
        pending: list[dict[str, Any]] = requests[start : start + 25]
        for attempt in range(8):
            with translated_errors():
                result = client.batch_write_item(RequestItems={table: pending})  # type: ignore[dict-item]
            pending = [dict(r) for r in result.get("UnprocessedItems", {}).get(table, [])]
            if not pending:
                break
            time.sleep(min(1.0, 0.02 * (2**attempt)))
        else:
            raise StoreUnavailable("the data store is busy; try again shortly", 2)


def batch_get(table: str, keys: list[dict[str, Any]], *, consistent: bool = False) -> list[dict[str, Any]]:
    """BatchGetItem in chunks of 100, retrying unprocessed keys with backoff."""
    client = dynamodb_client()
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        pending: list[dict[str, Any]] = keys[start : start + 100]
        for attempt in range(8):
            with translated_errors():
                result = client.batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
            found.extend(result.get("Responses", {}).get(table, []))
            unprocessed = result.get("UnprocessedKeys", {})
            pending = [dict(k) for k in unprocessed[table]["Keys"]] if table in unprocessed else []
            if not pending:
                break
            time.sleep(min(1.0, 0.02 * (2**attempt)))
        else:
            raise StoreUnavailable("the data store is busy; try again shortly", 2)
    return found
