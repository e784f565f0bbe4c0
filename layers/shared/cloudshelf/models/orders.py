"""Orders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from cloudshelf.models.common import ApiModel, Timestamp
from cloudshelf.money import Money


class CheckoutInput(ApiModel):
    """POST /orders: the body may be empty; prices, totals and users are never taken from it."""

    note: str | None = None


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
