"""Cart rules: one cart per user, quantities only, priced from the catalog on every read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from cloudshelf.errors import CartChanged, LimitExceeded, NotFound, OutOfStock
from cloudshelf.models.books import Book
from cloudshelf.models.carts import Cart, CartLine, StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.money import line_total
from cloudshelf.repositories.base import BookRepository, CartRepository

WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class CartRules:
    """The limits and lifetime of carts (from settings)."""

    ttl: timedelta
    max_lines: int
    max_quantity: int
    currency: str


def live_lines(cart: StoredCart | None, now: datetime) -> dict[str, int]:
    """The cart's lines, or none if it has expired (DynamoDB deletes expired items late)."""
    if cart is None or cart.expiresAt <= now:
        return {}
    return dict(cart.lines)


def price_cart(cart: StoredCart | None, books: BookRepository, rules: CartRules) -> Cart:
    """The cart as a shopper sees it: current prices, lines for deleted books dropped."""
    now = utcnow()
    lines = live_lines(cart, now)
    expired = cart is not None and bool(cart.lines) and not lines
    catalog = books.get_many(list(lines)) if lines else {}
    items = [_line(catalog[book_id], qty) for book_id, qty in lines.items() if book_id in catalog]
    total = sum((i.lineTotal for i in items), Decimal("0.00"))
    return Cart(
        items=items,
        total=total,
        currency=rules.currency,
        expiresAt=cart.expiresAt if cart is not None and lines else None,
        expired=expired,
    )


def _line(book: Book, quantity: int) -> CartLine:
    return CartLine(
        bookId=book.bookId,
        title=book.title,
        author=book.author,
        imageUrl=book.imageUrl,
        unitPrice=book.price,
        quantity=quantity,
        lineTotal=line_total(book.price, quantity),
        available=book.stock,
    )


def view_cart(user_id: str, carts: CartRepository, books: BookRepository, rules: CartRules) -> Cart:
    """GET /cart."""
    return price_cart(carts.get(user_id), books, rules)


def set_quantity(
    user_id: str, book_id: str, quantity: int, carts: CartRepository, books: BookRepository, rules: CartRules
) -> Cart:
    """Put ``quantity`` copies of a book in the cart (replacing the line's quantity).

    NotFound for an unknown book; OutOfStock (with the available count) beyond the
    stock; LimitExceeded beyond the per-line or per-cart limits.
    """
    if quantity > rules.max_quantity:
        raise LimitExceeded(
            f"at most {rules.max_quantity} copies of one book per order",
            {"bookId": book_id, "maxQuantity": rules.max_quantity},
        )
    book = books.get(book_id)
    if book is None:
        raise NotFound("no such book", {"bookId": book_id})
    if quantity > book.stock:
        raise OutOfStock(
            f"only {book.stock} in stock",
            {"books": [{"bookId": book_id, "title": book.title, "requested": quantity, "available": book.stock}]},
        )

    def change(lines: dict[str, int]) -> dict[str, int]:
        if book_id not in lines and len(lines) >= rules.max_lines:
            raise LimitExceeded(
                f"a cart holds at most {rules.max_lines} different books", {"maxLines": rules.max_lines}
            )
        lines[book_id] = quantity
        return lines

    return _write(user_id, change, carts, books, rules)


def remove_line(user_id: str, book_id: str, carts: CartRepository, books: BookRepository, rules: CartRules) -> Cart:
    """Drop a book from the cart (no error if it was not there)."""

    def change(lines: dict[str, int]) -> dict[str, int]:
        lines.pop(book_id, None)
        return lines

    return _write(user_id, change, carts, books, rules)


def clear_cart(user_id: str, carts: CartRepository) -> None:
    """Empty the cart."""
    carts.delete(user_id)


def _write(
    user_id: str,
    change: Callable[[dict[str, int]], dict[str, int]],
    carts: CartRepository,
    books: BookRepository,
    rules: CartRules,
) -> Cart:
    """Apply ``change`` to the live lines and save with a fresh expiry (optimistic, retried)."""
    for attempt in range(WRITE_ATTEMPTS):
        stored = carts.get(user_id)
        now = utcnow()
        lines = change(live_lines(stored, now))
        expires = (now + rules.ttl).replace(microsecond=0)  # stored as epoch seconds for TTL
        cart = StoredCart(userId=user_id, lines=lines, expiresAt=expires, updatedAt=now)
        try:
            saved = carts.save(cart, expected_version=stored.version if stored else 0)
        except CartChanged:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            continue
        return price_cart(saved, books, rules)
    raise AssertionError("unreachable")
