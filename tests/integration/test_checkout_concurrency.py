"""Concurrent checkouts never oversell: DynamoDB conditions, on a serialized moto server."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest

from cloudshelf.domain.carts import CartRules, set_quantity
from cloudshelf.domain.orders import checkout
from cloudshelf.errors import OutOfStock
from cloudshelf.models.books import Book
from cloudshelf.models.common import utcnow
from cloudshelf.repositories import factory
from cloudshelf_dev.moto_server import LockedMotoServer
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names
from tests.integration.conftest import reset_caches

BUYERS = 20
STOCK = 5
RULES = CartRules(ttl=timedelta(days=7), max_lines=50, max_quantity=20, currency="USD")


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A locked moto server on loopback with the template's tables; settings point at it."""
    server = LockedMotoServer().start()
    server.reset()  # moto's state is per process: start from nothing
    names = local_table_names("conc")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    create_tables(boto3.client("dynamodb", endpoint_url=server.url), names)
    reset_caches()
    yield server.url
    reset_caches()
    server.stop()


def _book(stock: int) -> Book:
    now = utcnow()
    return Book(
        bookId="scarce-book", title="Scarce", author="Someone", category="Fiction", price="10.00",  # type: ignore[arg-type]
        stock=stock, isbn="9780306406157", createdAt=now, updatedAt=now,
    )


def test_twenty_buyers_five_copies(moto_server: str) -> None:
    # Given a book with 5 copies and 20 shoppers with one copy each in their carts
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book(STOCK))
    buyers = [f"buyer-{i:02d}" for i in range(BUYERS)]
    for user in buyers:
        set_quantity(user, "scarce-book", 1, carts, books, RULES)

    # When all 20 check out at once
    def buy(user: str) -> str:
        try:
            checkout(user, note=None, currency="USD", attempts=3, carts=carts, books=books,
                     checkout_repo=factory.checkout_repository())
        except OutOfStock:
            return "out"
        return "ok"

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        outcomes = list(pool.map(buy, buyers, timeout=120))

    # Then exactly 5 succeed, 15 are refused, stock is 0 and exactly 5 orders exist
    assert outcomes.count("ok") == STOCK and outcomes.count("out") == BUYERS - STOCK
    book = books.get("scarce-book")
    assert book is not None and book.stock == 0
    orders = factory.order_repository()
    placed = sum(len(orders.list_page(user, 10, None).items) for user in buyers)
    assert placed == STOCK
    # And the losers' carts are untouched, the winners' are gone
    remaining = [user for user in buyers if carts.get(user) is not None]
    assert len(remaining) == BUYERS - STOCK


def test_opposite_orders_of_two_books_do_not_deadlock_or_oversell(moto_server: str) -> None:
    # Given two books with 3 copies and 12 buyers holding both in their carts
    books, carts = factory.book_repository(), factory.cart_repository()
    first = _book(3)
    second = first.model_copy(update={"bookId": "second-book", "title": "Second"})
    books.create(first)
    books.create(second)
    buyers = [f"pair-{i:02d}" for i in range(12)]
    for i, user in enumerate(buyers):
        pair = ("scarce-book", "second-book") if i % 2 else ("second-book", "scarce-book")
        for book_id in pair:
            set_quantity(user, book_id, 1, carts, books, RULES)

    def buy(user: str) -> Any:
        try:
            return checkout(user, note=None, currency="USD", attempts=3, carts=carts, books=books,
                            checkout_repo=factory.checkout_repository())
        except OutOfStock:
            return None

    # When they all check out at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(buy, buyers, timeout=120))

    # Then exactly 3 orders, both books at 0
    assert sum(r is not None for r in results) == 3
    assert [books.get(b).stock for b in ("scarce-book", "second-book")] == [0, 0]  # type: ignore[union-attr]
