"""Orders in PostgreSQL and the checkout transaction (the cart stays in DynamoDB)."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import execute_values

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import CartRepository, Page
from cloudshelf.errors import CartChanged, DomainError, KeyAlreadyUsed, OutOfStock, StoreUnavailable
from cloudshelf.models.carts import CheckoutClaim, StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order
from cloudshelf.observability import count, logger
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
    """CheckoutRepository across two stores that share no transaction: the cart in DynamoDB,
    stock and orders in PostgreSQL.

    1. Claim the cart version in DynamoDB (conditional: the version priced, no other claim);
       the claim carries the priced order and its id. From now on the cart can't change.
    2. One PostgreSQL transaction decides the claim's fate once, in ``checkout_claims``:
       ``placed`` with the stock taken and the order written, or ``abandoned`` when stock or a
       price no longer allow it. A second attempt at the same order id (a retry after the
       answer to COMMIT was lost, another tab settling the claim) finds the fate decided and
       takes nothing twice.
    3. Empty the cart (or drop the claim after ``abandoned``), conditional on the claim.

    A failure between the steps leaves the claim; the next checkout of the cart settles it
    (``resume``), and a retry with the same key gets the order.
    """

    def __init__(self, carts: CartRepository) -> None:
        self.carts = carts

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        claim = CheckoutClaim(key=key, order=order, claimedAt=utcnow())
        try:
            claimed = self.carts.claim(cart, claim)
        except CartChanged:
            # Refused, or applied and then refused to the SDK's own resend of it (the first
            # answer was lost): only the cart as stored tells which.
            now = self.carts.get(cart.userId)
            if now is None or now.claim is None or now.claim.order.orderId != order.orderId:
                raise
            claimed = now
        placed, refusal = self._settle(claimed)
        if refusal is not None:
            raise refusal
        assert placed is not None  # noqa: S101 # nosec B101 - _settle returns one of the two
        return placed

    def resume(self, cart: StoredCart) -> Order | None:
        placed, _ = self._settle(cart)
        return placed

    def abandon(self, cart: StoredCart) -> None:
        claim = cart.claim
        if claim is None:
            return
        placed = run(lambda cur: self._abandon(cur, claim.order), write=True)
        if placed:
            self.carts.finish(cart)
        else:
            self.carts.release(cart)

    @staticmethod
    def _abandon(cur: Any, order: Order) -> bool:
        """Decide ``abandoned`` unless the fate is decided already; whether the order was placed."""
        cur.execute(
            "INSERT INTO checkout_claims (order_id, user_id, outcome) VALUES (%s, %s, 'abandoned')"
            " ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            (order.orderId, order.userId),
        )
        if cur.fetchone() is not None:
            return False
        cur.execute("SELECT outcome FROM checkout_claims WHERE order_id = %s", (order.orderId,))
        row = cur.fetchone()
        return row is not None and row[0] == "placed"

    def _settle(self, cart: StoredCart) -> tuple[Order | None, DomainError | None]:
        """Decide the claim of ``cart`` in PostgreSQL, then settle the cart to match."""
        claim = cart.claim
        if claim is None:
            raise CartChanged("the cart is not being checked out")
        placed, refusal = run(lambda cur: self._decide(cur, claim.order, claim.key), write=True)
        # The decision is committed. Settling the cart can fail without losing anything: the
        # claim stays, and the next checkout of this cart settles it the same way.
        try:
            if placed is not None:
                self.carts.finish(cart)
            else:
                self.carts.release(cart)
        except StoreUnavailable:
            logger.warning("cart not settled after checkout", extra={"orderId": claim.order.orderId})
            count("CartSettleFailed")
        return placed, refusal

    @staticmethod
    def _decide(cur: Any, order: Order, key: str) -> tuple[Order | None, DomainError | None]:
        # ON CONFLICT without a target: a claim decided before (this order id), or another order
        # placed with this key (the partial unique index on user and key) both insert nothing.
        cur.execute(
            "INSERT INTO checkout_claims (order_id, user_id, idem_key, outcome) VALUES (%s, %s, %s, 'placed')"
            " ON CONFLICT DO NOTHING RETURNING order_id",
            (order.orderId, order.userId, key),
        )
        if cur.fetchone() is None:
            cur.execute(
                "SELECT order_id, outcome FROM checkout_claims"
                " WHERE order_id = %s OR (user_id = %s AND idem_key = %s AND outcome = 'placed')"
                " ORDER BY order_id = %s DESC LIMIT 1",
                (order.orderId, order.userId, key, order.orderId),
            )
            row = cur.fetchone()
            if row is not None and row[0] != order.orderId:  # the key placed another order: that's the answer
                return None, KeyAlreadyUsed(row[0])
            if row is None or row[1] != "placed":  # decided before: abandoned
                return None, CartChanged("this checkout could not be completed; review the cart and retry")
            cur.execute(SELECT_ORDERS + " WHERE o.order_id = %s", (order.orderId,))
            return order_from_row(cur.fetchone()), None
        refusal = PostgresCheckoutRepository._take_stock(cur, order)
        if refusal is not None:
            cur.execute("UPDATE checkout_claims SET outcome = 'abandoned' WHERE order_id = %s", (order.orderId,))
            return None, refusal
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
        return order, None

    @staticmethod
    def _take_stock(cur: Any, order: Order) -> DomainError | None:
        """Take every line's copies, or nothing and the reason."""
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
            return OutOfStock("not enough stock for some books", {"books": short})
        if any(rows[b][1] != line.unitPrice for b, line in wanted.items()):
            return CartChanged("a price changed during checkout; review the cart and retry")
        execute_values(
            cur,
            "UPDATE books SET stock = books.stock - v.qty, version = books.version + 1, updated_at = v.at"
            " FROM (VALUES %s) AS v(book_id, qty, at) WHERE books.book_id = v.book_id AND books.stock >= v.qty",
            [(b, line.quantity, order.createdAt) for b, line in sorted(wanted.items())],
        )
        if cur.rowcount != len(wanted):  # cannot happen under the row locks; refuse rather than oversell
            raise CartChanged("stock changed during checkout; retry")
        return None
