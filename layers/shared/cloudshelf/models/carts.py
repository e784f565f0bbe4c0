"""Carts as stored and as shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cloudshelf.models.common import ApiModel, Timestamp
from cloudshelf.money import Money


class QuantityInput(ApiModel):
    """PUT /cart/items/{bookId}."""

    quantity: int = Field(ge=1, le=1000, description="How many copies; the server caps it per line")


class StoredCart(BaseModel):
    """A cart as the repository keeps it: quantities only, never prices."""

    userId: str
    lines: dict[str, int] = Field(default_factory=dict)
    version: int = 0
    expiresAt: datetime
    updatedAt: datetime


class CartLine(BaseModel):
    """A cart line priced from the catalog at read time."""

    bookId: str
    title: str
    author: str
    imageUrl: str = ""
    unitPrice: Money
    quantity: int
    lineTotal: Money
    available: int = Field(description="Copies in stock now")


class Cart(BaseModel):
    """GET /cart."""

    items: list[CartLine]
    total: Money
    currency: str
    expiresAt: Timestamp | None = None
    expired: bool = Field(default=False, description="True when an earlier cart expired unused")
