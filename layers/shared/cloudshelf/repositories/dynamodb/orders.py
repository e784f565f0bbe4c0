"""Orders in DynamoDB (``userId``, ``orderId`` time-sortable) and the atomic checkout."""

from __future__ import annotations

from typing import Any

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import Page
from cloudshelf.errors import CartChanged, KeyAlreadyUsed, OutOfStock
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.orders import Order
from cloudshelf.repositories.dynamodb.books import book_key
from cloudshelf.repositories.dynamodb.carts import DynamoCartRepository, cart_key, emptied_cart_update
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item, n, s, to_item
from cloudshelf.repositories.dynamodb.transactions import TransactionCancelled, batch_get, transact_write


def order_item(order: Order) -> dict[str, Any]:
    """An order as a DynamoDB item (money as exact numbers)."""
    data = order.model_dump(mode="json")
    return to_item(data)


def order_from_item(item: dict[str, Any]) -> Order:
    """An Order from a stored item."""
    return Order.model_validate(from_item(item))


class DynamoOrderRepository:
    """OrderRepository: a user's orders are one partition, newest first by id."""

    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, user_id: str, order_id: str) -> Order | None:
        with translated_errors():
            item = (
                dynamodb_client()
                .get_item(TableName=self.table, Key={"userId": s(user_id), "orderId": s(order_id)})
                .get("Item")
            )
        return order_from_item(item) if item else None

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> Page[Order]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": s(user_id)},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            after = str(decode_cursor("orders", cursor).get("id", ""))
            params["ExclusiveStartKey"] = {"userId": s(user_id), "orderId": s(after)}
        with translated_errors():
            items = dynamodb_client().query(**params).get("Items", [])
        orders = [order_from_item(i) for i in items[:limit]]
        more = len(items) > limit
        return Page(orders, encode_cursor("orders", {"id": orders[-1].orderId}) if more else None)


KEY_DAYS = 90
"""How long the key of a placed order answers a retry with that order (the idempotency
record itself lasts a day; the cart remembers its last checkouts)."""


def key_item_id(user_id: str, key: str) -> str:
    """The idempotency table item of a key that placed an order (beside Powertools' own records)."""
    return f"checkout-key#{user_id}#{key}"


class DynamoCheckoutRepository:
    """CheckoutRepository: one TransactWriteItems over the books, orders and carts tables.

    The cart is emptied (version + 1, ``placed`` remembers the key) in the same transaction,
    on condition that it is still the version priced and unclaimed: a cart version is bought
    at most once, and a retry after a lost answer finds its order through ``placed``.
    """

    def __init__(self, books_table: str, orders_table: str, carts_table: str, keys_table: str) -> None:
        self.books_table = books_table
        self.orders_table = orders_table
        self.carts_table = carts_table
        self.keys_table = keys_table  # the idempotency table: one item per key that placed an order

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.books_table,
                    "Key": book_key(line.bookId),
                    "UpdateExpression": "SET stock = stock - :q, version = version + :one, updatedAt = :now",
                    "ConditionExpression": "attribute_exists(pk) AND stock >= :q AND price = :p",
                    "ExpressionAttributeValues": {
                        ":q": n(line.quantity),
                        ":p": n(line.unitPrice),
                        ":one": n(1),
                        ":now": s(order.model_dump(mode="json")["createdAt"]),
                    },
                }
            }
            for line in order.items
        ]
        actions.append(
            {
                "Put": {
                    "TableName": self.orders_table,
                    "Item": order_item(order),
                    "ConditionExpression": "attribute_not_exists(orderId)",
                }
            }
        )
        emptied = emptied_cart_update(cart, key, order.orderId, order.createdAt)
        emptied["ExpressionAttributeValues"][":v"] = n(cart.version)
        actions.append(
            {
                "Update": {
                    "TableName": self.carts_table,
                    "Key": cart_key(cart.userId),
                    "ConditionExpression": "version = :v AND attribute_not_exists(#c)",
                    **emptied,
                }
            }
        )
        actions.append(
            {
                "Put": {
                    "TableName": self.keys_table,
                    "Item": {
                        "id": s(key_item_id(order.userId, key)),
                        "orderId": s(order.orderId),
                        "expiration": n(int(order.createdAt.timestamp()) + KEY_DAYS * 86400),
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
        )
        try:
            transact_write(actions, token=order.orderId)
        except TransactionCancelled as exc:
            if exc.reasons[-1:] == ["ConditionalCheckFailed"]:
                raise KeyAlreadyUsed(self._order_of_key(order.userId, key)) from exc
            if exc.reasons[-2:-1] == ["ConditionalCheckFailed"]:
                # The cart is not the version priced (another tab bought or changed it): that
                # is the answer, whatever the stock says; re-reading tells the shopper which.
                raise CartChanged("the cart changed during checkout; review the cart and retry") from exc
            failed = {
                order.items[i].bookId
                for i, r in enumerate(exc.reasons[: len(order.items)])
                if r == "ConditionalCheckFailed"
            }
            short = self._short_lines(order, failed)
            if short:
                raise OutOfStock("not enough stock for some books", {"books": short}) from exc
            raise CartChanged("the cart or a price changed during checkout; review the cart and retry") from exc
        return order

    def _order_of_key(self, user_id: str, key: str) -> str:
        with translated_errors():
            item = dynamodb_client().get_item(
                TableName=self.keys_table, Key={"id": s(key_item_id(user_id, key))}, ConsistentRead=True
            )["Item"]
        return str(item["orderId"]["S"])

    def abandon(self, cart: StoredCart) -> None:
        self.resume(cart)  # a claim's order is never placed from here: it exists or it is released

    def resume(self, cart: StoredCart) -> Order | None:
        """A claim is only left by a checkout that ran on PostgreSQL (before a move back): it was
        placed if its order is here, else it is released."""
        if cart.claim is None:
            return None
        carts = DynamoCartRepository(self.carts_table)
        placed = DynamoOrderRepository(self.orders_table).get(cart.userId, cart.claim.order.orderId)
        if placed is not None:
            carts.finish(cart)
        else:
            carts.release(cart)
        return placed

    def _short_lines(self, order: Order, book_ids: set[str]) -> list[dict[str, Any]]:
        """Which of ``book_ids`` really lack stock now (as opposed to a changed price)."""
        if not book_ids:
            return []
        stock = {}
        for item in batch_get(self.books_table, [book_key(b) for b in sorted(book_ids)]):
            data = from_item(item)
            stock[data["bookId"]] = int(data["stock"])
        return [
            {
                "bookId": line.bookId,
                "title": line.title,
                "requested": line.quantity,
                "available": stock.get(line.bookId, 0),
            }
            for line in order.items
            if line.bookId in book_ids and stock.get(line.bookId, 0) < line.quantity
        ]
