"""The repository interfaces the domain depends on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: a function does not build the models of resources it never touches
    from cloudshelf.models.books import Book, CategoryCount
    from cloudshelf.models.carts import StoredCart
    from cloudshelf.models.orders import Order
    from cloudshelf.models.users import UserProfile


@dataclass(frozen=True)
class Page[T]:
    """A page of results and the opaque cursor of the next page, if any."""

    items: list[T]
    next_cursor: str | None = None


class BookRepository(Protocol):
    """The catalog."""

    def get(self, book_id: str) -> Book | None:
        """One book, or None."""
        ...

    def get_many(self, book_ids: Sequence[str]) -> dict[str, Book]:
        """The books that exist among ``book_ids``, by id."""
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
        """Store ``book`` in place of ``previous``. Raises Conflict if it changed meanwhile."""
        ...

    def delete(self, book: Book) -> None:
        """Remove ``book``. Raises Conflict if it changed meanwhile, NotFound if gone."""
        ...


class CartRepository(Protocol):
    """Shopping carts (always DynamoDB, with TTL)."""

    def get(self, user_id: str) -> StoredCart | None:
        """The user's stored cart, expired or not, or None."""
        ...

    def save(self, cart: StoredCart, expected_version: int) -> StoredCart:
        """Write the cart if its stored version is still ``expected_version`` (0: absent).

        Returns the cart with its new version. Raises CartChanged otherwise.
        """
        ...

    def delete(self, user_id: str, expected_version: int | None = None) -> None:
        """Remove the user's cart (no error if there is none).

        With ``expected_version``, only if the stored cart still has that version
        (CartChanged otherwise).
        """
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

    def place_order(self, order: Order, cart: StoredCart) -> None:
        """Atomically: take stock for every line (only if enough remains and the price is
        unchanged), store the order and remove the cart (only if unchanged).

        Raises OutOfStock naming the short books, CartChanged if the cart or a price
        changed, and changes nothing in either case.
        """
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
