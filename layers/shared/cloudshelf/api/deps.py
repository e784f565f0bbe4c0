"""Dependencies that routes declare: repositories and rules, from the cached factories."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from aws_lambda_powertools.event_handler.depends import Depends

from cloudshelf.domain.carts import CartRules
from cloudshelf.domain.ports import (
    BookRepository,
    CartRepository,
    CheckoutRepository,
    OrderRepository,
    UserRepository,
)
from cloudshelf.repositories import factory
from cloudshelf.settings import get_settings


@lru_cache(maxsize=1)
def cart_rules() -> CartRules:
    """Cart lifetime and limits from settings."""
    settings = get_settings()
    return CartRules(
        ttl=timedelta(days=settings.cart_ttl_days),
        max_lines=settings.max_cart_lines,
        max_quantity=settings.max_line_quantity,
        currency=settings.currency,
    )


Books = Annotated[BookRepository, Depends(factory.book_repository)]
Carts = Annotated[CartRepository, Depends(factory.cart_repository)]
Orders = Annotated[OrderRepository, Depends(factory.order_repository)]


def claim_settler() -> CheckoutRepository | None:
    """What cart writes settle a checkout claim with; None where checkout itself can't run
    (books and orders split across stores), so that carts keep working there."""
    try:
        return factory.checkout_repository()
    except RuntimeError:
        return None


Checkouts = Annotated[CheckoutRepository | None, Depends(claim_settler)]
Users = Annotated[UserRepository, Depends(factory.user_repository)]
Rules = Annotated[CartRules, Depends(cart_rules)]
