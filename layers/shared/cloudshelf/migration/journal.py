"""The migration table in DynamoDB: repair records for failed mirror writes, and backfill checkpoints.

Items: ``pk=REPAIR#<resource>``, ``sk=<key>`` (a write that reached the source of truth
but not the mirror); ``pk=CHECKPOINT#<resource>``, ``sk=<segment>/<total>`` (where a
backfill segment stands). Written to DynamoDB, the store that is up when such a
failure happens, so the record itself is durable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
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


def pending_repairs(resource: Resource) -> list[str]:
    """Keys recorded for repair."""
    return [item["sk"]["S"] for item in _query(f"REPAIR#{resource}")]


def clear_repair(resource: Resource, key: str) -> None:
    """Forget a repaired key."""
    with translated_errors():
        dynamodb_client().delete_item(TableName=_table(), Key={"pk": s(f"REPAIR#{resource}"), "sk": s(key)})


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


def _query(pk: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": s(pk)},
    }
    with translated_errors():
        while True:
            result = dynamodb_client().query(**params)
            items.extend(result.get("Items", []))
            if "LastEvaluatedKey" not in result:
                return items
            params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
