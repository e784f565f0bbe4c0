"""The catalog in DynamoDB.

Items in the books table:
- a book: ``pk=BOOK#<id>``, ``sk=BOOK``; listed through the GSIs ``byCategory``
  (``gsi1pk=CAT#<category>``) and ``byTitle`` (``gsi2pk=BOOKS``), both sorted by title;
- a category counter: ``pk=CATEGORIES``, ``sk=<category>``, ``count``;
- a search term: ``pk=TERM#<prefix>``, ``sk=<bookId>`` (see BookSearch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import Page
from cloudshelf.domain.search_terms import index_terms, title_key
from cloudshelf.errors import AlreadyExists, Conflict, NotFound
from cloudshelf.models.books import Book, CategoryCount
from cloudshelf.repositories.dynamodb.book_search import BookSearch
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item, n, s, to_item
from cloudshelf.repositories.dynamodb.transactions import (
    TransactionCancelled,
    batch_get,
    batch_write,
    transact_write,
)

ALL_BOOKS = "BOOKS"
# Between title and id in the listing sort keys: below " ", so "Emma" sorts before "Emma Two",
# the same order as PostgreSQL's (title_key, book_id).
SORT_SEPARATOR = "\x1f"
CATEGORIES = "CATEGORIES"
_BOOK_FIELDS = (
    "bookId",
    "title",
    "author",
    "category",
    "price",
    "stock",
    "description",
    "isbn",
    "imageUrl",
    "createdAt",
    "updatedAt",
    "version",
)


def book_key(book_id: str) -> dict[str, Any]:
    """The primary key of a book item."""
    return {"pk": s(f"BOOK#{book_id}"), "sk": s("BOOK")}


def book_item(book: Book) -> dict[str, Any]:
    """A book as a DynamoDB item, with its listing keys."""
    sort = f"{title_key(book.title)}{SORT_SEPARATOR}{book.bookId}"
    data = book.model_dump(mode="json")
    data.update(price=book.price, version=book.version)
    data.update(
        pk=f"BOOK#{book.bookId}", sk="BOOK", gsi1pk=f"CAT#{book.category}", gsi1sk=sort, gsi2pk=ALL_BOOKS, gsi2sk=sort
    )
    return to_item(data)


def book_from_item(item: dict[str, Any]) -> Book:
    """A Book from a stored item."""
    data = from_item(item)
    return Book.model_validate({k: data[k] for k in _BOOK_FIELDS if k in data})


class DynamoBookRepository:
    """BookRepository on one DynamoDB table (see the module docstring for the layout)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._search = BookSearch(table, self.get_many)

    def get(self, book_id: str, *, consistent: bool = False) -> Book | None:
        with translated_errors():
            item = (
                dynamodb_client()
                .get_item(TableName=self.table, Key=book_key(book_id), ConsistentRead=consistent)
                .get("Item")
            )
        return book_from_item(item) if item else None

    def get_many(self, book_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Book]:
        keys = [book_key(b) for b in dict.fromkeys(book_ids)]
        books = (book_from_item(item) for item in batch_get(self.table, keys, consistent=consistent))
        return {b.bookId: b for b in books}

    def list_page(self, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        index, pk_name, sk_name, partition = (
            ("byCategory", "gsi1pk", "gsi1sk", f"CAT#{category}")
            if category
            else ("byTitle", "gsi2pk", "gsi2sk", ALL_BOOKS)
        )
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": pk_name},
            "ExpressionAttributeValues": {":p": s(partition)},
            "Limit": limit + 1,
        }
        if cursor:  # the same cursor values as the PostgreSQL store's, so either can continue a listing
            values = decode_cursor("books", cursor)
            book_id, key = str(values.get("id", "")), str(values.get("t", ""))
            params["ExclusiveStartKey"] = {
                **book_key(book_id),
                pk_name: s(partition),
                sk_name: s(f"{key}{SORT_SEPARATOR}{book_id}"),
            }
        with translated_errors():
            items = dynamodb_client().query(**params).get("Items", [])
        books = [book_from_item(i) for i in items[:limit]]
        next_cursor = None
        if len(items) > limit:
            last = books[-1]
            next_cursor = encode_cursor("books", {"t": title_key(last.title), "id": last.bookId})
        return Page(books, next_cursor)

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        return self._search.search(query, category, limit, cursor)

    def categories(self) -> list[CategoryCount]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": s(CATEGORIES)},
        }
        with translated_errors():
            while True:
                result = dynamodb_client().query(**params)
                items.extend(result.get("Items", []))
                if "LastEvaluatedKey" not in result:
                    break
                params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
        counts = [CategoryCount(name=i["sk"]["S"], count=int(i.get("count", {"N": "0"})["N"])) for i in items]
        return [c for c in counts if c.count > 0]

    def create(self, book: Book) -> None:
        self._put_terms(book.bookId, index_terms(book.title, book.author))
        actions = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": book_item(book),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._count(book.category, 1),
        ]
        try:
            transact_write(actions)
        except TransactionCancelled as exc:
            raise AlreadyExists(f"a book with id {book.bookId} exists already", {"bookId": book.bookId}) from exc

    def replace(self, book: Book, previous: Book) -> None:
        new_terms = index_terms(book.title, book.author)
        old_terms = index_terms(previous.title, previous.author)
        self._put_terms(book.bookId, new_terms - old_terms)
        actions = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": book_item(book),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": n(previous.version)},
                }
            }
        ]
        if book.category != previous.category:
            actions += [self._count(previous.category, -1), self._count(book.category, 1)]
        try:
            transact_write(actions)
        except TransactionCancelled as exc:
            raise Conflict("the book was changed by someone else meanwhile; reload and retry") from exc
        self._delete_terms(book.bookId, old_terms - new_terms)

    def delete(self, book: Book) -> None:
        actions = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": book_key(book.bookId),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": n(book.version)},
                }
            },
            self._count(book.category, -1),
        ]
        try:
            transact_write(actions)
        except TransactionCancelled as exc:
            if self.get(book.bookId) is None:
                raise NotFound("no such book", {"bookId": book.bookId}) from exc
            raise Conflict("the book was changed by someone else meanwhile; reload and retry") from exc
        self._delete_terms(book.bookId, index_terms(book.title, book.author))

    def _count(self, category: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": s(CATEGORIES), "sk": s(category)},
                "UpdateExpression": "ADD #c :d",
                "ExpressionAttributeNames": {"#c": "count"},
                "ExpressionAttributeValues": {":d": n(delta)},
            }
        }

    def _put_terms(self, book_id: str, terms: set[str]) -> None:
        # Written before the book: a term whose book is missing is filtered out on read.
        batch_write(
            self.table, [{"PutRequest": {"Item": {"pk": s(f"TERM#{t}"), "sk": s(book_id)}}} for t in sorted(terms)]
        )

    def _delete_terms(self, book_id: str, terms: set[str]) -> None:
        # Deleted after the book changed: a stale term is filtered out on read.
        batch_write(
            self.table, [{"DeleteRequest": {"Key": {"pk": s(f"TERM#{t}"), "sk": s(book_id)}}} for t in sorted(terms)]
        )
