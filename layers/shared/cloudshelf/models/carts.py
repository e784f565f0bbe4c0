"""Carts as stored and as shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cloudshelf.models.common import ApiModel, Timestamp
from cloudshelf.models.orders import Order
from cloudshelf.money import Money

# The most a deployment may allow (settings.max_line_quantity / max_cart_lines may set less), as
# the OpenAPI document states them. With the price cap (models.books.MAX_PRICE) no cart total
# can exceed what money holds.
MAX_LINE_QUANTITY = 20
MAX_CART_LINES = 50


class QuantityInput(ApiModel):
    """PUT /cart/items/{bookId}."""

    quantity: int = Field(
        ge=1,
        le=MAX_LINE_QUANTITY,
        description=f"Copies of the book: 1 to {MAX_LINE_QUANTITY} (and a cart holds at most {MAX_CART_LINES} books)",
    )


class CheckoutClaim(BaseModel):
    """A checkout in progress on one version of a cart (phase 2: the order is decided in PostgreSQL).

    While a claim stands the cart cannot change; the order it names is placed or abandoned
    exactly once, by whichever request settles it first (see docs/checkout.md).
    """

    key: str = Field(description="The Idempotency-Key of the request that claimed the cart")
    order: Order = Field(description="The order this version of the cart becomes, priced when claimed")
    claimedAt: datetime


class PlacedOrder(BaseModel):
    """A checkout of this cart that completed: how a retry with the same key finds its order."""

    key: str
    orderId: str


class StoredCart(BaseModel):
    """A cart as the repository keeps it: quantities only, never prices.

    The item outlives checkouts and clears (emptied, not deleted), so ``version`` never
    repeats for a user while the cart lives; a new cart starts from the clock (see
    :func:`cloudshelf.domain.carts.first_version`), so it never repeats after a TTL delete either.
    """

    userId: str
    lines: dict[str, int] = Field(default_factory=dict)
    titles: dict[str, str] = Field(default_factory=dict, description="Titles when added, for books deleted since")
    version: int = 0
    expiresAt: datetime
    updatedAt: datetime
    claim: CheckoutClaim | None = None
    placed: list[PlacedOrder] = Field(default_factory=list, description="The last few checkouts, newest first")

    def order_for_key(self, key: str) -> str | None:
        """The id of the order a checkout with ``key`` placed from this cart, if it is remembered."""
        return next((p.orderId for p in self.placed if p.key == key), None)


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


class UnavailableLine(BaseModel):
    """A line whose book was removed from the catalog: shown, never charged, removable."""

    bookId: str
    title: str | None = Field(default=None, description="The title when the book was added, if known")
    quantity: int


class Cart(BaseModel):
    """GET /cart."""

    items: list[CartLine]
    unavailable: list[UnavailableLine] = Field(
        default_factory=list, description="Books no longer sold: not in the total; remove them to check out"
    )
    total: Money
    currency: str
    expiresAt: Timestamp | None = None
    expired: bool = Field(default=False, description="True when an earlier cart expired unused")
    checkoutPending: bool = Field(
        default=False, description="True while a checkout of this cart is being settled; the cart can't change"
    )
