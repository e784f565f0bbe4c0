"""Cart rules: one cart per user, quantities only, priced from the catalog on every read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudshelf.domain.ports import BookRepository, CartRepository, CheckoutRepository
from cloudshelf.errors import CartChanged, CheckoutPending, LimitExceeded, NotFound, OutOfStock
from cloudshelf.models.books import Book
from cloudshelf.models.carts import Cart, CartLine, StoredCart, UnavailableLine
from cloudshelf.models.common import utcnow
from cloudshelf.money import checked_total, line_total

WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class CartRules:
    """The limits and lifetime of carts (from settings)."""

    ttl: timedelta
    max_lines: int
    max_quantity: int
    currency: str


def first_version(now: datetime) -> int:
    """The version a new cart starts from: the clock in milliseconds.

    A cart item outlives checkouts (it is emptied, not deleted), so its version only grows;
    once TTL has deleted it, the next cart starts above any version the old one reached
    (it would need a write per millisecond for a week to catch up). A version therefore
    never repeats for a user, and a request holding an old cart can't buy it twice.
    """
    return int(now.timestamp() * 1000)


def live_lines(cart: StoredCart | None, now: datetime) -> dict[str, int]:
    """The cart's lines, or none if it has expired (DynamoDB deletes expired items late)."""
    if cart is None or cart.expiresAt <= now:
        return {}
    return dict(cart.lines)


def priced_cart(cart: StoredCart | None, catalog: Mapping[str, Book], rules: CartRules) -> Cart:
    """The cart as a shopper sees it, from books already read: current prices; lines for
    books no longer in the catalog listed apart, never charged."""
    lines = live_lines(cart, utcnow())
    expired = cart is not None and bool(cart.lines) and not lines
    items = [_line(catalog[book_id], qty) for book_id, qty in lines.items() if book_id in catalog]
    titles = cart.titles if cart is not None else {}
    unavailable = [
        UnavailableLine(bookId=book_id, title=titles.get(book_id), quantity=qty)
        for book_id, qty in lines.items()
        if book_id not in catalog
    ]
    return Cart(
        items=items,
        unavailable=unavailable,
        total=checked_total(i.lineTotal for i in items),
        currency=rules.currency,
        expiresAt=cart.expiresAt if cart is not None and lines else None,
        expired=expired,
        checkoutPending=cart is not None and cart.claim is not None,
    )


def price_cart(cart: StoredCart | None, books: BookRepository, rules: CartRules) -> Cart:
    """The cart priced from the catalog now (one batch read)."""
    lines = live_lines(cart, utcnow())
    return priced_cart(cart, books.get_many(list(lines), consistent=True) if lines else {}, rules)


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
    user_id: str,
    book_id: str,
    quantity: int,
    carts: CartRepository,
    books: BookRepository,
    rules: CartRules,
    *,
    checkouts: CheckoutRepository | None = None,
) -> Cart:
    """Put ``quantity`` copies of a book in the cart (replacing the line's quantity).

    NotFound for an unknown book; OutOfStock (with the available count) beyond the
    stock; LimitExceeded beyond the per-line or per-cart limits or the money maximum.
    """
    if quantity > rules.max_quantity:
        raise LimitExceeded(
            f"at most {rules.max_quantity} copies of one book per order",
            {"bookId": book_id, "maxQuantity": rules.max_quantity},
        )
    book = books.get(book_id, consistent=True)
    if book is None:
        raise NotFound("no such book", {"bookId": book_id})
    if quantity > book.stock:
        raise OutOfStock(
            f"only {book.stock} in stock",
            {"books": [{"bookId": book_id, "title": book.title, "requested": quantity, "available": book.stock}]},
        )

    def change(lines: dict[str, int], titles: dict[str, str]) -> None:
        if book_id not in lines and len(lines) >= rules.max_lines:
            raise LimitExceeded(
                f"a cart holds at most {rules.max_lines} different books", {"maxLines": rules.max_lines}
            )
        lines[book_id] = quantity
        titles[book_id] = book.title

    return _write(user_id, change, carts, books, rules, checkouts=checkouts)


def remove_line(
    user_id: str,
    book_id: str,
    carts: CartRepository,
    books: BookRepository,
    rules: CartRules,
    *,
    checkouts: CheckoutRepository | None = None,
) -> Cart:
    """Drop a book from the cart (no error if it was not there; also for books no longer sold)."""

    def change(lines: dict[str, int], titles: dict[str, str]) -> None:
        lines.pop(book_id, None)
        titles.pop(book_id, None)

    return _write(user_id, change, carts, books, rules, checkouts=checkouts)


def clear_cart(
    user_id: str,
    carts: CartRepository,
    books: BookRepository,
    rules: CartRules,
    *,
    checkouts: CheckoutRepository | None = None,
) -> None:
    """Empty the cart (the item stays, so its version keeps counting)."""

    def change(lines: dict[str, int], titles: dict[str, str]) -> None:
        lines.clear()
        titles.clear()

    _write(user_id, change, carts, books, rules, price=False, checkouts=checkouts)


def _write(
    user_id: str,
    change: Callable[[dict[str, int], dict[str, str]], None],
    carts: CartRepository,
    books: BookRepository,
    rules: CartRules,
    *,
    price: bool = True,
    checkouts: CheckoutRepository | None = None,
) -> Cart:
    """Apply ``change`` to the live lines and save with a fresh expiry (optimistic, retried).

    A checkout claim on the cart is settled first through ``checkouts`` (its order abandoned
    unless it was placed already, as a cart write before the claim would have made the
    checkout re-read the cart); CheckoutPending if it can't be (no port, or claims keep coming).
    """
    for attempt in range(WRITE_ATTEMPTS):
        stored = carts.get(user_id)
        if stored is not None and stored.claim is not None:
            if checkouts is None or attempt == WRITE_ATTEMPTS - 1:
                raise CheckoutPending(
                    "a checkout of this cart is being completed; try again in a moment",
                    {"orderId": stored.claim.order.orderId},
                )
            checkouts.abandon(stored)
            continue
        now = utcnow()
        lines = live_lines(stored, now)
        titles = {b: t for b, t in (stored.titles if stored else {}).items() if b in lines}
        change(lines, titles)
        expires = (now + rules.ttl).replace(microsecond=0)  # stored as epoch seconds for TTL
        version = stored.version + 1 if stored is not None else first_version(now)
        cart = StoredCart(
            userId=user_id,
            lines=lines,
            titles=titles,
            version=version,
            expiresAt=expires,
            updatedAt=now,
            placed=stored.placed if stored is not None else [],
        )
        # Priced before saving: a cart beyond what money can hold is refused, not stored.
        catalog = books.get_many(list(lines), consistent=True) if price and lines else {}
        priced = priced_cart(cart, catalog, rules)
        try:
            carts.save(cart, expected_version=stored.version if stored else 0)
        except CartChanged:
            now_stored = carts.get(user_id)  # refused, or applied and refused to the SDK's resend of it
            if now_stored is not None and (now_stored.version, now_stored.lines) == (cart.version, cart.lines):
                return priced
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            continue
        return priced
    raise AssertionError("unreachable")
