"""The migration table in DynamoDB: repair records for failed mirror writes, and backfill checkpoints.

Items: ``pk=REPAIR#<resource>``, ``sk=<key>`` (a write that reached the source of truth
but not the mirror, or may have: an *intent* is recorded before each dual-stage write and
cleared once its mirror write succeeded, so a function that stops in between leaves a
repair behind, never silent drift; an intent is its own item, ``sk=<key>|intent|<token>``,
so a request clears only its own);
``pk=CHECKPOINT#<resource>``, ``sk=<segment>/<total>`` (where a backfill segment stands).
Written to DynamoDB, the store that is up when such a failure happens, so the record itself
is durable.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudshelf.migration.records import Resource
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.codec import s
from cloudshelf.settings import get_settings


def _table() -> str:
    return get_settings().migration_table


def record_repair(resource: Resource, key: str, reason: str) -> None:
    """Remember that ``key`` must be copied again to the mirror store."""
    item = {
        "pk": s(f"REPAIR#{resource}"),
        "sk": s(key),
        "reason": s(reason[:500]),
        "at": s(datetime.now(UTC).isoformat()),
    }
    with translated_errors():
        dynamodb_client().put_item(TableName=_table(), Item=item)


INTENT = "|intent|"  # between a key and the token of one request's intent record
INTENT_MAX_AGE = timedelta(minutes=20)  # older than any function can run: its request is over


@dataclass(frozen=True)
class Intent:
    """The repair records one request made before its write: only these may it clear."""

    token: str
    keys: tuple[str, ...]


def record_intent(resource: Resource, keys: Sequence[str]) -> Intent:
    """Before a dual-stage write: record ``keys`` for repair, one record per request and key
    (``<key>|intent|<token>``), cleared by that request once both stores have its write."""
    token = secrets.token_hex(8)
    at = s(datetime.now(UTC).isoformat())
    with translated_errors():
        for key in keys:
            item = {"pk": s(f"REPAIR#{resource}"), "sk": s(f"{key}{INTENT}{token}"), "reason": s("in flight"), "at": at}
            dynamodb_client().put_item(TableName=_table(), Item=item)
    return Intent(token, tuple(keys))


def clear_intent(resource: Resource, key: str, token: str) -> None:
    """Forget one request's intent once its write reached both stores."""
    with translated_errors():
        dynamodb_client().delete_item(
            TableName=_table(), Key={"pk": s(f"REPAIR#{resource}"), "sk": s(f"{key}{INTENT}{token}")}
        )


def pending_repairs(resource: Resource) -> list[str]:
    """Keys recorded for repair (failed copies, and intents of writes in flight or stopped)."""
    keys = (item["sk"]["S"].split(INTENT, 1)[0] for item in _query(f"REPAIR#{resource}"))
    return list(dict.fromkeys(keys))


def clear_repair(resource: Resource, key: str) -> None:
    """Forget a repaired key: its failure record, and intents old enough that their requests
    are over (a younger intent belongs to a write that may still land after this repair)."""
    cutoff = datetime.now(UTC) - INTENT_MAX_AGE
    with translated_errors():
        dynamodb_client().delete_item(TableName=_table(), Key={"pk": s(f"REPAIR#{resource}"), "sk": s(key)})
        for item in _query(f"REPAIR#{resource}", prefix=f"{key}{INTENT}"):
            if datetime.fromisoformat(item["at"]["S"]) < cutoff:
                dynamodb_client().delete_item(TableName=_table(), Key={"pk": item["pk"], "sk": item["sk"]})


def save_checkpoint(resource: Resource, segment: int, total: int, start: dict[str, Any] | None, copied: int) -> None:
    """Where a backfill segment stands: the key to resume from (None when the segment is done)."""
    item: dict[str, Any] = {
        "pk": s(f"CHECKPOINT#{resource}"),
        "sk": s(f"{segment}/{total}"),
        "start": s(json.dumps(start) if start else ""),
        "done": {"BOOL": start is None},
        "copied": {"N": str(copied)},
        "at": s(datetime.now(UTC).isoformat()),
    }
    with translated_errors():
        dynamodb_client().put_item(TableName=_table(), Item=item)


def load_checkpoints(resource: Resource, total: int) -> dict[int, tuple[dict[str, Any] | None, bool, int]]:
    """Per segment: (resume key, done, records copied) for a backfill split into ``total`` segments."""
    out = {}
    for item in _query(f"CHECKPOINT#{resource}"):
        segment, _, of = item["sk"]["S"].partition("/")
        if int(of) != total:
            continue
        start = json.loads(item["start"]["S"]) if item["start"]["S"] else None
        out[int(segment)] = (start, item["done"]["BOOL"], int(item["copied"]["N"]))
    return out


def clear_checkpoints(resource: Resource) -> None:
    """Forget a finished backfill's checkpoints, so the next one starts over."""
    for item in _query(f"CHECKPOINT#{resource}"):
        with translated_errors():
            dynamodb_client().delete_item(TableName=_table(), Key={"pk": item["pk"], "sk": item["sk"]})


def _query(pk: str, prefix: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :p" + (" AND begins_with(sk, :s)" if prefix else ""),
        "ExpressionAttributeValues": {":p": s(pk), **({":s": s(prefix)} if prefix else {})},
    }
    with translated_errors():
        while True:
            result = dynamodb_client().query(**params)
            items.extend(result.get("Items", []))
            if "LastEvaluatedKey" not in result:
                return items
            params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
