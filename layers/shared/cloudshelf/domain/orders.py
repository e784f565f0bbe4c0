"""Checkout and order history."""

from __future__ import annotations

from decimal import Decimal

from cloudshelf.domain.carts import live_lines
from cloudshelf.errors import CartChanged, CartEmpty, NotFound, OutOfStock
from cloudshelf.ids import new_sortable_id
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order, OrderLine, OrderPage
from cloudshelf.money import line_total
from cloudshelf.repositories.base import BookRepository, CartRepository, CheckoutRepository, OrderRepository


def checkout(
    user_id: str,
    *,
    note: str | None,
    currency: str,
    attempts: int,
    carts: CartRepository,
    books: BookRepository,
    checkout_repo: CheckoutRepository,
) -> Order:
    """Turn the caller's cart into an order, all or nothing.

    Prices come from the catalog now, never from the client. CartEmpty for an empty or
    expired cart; OutOfStock naming every short book (nothing changes); when the cart
    or a price changes at the same moment, the checkout is re-read and retried.
    """
    for attempt in range(attempts):
        stored = carts.get(user_id)
        lines = live_lines(stored, utcnow())
        if stored is None or not lines:
            raise CartEmpty("the cart is empty")
        catalog = books.get_many(list(lines))
        short = [
            {
                "bookId": book_id,
                "title": catalog[book_id].title if book_id in catalog else None,
                "requested": qty,
                "available": catalog[book_id].stock if book_id in catalog else 0,
            }
            for book_id, qty in lines.items()
            if book_id not in catalog or catalog[book_id].stock < qty
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
        order = Order(
            orderId=new_sortable_id(),
            userId=user_id,
            items=items,
            total=sum((i.lineTotal for i in items), Decimal("0.00")),
            currency=currency,
            note=note,
            createdAt=utcnow(),
        )
        try:
            checkout_repo.place_order(order, stored)
            return order
        except CartChanged:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


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
