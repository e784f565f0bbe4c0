"""Repositories for the two middle stages of the move: DynamoDB is the source of truth, PostgreSQL the mirror.

- ``dual-write``: reads from DynamoDB; every write also goes to PostgreSQL. A failed
  mirror write does not fail the request: it is recorded for repair and counted.
- ``postgres-read``: the same writes; reads from PostgreSQL, falling back to DynamoDB
  (counted) when PostgreSQL fails and fallback is on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from cloudshelf.errors import StoreUnavailable
from cloudshelf.migration.journal import record_repair
from cloudshelf.migration.records import Record, Resource, delete_postgres, digest, key_of, upsert_postgres
from cloudshelf.models.books import Book, CategoryCount
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.orders import Order
from cloudshelf.models.users import UserProfile
from cloudshelf.observability import count, logger
from cloudshelf.repositories.base import Page
from cloudshelf.repositories.dynamodb.books import DynamoBookRepository
from cloudshelf.repositories.dynamodb.orders import DynamoCheckoutRepository, DynamoOrderRepository
from cloudshelf.repositories.dynamodb.users import DynamoUserRepository
from cloudshelf.repositories.postgres.books import PostgresBookRepository
from cloudshelf.repositories.postgres.connection import run
from cloudshelf.repositories.postgres.orders import PostgresOrderRepository
from cloudshelf.repositories.postgres.users import PostgresUserRepository


class Stage:
    """How one resource is read and mirrored in the current stage."""

    def __init__(self, resource: Resource, *, read_mirror: bool, fallback: bool, shadow_rate: float) -> None:
        self.resource = resource
        self.read_mirror = read_mirror
        self.fallback = fallback
        self.shadow_rate = shadow_rate

    def read[T](self, source: Callable[[], T], mirror: Callable[[], T]) -> T:
        """Read from the store this stage reads, with fallback to the source of truth."""
        if not self.read_mirror:
            return source()
        try:
            return mirror()
        except StoreUnavailable:
            if not self.fallback:
                raise
            count("ReadFallback")
            logger.warning("read fell back to DynamoDB", extra={"resource": self.resource})
            return source()

    def shadow(self, key: str, found: Record | None, mirror: Callable[[], Record | None]) -> None:
        """Sometimes also read the mirror and compare (``dual-write`` only); never fails the request."""
        if self.read_mirror or self.shadow_rate <= 0 or random.random() >= self.shadow_rate:  # noqa: S311 # nosec B311 - shadow-read sampling, not security
            return
        try:
            other = mirror()
        except StoreUnavailable:
            return
        if (found is None) != (other is None) or (found and other and digest(found) != digest(other)):
            count("ShadowReadMismatch")
            logger.warning("shadow read mismatch", extra={"resource": self.resource, "key": key})

    def mirror_write(self, keys: str | Sequence[str], write: Callable[[Any], None]) -> None:
        """Apply a write to PostgreSQL; on failure record the key(s) for repair instead of failing."""
        try:
            run(write, write=True)
        except Exception as exc:  # any failure of the mirror is repaired later, never lost
            count("MirrorWriteFailed")
            for key in [keys] if isinstance(keys, str) else keys:
                logger.warning("mirror write failed", extra={"resource": self.resource, "key": key})
                record_repair(self.resource, key, type(exc).__name__)


class DualBookRepository:
    """BookRepository over both stores (see the module docstring)."""

    def __init__(self, source: DynamoBookRepository, mirror: PostgresBookRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, book_id: str) -> Book | None:
        found = self.stage.read(lambda: self.source.get(book_id), lambda: self.mirror.get(book_id))
        self.stage.shadow(book_id, found, lambda: self.mirror.get(book_id))
        return found

    def get_many(self, book_ids: Sequence[str]) -> dict[str, Book]:
        return self.stage.read(lambda: self.source.get_many(book_ids), lambda: self.mirror.get_many(book_ids))

    def list_page(self, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        return self.stage.read(
            lambda: self.source.list_page(category, limit, cursor),
            lambda: self.mirror.list_page(category, limit, cursor),
        )

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        return self.stage.read(
            lambda: self.source.search(query, category, limit, cursor),
            lambda: self.mirror.search(query, category, limit, cursor),
        )

    def categories(self) -> list[CategoryCount]:
        return self.stage.read(self.source.categories, self.mirror.categories)

    def create(self, book: Book) -> None:
        self.source.create(book)
        self.stage.mirror_write(book.bookId, lambda cur: upsert_postgres(cur, "books", [book]))

    def replace(self, book: Book, previous: Book) -> None:
        self.source.replace(book, previous)
        self.stage.mirror_write(book.bookId, lambda cur: upsert_postgres(cur, "books", [book]))

    def delete(self, book: Book) -> None:
        self.source.delete(book)
        self.stage.mirror_write(book.bookId, lambda cur: delete_postgres(cur, "books", book.bookId))


class DualUserRepository:
    """UserRepository over both stores."""

    def __init__(self, source: DynamoUserRepository, mirror: PostgresUserRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, user_id: str) -> UserProfile | None:
        found = self.stage.read(lambda: self.source.get(user_id), lambda: self.mirror.get(user_id))
        self.stage.shadow(user_id, found, lambda: self.mirror.get(user_id))
        return found

    def create(self, profile: UserProfile) -> UserProfile:
        stored = self.source.create(profile)
        self.stage.mirror_write(stored.userId, lambda cur: upsert_postgres(cur, "users", [stored]))
        return stored

    def update(self, profile: UserProfile) -> None:
        self.source.update(profile)
        self.stage.mirror_write(profile.userId, lambda cur: upsert_postgres(cur, "users", [profile]))


class DualOrderRepository:
    """OrderRepository over both stores (orders are written by checkout only)."""

    def __init__(self, source: DynamoOrderRepository, mirror: PostgresOrderRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, user_id: str, order_id: str) -> Order | None:
        return self.stage.read(lambda: self.source.get(user_id, order_id), lambda: self.mirror.get(user_id, order_id))

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> Page[Order]:
        return self.stage.read(
            lambda: self.source.list_page(user_id, limit, cursor), lambda: self.mirror.list_page(user_id, limit, cursor)
        )


class DualCheckoutRepository:
    """Checkout stays one DynamoDB transaction (the source of truth); then the order and the
    books' new stock are mirrored to PostgreSQL (the stock copied as read back, consistently)."""

    def __init__(
        self, source: DynamoCheckoutRepository, books: DynamoBookRepository, orders: Stage | None, stock: Stage | None
    ) -> None:
        self.source, self.books, self.orders, self.stock = source, books, orders, stock

    def place_order(self, order: Order, cart: StoredCart) -> None:
        self.source.place_order(order, cart)
        if self.orders is not None:
            self.orders.mirror_write(key_of(order), lambda cur: upsert_postgres(cur, "orders", [order]))
        if self.stock is not None:
            ids = [line.bookId for line in order.items]
            try:
                books = list(self.books.get_many(ids, consistent=True).values())
            except StoreUnavailable:
                for book_id in ids:
                    record_repair("books", book_id, "stock not read back after checkout")
                return
            self.stock.mirror_write(ids, lambda cur: upsert_postgres(cur, "books", books))
