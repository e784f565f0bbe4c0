"""Carts in DynamoDB: one item per user (``userId``, ``cartId=CURRENT``), TTL on ``expiresAt``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudshelf.errors import CartChanged
from cloudshelf.models.carts import StoredCart
from cloudshelf.repositories.dynamodb.client import dynamodb_client, error_code, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item, n, s, to_item

CURRENT = "CURRENT"


def cart_key(user_id: str) -> dict[str, Any]:
    """The key of a user's cart item."""
    return {"userId": s(user_id), "cartId": s(CURRENT)}


class DynamoCartRepository:
    """CartRepository with optimistic versioning on one item per cart."""

    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, user_id: str) -> StoredCart | None:
        with translated_errors():
            item = (
                dynamodb_client().get_item(TableName=self.table, Key=cart_key(user_id), ConsistentRead=True).get("Item")
            )
        if not item:
            return None
        data = from_item(item)
        return StoredCart(
            userId=data["userId"],
            lines={k: int(v) for k, v in data.get("lines", {}).items()},
            version=int(data.get("version", 0)),
            expiresAt=datetime.fromtimestamp(int(data["expiresAt"]), UTC),
            updatedAt=datetime.fromisoformat(data["updatedAt"]),
        )

    def save(self, cart: StoredCart, expected_version: int) -> StoredCart:
        from botocore.exceptions import ClientError

        saved = cart.model_copy(update={"version": expected_version + 1})
        item = to_item(
            {
                "userId": saved.userId,
                "cartId": CURRENT,
                "lines": saved.lines,
                "version": saved.version,
                "expiresAt": int(saved.expiresAt.timestamp()),
                "updatedAt": saved.updatedAt.isoformat(),
            }
        )
        if expected_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(userId)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": n(expected_version)},
            }
        try:
            with translated_errors():
                dynamodb_client().put_item(TableName=self.table, Item=item, **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise CartChanged("the cart was changed at the same time; try again") from exc
            raise
        return saved

    def delete(self, user_id: str, expected_version: int | None = None) -> None:
        from botocore.exceptions import ClientError

        condition: dict[str, Any] = {}
        if expected_version is not None:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": n(expected_version)},
            }
        try:
            with translated_errors():
                dynamodb_client().delete_item(TableName=self.table, Key=cart_key(user_id), **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise CartChanged("the cart changed meanwhile") from exc
            raise
