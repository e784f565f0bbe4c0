"""Repair what verify found or what failed mirror writes recorded, from the source of truth.

While DynamoDB is the source of truth (``dual-write``, ``postgres-read``), records are
copied to PostgreSQL. After the move (``postgres``), going back copies PostgreSQL's
records to DynamoDB first, so that no write made in the last stage is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from cloudshelf.migration.journal import clear_repair, pending_repairs
from cloudshelf.migration.records import Record, Resource, delete_postgres, postgres_records, upsert_postgres
from cloudshelf.migration.verify import verify
from cloudshelf.models.books import Book
from cloudshelf.models.orders import Order
from cloudshelf.models.users import UserProfile
from cloudshelf.repositories.dynamodb.books import DynamoBookRepository
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.orders import DynamoOrderRepository, order_item
from cloudshelf.repositories.dynamodb.users import DynamoUserRepository
from cloudshelf.repositories.postgres.connection import run
from cloudshelf.settings import get_settings

Source = Literal["dynamodb", "postgres"]


@dataclass(frozen=True)
class ReconcileResult:
    """What a reconcile did for one resource."""

    resource: Resource
    source: Source
    copied: int
    deleted: int


def dynamo_record(resource: Resource, key: str) -> Record | None:
    """One record from DynamoDB by its key."""
    settings = get_settings()
    if resource == "books":
        return DynamoBookRepository(settings.books_table).get(key)
    if resource == "users":
        return DynamoUserRepository(settings.users_table).get(key)
    user_id, _, order_id = key.partition("/")
    return DynamoOrderRepository(settings.orders_table).get(user_id, order_id)


def postgres_record(resource: Resource, key: str) -> Record | None:
    """One record from PostgreSQL by its key."""
    return run(lambda cur: next(iter(postgres_records(cur, resource, [key])), None))


def write_dynamo(resource: Resource, key: str, record: Record | None) -> None:
    """Make DynamoDB hold ``record`` (None: hold nothing) for ``key``, keeping search terms and counts right."""
    settings = get_settings()
    if resource == "books":
        books = DynamoBookRepository(settings.books_table)
        current = books.get(key)
        if isinstance(record, Book):
            books.replace(record, current) if current else books.create(record)
        elif current is not None:
            books.delete(current)
        return
    table = settings.users_table if resource == "users" else settings.orders_table
    with translated_errors():
        if isinstance(record, UserProfile):
            from cloudshelf.repositories.dynamodb.codec import to_item

            dynamodb_client().put_item(TableName=table, Item=to_item(record.model_dump(mode="json")))
        elif isinstance(record, Order):
            dynamodb_client().put_item(TableName=table, Item=order_item(record))
        elif resource == "users":
            dynamodb_client().delete_item(TableName=table, Key={"userId": {"S": key}})
        else:
            user_id, _, order_id = key.partition("/")
            dynamodb_client().delete_item(TableName=table, Key={"userId": {"S": user_id}, "orderId": {"S": order_id}})


def reconcile(resource: Resource, *, source: Source = "dynamodb", keys: Iterable[str] | None = None) -> ReconcileResult:
    """Copy the given keys (default: the recorded repairs plus everything verify finds) from ``source``."""
    todo = set(keys) if keys is not None else {*pending_repairs(resource), *verify(resource).keys}
    copied = deleted = 0
    for key in sorted(todo):
        if source == "dynamodb":
            record = dynamo_record(resource, key)

            def apply(cur: Any, key: str = key, record: Record | None = record) -> None:
                if record is None:
                    delete_postgres(cur, resource, key)
                else:
                    upsert_postgres(cur, resource, [record], force=True)

            run(apply, write=True)
        else:
            record = postgres_record(resource, key)
            write_dynamo(resource, key, record)
        copied, deleted = (copied + 1, deleted) if record is not None else (copied, deleted + 1)
        clear_repair(resource, key)
    return ReconcileResult(resource, source, copied, deleted)
