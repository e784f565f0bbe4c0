"""Carts in DynamoDB: one item per user (``userId``, ``cartId=CURRENT``), TTL on ``expiresAt``.

The item is emptied, never deleted, by checkout and by "empty the cart", so its
``version`` keeps growing (see ``cloudshelf.domain.carts.first_version``). A checkout in
phase 2 first *claims* the item (``claim``: the idempotency key and the priced order);
``placed`` remembers the last few checkouts so that a retry gets its order back.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from cloudshelf.errors import CartChanged
from cloudshelf.models.carts import CheckoutClaim, PlacedOrder, StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order
from cloudshelf.repositories.dynamodb.client import dynamodb_client, error_code, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item, n, s, to_item

CURRENT = "CURRENT"
# A retry is answered from here when the idempotency record is gone (released after an error):
# enough for a day of one shopper's checkouts, small enough for the item (about 80 bytes each).
REMEMBERED_CHECKOUTS = 50


def cart_key(user_id: str) -> dict[str, Any]:
    """The key of a user's cart item."""
    return {"userId": s(user_id), "cartId": s(CURRENT)}


def placed_after(cart: StoredCart, key: str, order_id: str) -> list[dict[str, Any]]:
    """The ``placed`` attribute once ``order_id`` was placed with ``key`` (newest first, bounded)."""
    recent = [PlacedOrder(key=key, orderId=order_id), *(p for p in cart.placed if p.key != key)]
    return [p.model_dump() for p in recent[:REMEMBERED_CHECKOUTS]]


def emptied_cart_update(cart: StoredCart, key: str, order_id: str, now: datetime) -> dict[str, Any]:
    """UpdateItem parts that empty ``cart`` after ``order_id`` was placed (condition left to the caller)."""
    return {
        "UpdateExpression": "SET #l = :empty, titles = :empty, version = :next, updatedAt = :now, placed = :placed"
        " REMOVE #c",
        "ExpressionAttributeNames": {"#l": "lines", "#c": "claim"},
        "ExpressionAttributeValues": {
            ":empty": {"M": {}},
            ":next": n(cart.version + 1),
            ":now": s(now.isoformat()),
            ":placed": to_item({"p": placed_after(cart, key, order_id)})["p"],
        },
    }


def cart_from_item(item: dict[str, Any]) -> StoredCart:
    """A StoredCart from its item."""
    data = from_item(item)
    claim = data.get("claim")
    return StoredCart(
        userId=data["userId"],
        lines={k: int(v) for k, v in data.get("lines", {}).items()},
        titles=data.get("titles", {}),
        version=int(data.get("version", 0)),
        expiresAt=datetime.fromtimestamp(int(data["expiresAt"]), UTC),
        updatedAt=datetime.fromisoformat(data["updatedAt"]),
        claim=CheckoutClaim(
            key=claim["key"],
            order=Order.model_validate_json(claim["order"]),
            claimedAt=datetime.fromisoformat(claim["claimedAt"]),
        )
        if claim
        else None,
        placed=[PlacedOrder.model_validate(p) for p in data.get("placed", [])],
    )


class DynamoCartRepository:
    """CartRepository with optimistic versioning on one item per cart."""

    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, user_id: str) -> StoredCart | None:
        with translated_errors():
            item = (
                dynamodb_client().get_item(TableName=self.table, Key=cart_key(user_id), ConsistentRead=True).get("Item")
            )
        return cart_from_item(item) if item else None

    def save(self, cart: StoredCart, expected_version: int) -> StoredCart:
        item = to_item(
            {
                "userId": cart.userId,
                "cartId": CURRENT,
                "lines": cart.lines,
                "titles": cart.titles,
                "version": cart.version,
                "expiresAt": int(cart.expiresAt.timestamp()),
                "updatedAt": cart.updatedAt.isoformat(),
                "placed": [p.model_dump() for p in cart.placed],
            }
        )
        if expected_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(userId)"}
        else:
            condition = {
                "ConditionExpression": "version = :v AND attribute_not_exists(claim)",
                "ExpressionAttributeValues": {":v": n(expected_version)},
            }
        self._conditional("put_item", {"Item": item, **condition}, "the cart was changed at the same time; try again")
        return cart

    def delete(self, user_id: str, expected_version: int | None = None) -> None:
        condition: dict[str, Any] = {}
        if expected_version is not None:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": n(expected_version)},
            }
        self._conditional("delete_item", {"Key": cart_key(user_id), **condition}, "the cart changed meanwhile")

    def claim(self, cart: StoredCart, claim: CheckoutClaim) -> StoredCart:
        value = {
            "key": claim.key,
            "orderId": claim.order.orderId,
            "order": claim.order.model_dump_json(),
            "claimedAt": claim.claimedAt.isoformat(),
        }
        self._conditional(
            "update_item",
            {
                "Key": cart_key(cart.userId),
                "UpdateExpression": "SET #c = :claim, version = :next",
                "ConditionExpression": "version = :v AND attribute_not_exists(#c)",
                "ExpressionAttributeNames": {"#c": "claim"},
                "ExpressionAttributeValues": {
                    ":claim": to_item({"c": value})["c"],
                    ":next": n(cart.version + 1),
                    ":v": n(cart.version),
                },
            },
            "the cart changed while checking out; try again",
        )
        return cart.model_copy(update={"claim": claim, "version": cart.version + 1})

    def finish(self, cart: StoredCart) -> None:
        claim = cart.claim
        if claim is None:
            return
        update = emptied_cart_update(cart, claim.key, claim.order.orderId, utcnow())
        update["ConditionExpression"] = "#c.orderId = :o"
        update["ExpressionAttributeValues"][":o"] = s(claim.order.orderId)
        self._settle(cart.userId, update)

    def release(self, cart: StoredCart) -> None:
        if cart.claim is None:
            return
        self._settle(
            cart.userId,
            {
                "UpdateExpression": "SET version = version + :one REMOVE #c",
                "ConditionExpression": "#c.orderId = :o",
                "ExpressionAttributeNames": {"#c": "claim"},
                "ExpressionAttributeValues": {":one": n(1), ":o": s(cart.claim.order.orderId)},
            },
        )

    def _settle(self, user_id: str, update: dict[str, Any]) -> None:
        """Apply a claim-settling update; a claim settled already by someone else is not an error."""
        with contextlib.suppress(CartChanged):
            self._conditional("update_item", {"Key": cart_key(user_id), **update}, "claim settled already")

    def _conditional(self, operation: str, params: dict[str, Any], message: str) -> None:
        from botocore.exceptions import ClientError

        try:
            with translated_errors():
                getattr(dynamodb_client(), operation)(TableName=self.table, **params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise CartChanged(message) from exc
            raise
