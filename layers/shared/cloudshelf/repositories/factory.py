"""Picks the repository implementations once per execution environment, from settings.

Each of books, users and orders has a storage mode (docs/migration.md): ``dynamodb``
(phase 1), ``dual-write`` and ``postgres-read`` (the move), ``postgres`` (phase 2).
Unset, a resource follows ``data_phase``. Carts stay in DynamoDB in every phase.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from cloudshelf.domain.ports import (
    BookRepository,
    CartRepository,
    CheckoutRepository,
    OrderRepository,
    UserRepository,
)
from cloudshelf.settings import get_settings

if TYPE_CHECKING:
    from cloudshelf.migration.dual import Stage
    from cloudshelf.migration.records import Resource


def _mode(resource: Resource) -> str:
    return get_settings().store_mode(resource)


def _stage(resource: Resource) -> Stage | None:
    """The dual-store stage of a resource, or None when it lives in one store."""
    mode = _mode(resource)
    if mode not in ("dual-write", "postgres-read"):
        return None
    from cloudshelf.migration.dual import Stage

    settings = get_settings()
    return Stage(
        resource,
        read_mirror=mode == "postgres-read",
        fallback=settings.read_fallback,
        shadow_rate=settings.shadow_read_rate,
    )


@lru_cache(maxsize=1)
def book_repository() -> BookRepository:
    """The catalog store for the configured mode."""
    from cloudshelf.repositories.dynamodb.books import DynamoBookRepository

    if _mode("books") == "postgres":
        from cloudshelf.repositories.postgres.books import PostgresBookRepository

        return PostgresBookRepository()
    dynamo = DynamoBookRepository(get_settings().books_table)
    stage = _stage("books")
    if stage is None:
        return dynamo
    from cloudshelf.migration.dual import DualBookRepository
    from cloudshelf.repositories.postgres.books import PostgresBookRepository

    return DualBookRepository(dynamo, PostgresBookRepository(), stage)


@lru_cache(maxsize=1)
def cart_repository() -> CartRepository:
    """Carts: DynamoDB in every phase."""
    from cloudshelf.repositories.dynamodb.carts import DynamoCartRepository

    return DynamoCartRepository(get_settings().carts_table)


@lru_cache(maxsize=1)
def order_repository() -> OrderRepository:
    """The order store for the configured mode."""
    from cloudshelf.repositories.dynamodb.orders import DynamoOrderRepository

    if _mode("orders") == "postgres":
        from cloudshelf.repositories.postgres.orders import PostgresOrderRepository

        return PostgresOrderRepository()
    dynamo = DynamoOrderRepository(get_settings().orders_table)
    stage = _stage("orders")
    if stage is None:
        return dynamo
    from cloudshelf.migration.dual import DualOrderRepository
    from cloudshelf.repositories.postgres.orders import PostgresOrderRepository

    return DualOrderRepository(dynamo, PostgresOrderRepository(), stage)


@lru_cache(maxsize=1)
def checkout_repository() -> CheckoutRepository:
    """The atomic checkout: in PostgreSQL once books and orders both live there, else in DynamoDB."""
    books, orders = _mode("books"), _mode("orders")
    if books == orders == "postgres":
        from cloudshelf.repositories.postgres.orders import PostgresCheckoutRepository

        return PostgresCheckoutRepository(cart_repository())
    if "postgres" in (books, orders):
        raise RuntimeError("books and orders move to 'postgres' together: checkout spans both")
    from cloudshelf.repositories.dynamodb.books import DynamoBookRepository
    from cloudshelf.repositories.dynamodb.orders import DynamoCheckoutRepository

    settings = get_settings()
    dynamo = DynamoCheckoutRepository(
        settings.books_table, settings.orders_table, settings.carts_table, settings.idempotency_table
    )
    order_stage, stock_stage = _stage("orders"), _stage("books")
    if order_stage is None and stock_stage is None:
        return dynamo
    from cloudshelf.migration.dual import DualCheckoutRepository

    return DualCheckoutRepository(dynamo, DynamoBookRepository(settings.books_table), order_stage, stock_stage)


@lru_cache(maxsize=1)
def user_repository() -> UserRepository:
    """The profile store for the configured mode."""
    from cloudshelf.repositories.dynamodb.users import DynamoUserRepository

    if _mode("users") == "postgres":
        from cloudshelf.repositories.postgres.users import PostgresUserRepository

        return PostgresUserRepository()
    dynamo = DynamoUserRepository(get_settings().users_table)
    stage = _stage("users")
    if stage is None:
        return dynamo
    from cloudshelf.migration.dual import DualUserRepository
    from cloudshelf.repositories.postgres.users import PostgresUserRepository

    return DualUserRepository(dynamo, PostgresUserRepository(), stage)


def clear_caches() -> None:
    """Forget every cached repository, client, connection and setting (tests; the local stack)."""
    import sys

    from cloudshelf.repositories.dynamodb.client import dynamodb_client

    for factory in (book_repository, cart_repository, order_repository, checkout_repository, user_repository):
        factory.cache_clear()
    dynamodb_client.cache_clear()
    connection = sys.modules.get("cloudshelf.repositories.postgres.connection")
    if connection is not None:
        connection.drop_connection()
    get_settings.cache_clear()
