"""Picks the repository implementations once per execution environment, from settings."""

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


def _require_phase_1() -> None:
    phase = get_settings().data_phase
    if phase != "1":
        raise RuntimeError(f"CLOUDSHELF_DATA_PHASE={phase} is not supported by this build (phase 1 only)")


@lru_cache(maxsize=1)
def book_repository() -> BookRepository:
    """The catalog store for the configured phase."""
    from cloudshelf.repositories.dynamodb.books import DynamoBookRepository

    _require_phase_1()
    return DynamoBookRepository(get_settings().books_table)


@lru_cache(maxsize=1)
def cart_repository() -> CartRepository:
    """Carts: DynamoDB in every phase."""
    from cloudshelf.repositories.dynamodb.carts import DynamoCartRepository

    return DynamoCartRepository(get_settings().carts_table)


@lru_cache(maxsize=1)
def order_repository() -> OrderRepository:
    """The order store for the configured phase."""
    from cloudshelf.repositories.dynamodb.orders import DynamoOrderRepository

    _require_phase_1()
    return DynamoOrderRepository(get_settings().orders_table)


@lru_cache(maxsize=1)
def checkout_repository() -> CheckoutRepository:
    """The atomic checkout for the configured phase."""
    from cloudshelf.repositories.dynamodb.orders import DynamoCheckoutRepository

    _require_phase_1()
    settings = get_settings()
    return DynamoCheckoutRepository(settings.books_table, settings.orders_table, settings.carts_table)


@lru_cache(maxsize=1)
def user_repository() -> UserRepository:
    """The profile store for the configured phase."""
    from cloudshelf.repositories.dynamodb.users import DynamoUserRepository

    _require_phase_1()
    return DynamoUserRepository(get_settings().users_table)


def clear_caches() -> None:
    """Forget every cached repository and client (tests, and the local stack on reconfigure)."""
    from cloudshelf.repositories.dynamodb.client import dynamodb_client

    for factory in (
        book_repository,
        cart_repository,
        order_repository,
        checkout_repository,
        user_repository,
        dynamodb_client,
    ):
        factory.cache_clear()
    get_settings.cache_clear()
