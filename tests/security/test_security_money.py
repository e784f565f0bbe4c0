"""Money through the domain on moto: any cart's order total is exact, stored exactly, and read back exactly.

tests/unit/test_money.py proves the arithmetic (``line_total``) for any cart. Here the whole
path runs for random catalogs and carts: books created through the repository (prices
go into DynamoDB as numbers), the cart priced by ``price_cart``, the order placed by
``checkout`` in one transaction and read back from the orders table. Totals must equal
the integer-cent sum, at every step, with two places.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from secrets import token_hex

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from security_support import reset_caches

from cloudshelf.domain import carts, orders
from cloudshelf.domain.carts import CartRules
from cloudshelf.ids import new_book_id
from cloudshelf.models.books import Book
from cloudshelf.models.common import utcnow
from cloudshelf.repositories import factory
from cloudshelf.settings import Settings
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names

LIMITS = Settings()
RULES = CartRules(
    ttl=timedelta(days=7), max_lines=LIMITS.max_cart_lines, max_quantity=LIMITS.max_line_quantity, currency="USD"
)


@pytest.fixture
def table_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    names = local_table_names("money")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", "1")
    monkeypatch.delenv("CLOUDSHELF_DB_DSN", raising=False)
    yield names
    reset_caches()


@contextmanager
def fresh_store(names: dict[str, str]) -> Iterator[None]:
    """An empty moto DynamoDB with the template's tables (one per example: moto's transactions slow as tables grow)."""
    with mock_aws():
        reset_caches()
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), names)
        yield


CENTS = st.integers(min_value=1, max_value=9_999_999)  # 0.01 .. 99999.99
CART = st.lists(st.tuples(CENTS, st.integers(min_value=1, max_value=LIMITS.max_line_quantity)), min_size=1, max_size=8)


def test_order_totals_are_exact_through_the_domain_and_the_store(
    table_names: dict[str, str], tally: Counter[str]
) -> None:
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lines=CART)
    def check(lines: list[tuple[int, int]]) -> None:
        with fresh_store(table_names):
            place(lines)
            tally["random carts through the domain on moto"] += 1

    def place(lines: list[tuple[int, int]]) -> None:
        books, cart_store, order_store = (
            factory.book_repository(),
            factory.cart_repository(),
            factory.order_repository(),
        )
        # Given books at random prices (in cents) and a cart of random quantities of them
        user = "money-user"
        now = utcnow()
        ids = []
        for cents, _ in lines:
            book = Book(
                bookId=new_book_id(),
                title=f"Priced {cents}",
                author="Money",
                category="Money",
                price=Decimal(cents) / 100,
                stock=LIMITS.max_line_quantity,
                isbn="9780306406157",
                createdAt=now,
                updatedAt=now,
            )
            books.create(book)
            ids.append(book.bookId)
        for book_id, (_, quantity) in zip(ids, lines, strict=True):
            carts.set_quantity(user, book_id, quantity, cart_store, books, RULES)
        exact = Decimal(sum(cents * quantity for cents, quantity in lines)) / 100
        # When the cart is priced and checked out, and the order read back from the table
        priced = carts.view_cart(user, cart_store, books, RULES)
        order = orders.checkout(
            user,
            token_hex(8),
            note=None,
            expected_total=None,
            rules=RULES,
            attempts=3,
            carts=cart_store,
            books=books,
            orders=order_store,
            checkout_repo=factory.checkout_repository(),
        )
        stored = orders.get_order(user, order.orderId, order_store)
        # Then every total is the integer-cent sum, exactly, with two places
        for total in (priced.total, order.total, stored.total):
            assert total == exact
            assert total.as_tuple().exponent == -2
        assert stored == order
        assert all(line.lineTotal == line.unitPrice * line.quantity for line in stored.items)

    check()
