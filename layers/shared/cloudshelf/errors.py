"""Domain errors. Each carries a stable code; the API layer maps the type to a status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "ERROR"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """The request is well-formed but breaks a business rule."""

    code = "INVALID_INPUT"


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's to see."""

    code = "NOT_FOUND"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"


class Unauthorized(DomainError):
    """No caller identity where one is needed."""

    code = "UNAUTHORIZED"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "CONFLICT"


class AlreadyExists(Conflict):
    """A thing with that key exists already."""

    code = "ALREADY_EXISTS"


class CartEmpty(Conflict):
    """Checkout of an empty cart."""

    code = "CART_EMPTY"


class CartChanged(Conflict):
    """The cart or the catalog changed while checking out; retrying may succeed."""

    code = "CART_CHANGED"


class OutOfStock(Conflict):
    """Not enough stock for one or more books. ``details`` names them."""

    code = "OUT_OF_STOCK"


class BookUnavailable(Conflict):
    """The cart holds books that are no longer sold. ``details`` names them."""

    code = "BOOK_UNAVAILABLE"


class PriceChanged(Conflict):
    """The cart's total is not the one the shopper agreed to. ``details`` has the current cart."""

    code = "PRICE_CHANGED"


class CheckoutPending(Conflict):
    """A checkout of this cart is being settled; the cart can't change until it is."""

    code = "CHECKOUT_PENDING"


class VersionConflict(Conflict):
    """An optimistic write named a version that is no longer current.

    ``details`` is ``{"current": <the stored record, as JSON>, "expectedVersion": n}``; ``version``
    is the current version (the API sends it as the ETag).
    """

    code = "VERSION_CONFLICT"

    def __init__(self, message: str, *, current: dict[str, Any], version: int, expected: int) -> None:
        super().__init__(message, {"current": current, "expectedVersion": expected})
        self.version = version


class PreconditionRequired(DomainError):
    """A write that must name the version it replaces (optimistic concurrency) named none."""

    code = "PRECONDITION_REQUIRED"


class LimitExceeded(DomainError):
    """A quantity or size limit was exceeded."""

    code = "LIMIT_EXCEEDED"


class IdempotencyConflict(Conflict):
    """An idempotency key was reused with another request, or is still in flight."""

    code = "IDEMPOTENCY_CONFLICT"


class KeyAlreadyUsed(IdempotencyConflict):
    """This Idempotency-Key already placed an order (``order_id``): a retry gets that order."""

    def __init__(self, order_id: str) -> None:
        super().__init__("this Idempotency-Key already placed an order", {"orderId": order_id})
        self.order_id = order_id


class StoreUnavailable(DomainError):
    """A data store is throttled or down; the caller may retry later."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str, retry_after: int = 1, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after
