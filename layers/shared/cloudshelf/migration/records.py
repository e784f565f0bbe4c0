"""Each resource's records on both stores: read, write (never older over newer) and compare.

Keys: a book by ``bookId``, a user by ``userId``, an order by ``userId/orderId``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from psycopg2.extras import Json, execute_values
from pydantic import BaseModel

from cloudshelf.domain.search_terms import title_key
from cloudshelf.models.books import Book
from cloudshelf.models.orders import Order
from cloudshelf.models.users import UserProfile
from cloudshelf.repositories.dynamodb.books import book_from_item
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item
from cloudshelf.repositories.dynamodb.orders import order_from_item
from cloudshelf.repositories.postgres.books import COLUMNS as BOOK_COLUMNS
from cloudshelf.repositories.postgres.books import book_from_row
from cloudshelf.repositories.postgres.orders import SELECT_ORDERS, order_from_row
from cloudshelf.repositories.postgres.users import COLUMNS as USER_COLUMNS
from cloudshelf.repositories.postgres.users import profile_from_row
from cloudshelf.settings import get_settings

Resource = Literal["books", "users", "orders"]
RESOURCES: tuple[Resource, ...] = ("books", "users", "orders")
Record = Book | UserProfile | Order


def key_of(record: Record) -> str:
    """The record's key as one string."""
    if isinstance(record, Book):
        return record.bookId
    if isinstance(record, UserProfile):
        return record.userId
    return f"{record.userId}/{record.orderId}"


def digest(record: Record) -> str:
    """SHA-256 over a canonical JSON form (sorted keys; books include their version)."""
    data = record.model_dump(mode="json")
    if isinstance(record, Book):
        data["version"] = record.version
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def table_of(resource: Resource) -> str:
    """The DynamoDB table that holds a resource."""
    settings = get_settings()
    return {"books": settings.books_table, "users": settings.users_table, "orders": settings.orders_table}[resource]


def from_dynamo_item(resource: Resource, item: dict[str, Any]) -> Record | None:
    """A record from a scanned item, or None for items that are not records (book search terms, counters)."""
    if resource == "books":
        return book_from_item(item) if item.get("sk", {}).get("S") == "BOOK" else None
    if resource == "users":
        return UserProfile.model_validate(from_item(item))
    return order_from_item(item)


def scan_segment(
    resource: Resource, segment: int, total: int, start: dict[str, Any] | None, page_size: int = 500
) -> tuple[list[Record], dict[str, Any] | None]:
    """One page of a parallel scan segment: the records and the key to resume from (None: done)."""
    params: dict[str, Any] = {
        "TableName": table_of(resource), "Segment": segment, "TotalSegments": total, "Limit": page_size,
    }  # fmt: skip
    if resource == "books":
        params.update(FilterExpression="sk = :book", ExpressionAttributeValues={":book": {"S": "BOOK"}})
    if start:
        params["ExclusiveStartKey"] = start
    with translated_errors():
        result = dynamodb_client().scan(**params)
    records = [r for r in (from_dynamo_item(resource, i) for i in result.get("Items", [])) if r is not None]
    return records, result.get("LastEvaluatedKey")


def scan_all(resource: Resource) -> Iterator[Record]:
    """Every record of a resource in DynamoDB (a full scan: migration tooling only, never a user path)."""
    start: dict[str, Any] | None = None
    while True:
        records, start = scan_segment(resource, 0, 1, start)
        yield from records
        if start is None:
            return


def upsert_postgres(cur: Any, resource: Resource, records: Sequence[Record], *, force: bool = False) -> None:
    """Write records to PostgreSQL; an existing newer row is kept unless ``force``.

    Books compare ``version`` (strictly newer wins), users ``updatedAt`` (equal or newer wins);
    orders never change once placed.
    """
    if not records:
        return
    rows: list[tuple[Any, ...]]
    if resource == "books":
        guard = "" if force else " WHERE books.version < EXCLUDED.version"
        rows = [
            (b.bookId, b.title, b.author, b.category, b.price, b.stock, b.description, b.isbn, b.imageUrl,
             b.createdAt, b.updatedAt, b.version, title_key(b.title))
            for b in records if isinstance(b, Book)
        ]  # fmt: skip
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*BOOK_COLUMNS.split(", ")[1:], "title_key"])
        execute_values(
            cur,
            f"INSERT INTO books ({BOOK_COLUMNS}, title_key) VALUES %s "  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            f"ON CONFLICT (book_id) DO UPDATE SET {updates}{guard}",
            rows,
        )
    elif resource == "users":
        guard = "" if force else " WHERE users.updated_at <= EXCLUDED.updated_at"
        rows = [
            (u.userId, u.email, u.displayName, Json(u.address.model_dump()) if u.address else None,
             u.createdAt, u.updatedAt)
            for u in records if isinstance(u, UserProfile)
        ]  # fmt: skip
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in USER_COLUMNS.split(", ")[1:])
        execute_values(
            cur,
            f"INSERT INTO users ({USER_COLUMNS}) VALUES %s ON CONFLICT (user_id) DO UPDATE SET {updates}{guard}",  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            rows,
        )
    else:
        orders = [o for o in records if isinstance(o, Order)]
        execute_values(
            cur,
            "INSERT INTO orders (order_id, user_id, status, total, currency, note, created_at) VALUES %s"
            " ON CONFLICT (order_id) DO NOTHING",
            [(o.orderId, o.userId, o.status, o.total, o.currency, o.note, o.createdAt) for o in orders],
        )
        execute_values(
            cur,
            "INSERT INTO order_items (order_id, line_no, book_id, title, author, unit_price, quantity, line_total)"
            " VALUES %s ON CONFLICT (order_id, line_no) DO NOTHING",
            [
                (o.orderId, n, i.bookId, i.title, i.author, i.unitPrice, i.quantity, i.lineTotal)
                for o in orders
                for n, i in enumerate(o.items)
            ],
        )


def delete_postgres(cur: Any, resource: Resource, key: str) -> None:
    """Remove one record from PostgreSQL."""
    if resource == "books":
        cur.execute("DELETE FROM books WHERE book_id = %s", (key,))
    elif resource == "users":
        cur.execute("DELETE FROM users WHERE user_id = %s", (key,))
    else:
        cur.execute("DELETE FROM orders WHERE order_id = %s AND user_id = %s", tuple(reversed(key.split("/", 1))))


def postgres_records(cur: Any, resource: Resource, keys: Sequence[str] | None = None) -> Iterator[Record]:
    """Every record (or those with ``keys``) of a resource in PostgreSQL."""
    if resource == "books":
        where = " WHERE book_id = ANY(%s)" if keys is not None else ""
        cur.execute(f"SELECT {BOOK_COLUMNS} FROM books{where}", (list(keys),) if keys is not None else None)  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
        yield from (book_from_row(r) for r in cur)
    elif resource == "users":
        where = " WHERE user_id = ANY(%s)" if keys is not None else ""
        cur.execute(f"SELECT {USER_COLUMNS} FROM users{where}", (list(keys),) if keys is not None else None)  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
        yield from (profile_from_row(r) for r in cur)
    else:
        ids = [k.split("/", 1)[1] for k in keys] if keys is not None else None
        where = " WHERE o.order_id = ANY(%s)" if ids is not None else ""
        cur.execute(SELECT_ORDERS + where, (ids,) if ids is not None else None)
        yield from (order_from_row(r) for r in cur)


def canonical(model: BaseModel) -> dict[str, Any]:
    """A record as plain JSON data (for reports)."""
    return model.model_dump(mode="json")
