"""The ports of the domain: the repository interfaces it depends on.

Adapters implement them (``cloudshelf.repositories.dynamodb``, ``...postgres``, the dual
stages in ``cloudshelf.migration``); ``cloudshelf.domain.fakes`` has in-memory ones for
fast unit and model-based tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: a function does not build the models of resources it never touches
    from cloudshelf.models.books import Book, CategoryCount
    from cloudshelf.models.carts import CheckoutClaim, StoredCart
    from cloudshelf.models.orders import Order
    from cloudshelf.models.users import UserProfile


@dataclass(frozen=True)
class Page[T]:
    """A page of results and the opaque cursor of the next page, if any."""

    items: list[T]
    next_cursor: str | None = None


class BookRepository(Protocol):
    """The catalog."""

    def get(self, book_id: str, *, consistent: bool = False) -> Book | None:
        """One book, or None. ``consistent``: as the source of truth holds it now (a strongly
        consistent read of the store that decides writes), for the checks before a write."""
        ...

    def get_many(self, book_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Book]:
        """The books that exist among ``book_ids``, by id. ``consistent``: as the source of truth
        holds them now (what a cart is priced and checked out at), not an eventually consistent
        or mirrored copy."""
        ...

    def list_page(self, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        """Books by title, in one category or all, a page at a time."""
        ...

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        """Books matching the words of ``query``, best match first."""
        ...

    def categories(self) -> list[CategoryCount]:
        """Every category that holds at least one book, with its count."""
        ...

    def create(self, book: Book) -> None:
        """Add a new book. Raises AlreadyExists."""
        ...

    def replace(self, book: Book, previous: Book) -> None:
        """Store ``book`` in place of ``previous``, in one write conditional on the stored version
        still being ``previous.version``. Raises Conflict if it changed meanwhile."""
        ...

    def delete(self, book: Book) -> None:
        """Remove ``book``, in one write conditional on the stored version still being
        ``book.version``. Raises Conflict if it changed meanwhile, NotFound if gone."""
        ...


class CartRepository(Protocol):
    """Shopping carts (always DynamoDB, with TTL)."""

    def get(self, user_id: str) -> StoredCart | None:
        """The user's stored cart, expired or not, or None."""
        ...

    def save(self, cart: StoredCart, expected_version: int) -> StoredCart:
        """Write ``cart`` (with its ``version``) if the stored version is still ``expected_version``
        (0: no cart stored) and no checkout claims it.

        Raises CartChanged otherwise.
        """
        ...

    def delete(self, user_id: str, expected_version: int | None = None) -> None:
        """Remove the user's cart item (no error if there is none); tests and tools only, the
        domain empties a cart instead so that its version never repeats.

        With ``expected_version``, only if the stored cart still has that version
        (CartChanged otherwise).
        """
        ...

    def claim(self, cart: StoredCart, claim: CheckoutClaim) -> StoredCart:
        """Mark ``cart`` (as read, at its version) as being checked out; returns the claimed cart
        with its new version. Raises CartChanged if the cart changed or is claimed already."""
        ...

    def finish(self, cart: StoredCart) -> None:
        """Empty a claimed cart once its claim's order is placed, remembering the order for
        retries. Does nothing if the claim was settled already (by another request)."""
        ...

    def release(self, cart: StoredCart) -> None:
        """Drop the claim after its order was abandoned; the lines stay. Does nothing if the
        claim was settled already."""
        ...


class OrderRepository(Protocol):
    """Placed orders."""

    def get(self, user_id: str, order_id: str) -> Order | None:
        """One of the user's orders, or None (also for another user's order id)."""
        ...

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> Page[Order]:
        """The user's orders, newest first."""
        ...


class CheckoutRepository(Protocol):
    """The all-or-nothing checkout."""

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        """Turn this version of ``cart`` into ``order``, exactly once: take stock for every line
        (only if enough remains and the price is unchanged), store the order and empty the
        cart, remembering (``key`` -> order id) so a retry can be answered.

        Returns the order as stored. Raises OutOfStock naming the short books, CartChanged
        if the cart or a price changed (nothing placed in either case), KeyAlreadyUsed when
        ``key`` placed an order before (at most one order per key, ever), StoreUnavailable when
        a store fails; if the outcome is unknown the cart stays claimed and ``resume`` settles it.
        """
        ...

    def resume(self, cart: StoredCart) -> Order | None:
        """Settle the checkout that claims ``cart`` (left by a request that failed or died):
        the claimed order if it is (or now gets) placed, None if it was abandoned."""
        ...

    def abandon(self, cart: StoredCart) -> None:
        """Settle the checkout that claims ``cart`` without buying: abandon its order unless it
        was placed already (then the cart is emptied as bought). Safe while the claimant still
        runs: the claim's fate is decided once, and the claimant learns it."""
        ...


class UserRepository(Protocol):
    """User profiles."""

    def get(self, user_id: str) -> UserProfile | None:
        """A profile, or None."""
        ...

    def create(self, profile: UserProfile) -> UserProfile:
        """Store a new profile; if one exists already, return the stored one."""
        ...

    def update(self, profile: UserProfile) -> None:
        """Replace an existing profile."""
        ...
