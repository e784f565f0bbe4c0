"""Checkout and order history."""

from __future__ import annotations

from decimal import Decimal

from cloudshelf.domain.carts import CartRules, live_lines, priced_cart
from cloudshelf.domain.ports import BookRepository, CartRepository, CheckoutRepository, OrderRepository
from cloudshelf.errors import (
    BookUnavailable,
    CartChanged,
    CartEmpty,
    CheckoutPending,
    KeyAlreadyUsed,
    NotFound,
    OutOfStock,
    PriceChanged,
)
from cloudshelf.ids import new_sortable_id
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order, OrderLine, OrderPage
from cloudshelf.money import checked_total, format_money, line_total


def checkout(
    user_id: str,
    key: str,
    *,
    note: str | None,
    expected_total: Decimal | None,
    rules: CartRules,
    attempts: int,
    carts: CartRepository,
    books: BookRepository,
    orders: OrderRepository,
    checkout_repo: CheckoutRepository,
) -> Order:
    """Turn the caller's cart into an order, all or nothing, at most once per cart version.

    Prices come from the catalog now, never from the client. A retry with the same
    ``key`` after a lost answer gets the order that was placed. CartEmpty for an empty or
    expired cart (or one another tab just bought); BookUnavailable for books no longer
    sold; OutOfStock naming every short book; PriceChanged (with the current cart) when
    ``expected_total`` is given and differs; nothing changes in any of these cases. When
    the cart or a price changes at the same moment, the checkout is re-read and retried.
    """
    failed, settled = 0, 0
    while True:
        stored = carts.get(user_id)
        if stored is not None:
            done = _answered(stored, key, orders)
            if done is not None:
                return done
            if stored.claim is not None:
                settled += 1  # settling an earlier checkout is not one of this checkout's attempts
                if settled > attempts:
                    raise CheckoutPending("other checkouts of this cart keep starting; try again in a moment")
                claimed = checkout_repo.resume(stored)
                if claimed is not None and stored.claim.key == key:
                    return claimed
                if claimed is not None:
                    raise CartEmpty(
                        "this cart was just checked out in another tab or window", {"orderId": claimed.orderId}
                    )
                continue  # abandoned: the cart is free again, read it anew
        if stored is None:
            raise CartEmpty("the cart is empty")
        order = _price_order(stored, note, expected_total, rules, books)
        try:
            return checkout_repo.place_order(order, stored, key)
        except KeyAlreadyUsed as used:  # a retry the cart no longer remembers: the store does
            placed = orders.get(user_id, used.order_id)
            if placed is None:
                raise
            return placed
        except CartChanged:
            failed += 1
            if failed >= attempts:
                raise


def _answered(stored: StoredCart, key: str, orders: OrderRepository) -> Order | None:
    """The order a checkout with ``key`` already placed from this cart (a retry after a lost answer)."""
    order_id = stored.order_for_key(key)
    return orders.get(stored.userId, order_id) if order_id else None


def _price_order(
    stored: StoredCart,
    note: str | None,
    expected_total: Decimal | None,
    rules: CartRules,
    books: BookRepository,
) -> Order:
    """The order this cart would become now, or the reason it can't be bought."""
    lines = live_lines(stored, utcnow())
    if not lines:
        raise CartEmpty("the cart is empty")
    catalog = books.get_many(list(lines), consistent=True)
    gone = [{"bookId": b, "title": stored.titles.get(b)} for b in lines if b not in catalog]
    if gone:
        names = ", ".join(f"\u201c{g['title']}\u201d" if g["title"] else str(g["bookId"]) for g in gone)
        raise BookUnavailable(f"no longer sold: {names}; remove it from the cart to check out", {"books": gone})
    short = [
        {"bookId": b, "title": catalog[b].title, "requested": qty, "available": catalog[b].stock}
        for b, qty in lines.items()
        if catalog[b].stock < qty
    ]
    if short:
        raise OutOfStock("not enough stock for some books", {"books": short})
    items = [
        OrderLine(
            bookId=book_id,
            title=catalog[book_id].title,
            author=catalog[book_id].author,
            unitPrice=catalog[book_id].price,
            quantity=qty,
            lineTotal=line_total(catalog[book_id].price, qty),
        )
        for book_id, qty in sorted(lines.items())
    ]
    total = checked_total(i.lineTotal for i in items)
    if expected_total is not None and expected_total != total:
        cart = priced_cart(stored, catalog, rules).model_dump(mode="json")
        raise PriceChanged(
            f"the total is now {format_money(total)}, not {format_money(expected_total)}; review the cart",
            {"expectedTotal": format_money(expected_total), "total": format_money(total), "cart": cart},
        )
    return Order(
        orderId=new_sortable_id(),
        userId=stored.userId,
        items=items,
        total=total,
        currency=rules.currency,
        note=note,
        createdAt=utcnow(),
    )


def get_order(user_id: str, order_id: str, repo: OrderRepository) -> Order:
    """One of the caller's orders; NotFound for an unknown id or another user's order."""
    order = repo.get(user_id, order_id)
    if order is None:
        raise NotFound("no such order", {"orderId": order_id})
    return order


def list_orders(user_id: str, limit: int, cursor: str | None, repo: OrderRepository) -> OrderPage:
    """The caller's orders, newest first."""
    page = repo.list_page(user_id, limit, cursor)
    return OrderPage(items=page.items, nextCursor=page.next_cursor)
