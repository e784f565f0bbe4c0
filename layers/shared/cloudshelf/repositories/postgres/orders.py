"""Orders in PostgreSQL and the checkout transaction (the cart stays in DynamoDB)."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import execute_values

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.errors import CartChanged, OutOfStock
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.orders import Order
from cloudshelf.observability import count, logger
from cloudshelf.repositories.base import CartRepository, Page
from cloudshelf.repositories.postgres.connection import run

# One round trip per order or page: the lines come along as JSON.
SELECT_ORDERS = """
SELECT o.order_id, o.user_id, o.status, o.total, o.currency, o.note, o.created_at,
       (SELECT json_agg(json_build_object(
                'bookId', i.book_id, 'title', i.title, 'author', i.author, 'unitPrice', i.unit_price::text,
                'quantity', i.quantity, 'lineTotal', i.line_total::text) ORDER BY i.line_no)
          FROM order_items i WHERE i.order_id = o.order_id) AS items
  FROM orders o
"""


def order_from_row(row: Any) -> Order:
    """An Order from a SELECT_ORDERS row."""
    keys = ("orderId", "userId", "status", "total", "currency", "note", "createdAt", "items")
    data = dict(zip(keys, row, strict=True))
    data["currency"] = data["currency"].strip()
    data["items"] = data["items"] or []
    return Order.model_validate(data)


class PostgresOrderRepository:
    """OrderRepository on ``orders`` and ``order_items``."""

    def get(self, user_id: str, order_id: str) -> Order | None:
        def work(cur: Any) -> Order | None:
            cur.execute(SELECT_ORDERS + " WHERE o.order_id = %s AND o.user_id = %s", (order_id, user_id))
            row = cur.fetchone()
            return order_from_row(row) if row else None

        return run(work)

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> Page[Order]:
        before = str(decode_cursor("orders", cursor).get("id", "")) if cursor else None

        def work(cur: Any) -> list[Order]:
            where = "WHERE o.user_id = %s" + (" AND o.order_id < %s" if before else "")
            params = (user_id, before, limit + 1) if before else (user_id, limit + 1)
            cur.execute(SELECT_ORDERS + where + " ORDER BY o.order_id DESC LIMIT %s", params)
            return [order_from_row(r) for r in cur.fetchall()]

        orders = run(work)
        more = len(orders) > limit
        orders = orders[:limit]
        return Page(orders, encode_cursor("orders", {"id": orders[-1].orderId}) if more and orders else None)


class PostgresCheckoutRepository:
    """CheckoutRepository: stock and order in one PostgreSQL transaction, then the DynamoDB cart."""

    def __init__(self, carts: CartRepository) -> None:
        self.carts = carts

    def place_order(self, order: Order, cart: StoredCart) -> None:
        run(lambda cur: self._write(cur, order), write=True)
        # Committed: the order stands. Clearing the cart must not turn it into an error,
        # or an idempotent retry would place a second order.
        try:
            self.carts.delete(cart.userId, expected_version=cart.version)
        except Exception:  # the order is safe; a stale cart is a nuisance, not a loss
            logger.warning("cart not cleared after checkout", extra={"orderId": order.orderId})
            count("CartClearFailed")

    @staticmethod
    def _write(cur: Any, order: Order) -> None:
        wanted = {line.bookId: line for line in order.items}
        # Lock the rows in one fixed order (by id) so two checkouts can never deadlock.
        cur.execute(
            "SELECT book_id, stock, price, title FROM books WHERE book_id = ANY(%s) ORDER BY book_id FOR UPDATE",
            (sorted(wanted),),
        )
        rows = {book_id: (stock, price, title) for book_id, stock, price, title in cur.fetchall()}
        short = [
            {"bookId": b, "title": rows[b][2] if b in rows else line.title, "requested": line.quantity,
             "available": rows[b][0] if b in rows else 0}
            for b, line in sorted(wanted.items())
            if b not in rows or rows[b][0] < line.quantity
        ]  # fmt: skip
        if short:
            raise OutOfStock("not enough stock for some books", {"books": short})
        if any(rows[b][1] != line.unitPrice for b, line in wanted.items()):
            raise CartChanged("a price changed during checkout; review the cart and retry")
        execute_values(
            cur,
            "UPDATE books SET stock = books.stock - v.qty, version = books.version + 1, updated_at = v.at"
            " FROM (VALUES %s) AS v(book_id, qty, at) WHERE books.book_id = v.book_id AND books.stock >= v.qty",
            [(b, line.quantity, order.createdAt) for b, line in sorted(wanted.items())],
        )
        if cur.rowcount != len(wanted):  # cannot happen under the row locks; refuse rather than oversell
            raise CartChanged("stock changed during checkout; retry")
        cur.execute(
            "INSERT INTO orders (order_id, user_id, status, total, currency, note, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (order.orderId, order.userId, order.status, order.total, order.currency, order.note, order.createdAt),
        )
        execute_values(
            cur,
            "INSERT INTO order_items (order_id, line_no, book_id, title, author, unit_price, quantity, line_total)"
            " VALUES %s",
            [
                (order.orderId, n, i.bookId, i.title, i.author, i.unitPrice, i.quantity, i.lineTotal)
                for n, i in enumerate(order.items)
            ],
        )
