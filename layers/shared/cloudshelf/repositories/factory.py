"""Picks the repository implementations once per execution environment, from settings.

Phase 1 keeps everything in DynamoDB. Phase 2 keeps books, users and orders in
PostgreSQL; carts stay in DynamoDB in every phase.
"""

from __future__ import annotations

from functools import lru_cache

from cloudshelf.repositories.base import (
    BookRepository,
    CartRepository,
    CheckoutRepository,
    OrderRepository,
    UserRepository,
)
from cloudshelf.settings import get_settings


def _phase_2() -> bool:
    return get_settings().data_phase == "2"


@lru_cache(maxsize=1)
def book_repository() -> BookRepository:
    """The catalog store for the configured phase."""
    if _phase_2():
        from cloudshelf.repositories.postgres.books import PostgresBookRepository

        return PostgresBookRepository()
    from cloudshelf.repositories.dynamodb.books import DynamoBookRepository

    return DynamoBookRepository(get_settings().books_table)


@lru_cache(maxsize=1)
def cart_repository() -> CartRepository:
    """Carts: DynamoDB in every phase."""
    from cloudshelf.repositories.dynamodb.carts import DynamoCartRepository

    return DynamoCartRepository(get_settings().carts_table)


@lru_cache(maxsize=1)
def order_repository() -> OrderRepository:
    """The order store for the configured phase."""
    if _phase_2():
        from cloudshelf.repositories.postgres.orders import PostgresOrderRepository

        return PostgresOrderRepository()
    from cloudshelf.repositories.dynamodb.orders import DynamoOrderRepository

    return DynamoOrderRepository(get_settings().orders_table)


@lru_cache(maxsize=1)
def checkout_repository() -> CheckoutRepository:
    """The atomic checkout for the configured phase."""
    if _phase_2():
        from cloudshelf.repositories.postgres.orders import PostgresCheckoutRepository

        return PostgresCheckoutRepository(cart_repository())
    from cloudshelf.repositories.dynamodb.orders import DynamoCheckoutRepository

    settings = get_settings()
    return DynamoCheckoutRepository(settings.books_table, settings.orders_table, settings.carts_table)


@lru_cache(maxsize=1)
def user_repository() -> UserRepository:
    """The profile store for the configured phase."""
    if _phase_2():
        from cloudshelf.repositories.postgres.users import PostgresUserRepository

        return PostgresUserRepository()
    from cloudshelf.repositories.dynamodb.users import DynamoUserRepository

    return DynamoUserRepository(get_settings().users_table)


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
