"""Concurrent checkouts never oversell: DynamoDB conditions, on a serialized moto server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from secrets import token_hex
from typing import Any

from cloudshelf.domain.carts import CartRules, set_quantity
from cloudshelf.domain.orders import checkout
from cloudshelf.errors import OutOfStock
from cloudshelf.models.books import Book
from cloudshelf.models.common import utcnow
from cloudshelf.repositories import factory

# (buyers, copies) per phase: the issue asks 20 for 5 on DynamoDB, 50 for 10 on PostgreSQL.
CONTENTION = {"1": (20, 5), "2": (50, 10)}
RULES = CartRules(ttl=timedelta(days=7), max_lines=50, max_quantity=20, currency="USD")


def _book(stock: int) -> Book:
    now = utcnow()
    return Book(
        bookId="scarce-book",
        title="Scarce",
        author="Someone",
        category="Fiction",
        price="10.00",  # type: ignore[arg-type]
        stock=stock,
        isbn="9780306406157",
        createdAt=now,
        updatedAt=now,
    )


def test_many_buyers_few_copies(moto_server: str, phase: str) -> None:
    # Given a book with few copies (5 or 10) and many shoppers (20 or 50) with one copy each in their carts
    buyers_count, stock = CONTENTION[phase]
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book(stock))
    buyers = [f"buyer-{i:02d}" for i in range(buyers_count)]
    for user in buyers:
        set_quantity(user, "scarce-book", 1, carts, books, RULES)

    # When all of them check out at once
    def buy(user: str) -> str:
        try:
            checkout(
                user,
                token_hex(8),
                note=None,
                expected_total=None,
                rules=RULES,
                attempts=3,
                carts=carts,
                books=books,
                orders=factory.order_repository(),
                checkout_repo=factory.checkout_repository(),
            )
        except OutOfStock:
            return "out"
        return "ok"

    with ThreadPoolExecutor(max_workers=buyers_count) as pool:
        outcomes = list(pool.map(buy, buyers, timeout=120))

    # Then exactly as many succeed as there were copies, the rest are refused, stock is 0
    assert outcomes.count("ok") == stock
    assert outcomes.count("out") == buyers_count - stock
    book = books.get("scarce-book")
    assert book is not None
    assert book.stock == 0
    orders = factory.order_repository()
    placed = sum(len(orders.list_page(user, 10, None).items) for user in buyers)
    assert placed == stock
    # And the losers' carts are untouched, the winners' are emptied
    remaining = [user for user in buyers if (cart := carts.get(user)) is not None and cart.lines]
    assert len(remaining) == buyers_count - stock


def test_opposite_orders_of_two_books_do_not_deadlock_or_oversell(moto_server: str, phase: str) -> None:
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
            return checkout(
                user,
                token_hex(8),
                note=None,
                expected_total=None,
                rules=RULES,
                attempts=3,
                carts=carts,
                books=books,
                orders=factory.order_repository(),
                checkout_repo=factory.checkout_repository(),
            )
        except OutOfStock:
            return None

    # When they all check out at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(buy, buyers, timeout=120))

    # Then exactly 3 orders, both books at 0
    assert sum(r is not None for r in results) == 3
    assert [books.get(b).stock for b in ("scarce-book", "second-book")] == [0, 0]  # type: ignore[union-attr]
