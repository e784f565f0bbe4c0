"""Repositories for the two middle stages of the move: DynamoDB is the source of truth, PostgreSQL the mirror.

- ``dual-write``: reads from DynamoDB; every write also goes to PostgreSQL. A failed
  mirror write does not fail the request: it is recorded for repair and counted.
- ``postgres-read``: the same writes; reads from PostgreSQL, falling back to DynamoDB
  (counted) when PostgreSQL fails and fallback is on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cloudshelf.domain.ports import Page
from cloudshelf.errors import DomainError, StoreUnavailable
from cloudshelf.migration.journal import Intent, clear_intent, record_intent, record_repair
from cloudshelf.migration.records import Record, Resource, delete_postgres, digest, key_of, upsert_postgres
from cloudshelf.models.books import Book, CategoryCount
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.orders import Order
from cloudshelf.models.users import UserProfile
from cloudshelf.observability import count, logger
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

    def through[T](
        self, keys: Sequence[str], source: Callable[[], T], mirror: Callable[[T], Callable[[Any], None]]
    ) -> T:
        """Write the source of truth, then the mirror, with an intent recorded first: a function that
        stops between the two (or whose mirror write fails) leaves a repair record, never silent drift."""
        intent = record_intent(self.resource, keys)
        with _forgotten_if_refused(lambda: self.forget(intent)):
            result = source()
        self.mirror_write(keys, mirror(result), intent)
        return result

    def mirror_write(
        self, keys: str | Sequence[str], write: Callable[[Any], None], intent: Intent | None = None
    ) -> None:
        """Apply a write to PostgreSQL; on failure record the key(s) for repair instead of failing.

        With ``intent``, the records made before the source write are cleared once mirrored.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        try:
            run(write, write=True)
        except Exception as exc:  # any failure of the mirror is repaired later, never lost
            count("MirrorWriteFailed")
            for key in keys:
                logger.warning("mirror write failed", extra={"resource": self.resource, "key": key})
                record_repair(self.resource, key, type(exc).__name__)
        # Copied, or recorded as a failure (which reconcile clears once copied): the intent is done.
        if intent is not None:
            self.forget(intent)

    def forget(self, intent: Intent) -> None:
        """Clear this request's own intents (best effort)."""
        try:
            for key in intent.keys:
                clear_intent(self.resource, key, intent.token)
        except StoreUnavailable:  # the intent stays: reconcile copies an equal record, no harm
            count("RepairIntentNotCleared")


class DualBookRepository:
    """BookRepository over both stores (see the module docstring)."""

    def __init__(self, source: DynamoBookRepository, mirror: PostgresBookRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, book_id: str, *, consistent: bool = False) -> Book | None:
        if consistent:  # the checks before a write: the source of truth decides, never the mirror
            return self.source.get(book_id, consistent=True)
        found = self.stage.read(lambda: self.source.get(book_id), lambda: self.mirror.get(book_id))
        self.stage.shadow(book_id, found, lambda: self.mirror.get(book_id))
        return found

    def get_many(self, book_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Book]:
        if consistent:  # pricing a cart and checking out: the prices the checkout will be held to
            return self.source.get_many(book_ids, consistent=True)
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
        self.stage.through([book.bookId], lambda: self.source.create(book), lambda _: _upsert("books", book))

    def replace(self, book: Book, previous: Book) -> None:
        self.stage.through([book.bookId], lambda: self.source.replace(book, previous), lambda _: _upsert("books", book))

    def delete(self, book: Book) -> None:
        self.stage.through(
            [book.bookId],
            lambda: self.source.delete(book),
            lambda _: lambda cur: delete_postgres(cur, "books", book.bookId),
        )


class DualUserRepository:
    """UserRepository over both stores."""

    def __init__(self, source: DynamoUserRepository, mirror: PostgresUserRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, user_id: str) -> UserProfile | None:
        found = self.stage.read(lambda: self.source.get(user_id), lambda: self.mirror.get(user_id))
        self.stage.shadow(user_id, found, lambda: self.mirror.get(user_id))
        return found

    def create(self, profile: UserProfile) -> UserProfile:
        return self.stage.through(
            [profile.userId], lambda: self.source.create(profile), lambda stored: _upsert("users", stored)
        )

    def update(self, profile: UserProfile) -> None:
        self.stage.through([profile.userId], lambda: self.source.update(profile), lambda _: _upsert("users", profile))


class DualOrderRepository:
    """OrderRepository over both stores (orders are written by checkout only)."""

    def __init__(self, source: DynamoOrderRepository, mirror: PostgresOrderRepository, stage: Stage) -> None:
        self.source, self.mirror, self.stage = source, mirror, stage

    def get(self, user_id: str, order_id: str) -> Order | None:
        found = self.stage.read(lambda: self.source.get(user_id, order_id), lambda: self.mirror.get(user_id, order_id))
        if found is None and self.stage.read_mirror:  # an order not copied yet: the source of truth has it
            count("ReadFallback")
            found = self.source.get(user_id, order_id)
        return found

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

    def resume(self, cart: StoredCart) -> Order | None:
        return self.source.resume(cart)

    def abandon(self, cart: StoredCart) -> None:
        self.source.abandon(cart)

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        # Intents first (see Stage.through): a function that stops after the transaction leaves
        # the order and the books it sold recorded for repair.
        ids = [line.bookId for line in order.items]
        order_intent = record_intent("orders", [key_of(order)]) if self.orders is not None else None
        stock_intent = record_intent("books", ids) if self.stock is not None else None
        with _forgotten_if_refused(lambda: self._forget(order_intent, stock_intent)):
            order = self.source.place_order(order, cart, key)
        if self.orders is not None:
            self.orders.mirror_write(key_of(order), _upsert("orders", order), order_intent)
        if self.stock is not None:
            try:
                books = list(self.books.get_many(ids, consistent=True).values())
            except StoreUnavailable:
                for book_id in ids:
                    record_repair("books", book_id, "stock not read back after checkout")
                if stock_intent is not None:
                    self.stock.forget(stock_intent)
                return order
            self.stock.mirror_write(ids, lambda cur: upsert_postgres(cur, "books", books), stock_intent)
        return order

    def _forget(self, order_intent: Intent | None, stock_intent: Intent | None) -> None:
        if self.orders is not None and order_intent is not None:
            self.orders.forget(order_intent)
        if self.stock is not None and stock_intent is not None:
            self.stock.forget(stock_intent)


@contextmanager
def _forgotten_if_refused(forget: Callable[[], None]) -> Iterator[None]:
    """Around a source write after intents were recorded: a refusal (nothing was written) clears
    them; an unknown outcome (StoreUnavailable: the write may have landed) keeps them for reconcile."""
    try:
        yield
    except StoreUnavailable:
        raise
    except DomainError:
        forget()
        raise


def _upsert(resource: Resource, record: Record) -> Callable[[Any], None]:
    """The mirror write of one record (version-guarded: an older copy never wins)."""
    return lambda cur: upsert_postgres(cur, resource, [record])
