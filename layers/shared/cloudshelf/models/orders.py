"""Orders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from cloudshelf.models.common import ApiModel, Timestamp, text
from cloudshelf.money import Money

MAX_NOTE_LENGTH = 500


class CheckoutInput(ApiModel):
    """POST /orders: the body may be empty; prices, totals and users are never taken from it."""

    note: Annotated[str, text(MAX_NOTE_LENGTH)] | None = Field(
        default=None, description=f"For the shop, up to {MAX_NOTE_LENGTH} characters; line breaks allowed"
    )
    expectedTotal: Money | None = Field(
        default=None,
        description="The total the shopper agreed to; if the cart now costs anything else: 409 PRICE_CHANGED",
    )


class OrderLine(BaseModel):
    """One book in an order, at the price charged."""

    bookId: str
    title: str
    author: str
    unitPrice: Money
    quantity: int
    lineTotal: Money


class Order(BaseModel):
    """A placed order."""

    orderId: str
    userId: str
    status: Literal["PLACED"] = "PLACED"
    items: list[OrderLine]
    total: Money
    currency: str
    note: str | None = None
    createdAt: Timestamp


class OrderPage(BaseModel):
    """One page of the caller's orders, newest first."""

    items: list[Order]
    nextCursor: str | None = None
