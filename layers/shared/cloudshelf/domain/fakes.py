"""In-memory fakes of the domain's ports, for fast unit and model-based tests.

Every fake keeps its data in one :class:`FakeStores` (one lock: safe from many threads) and
behaves like its adapter in everything the domain can observe: the same conditions, the same
versions, the same domain errors. Two checkouts:

- :class:`FakeAtomicCheckout`, like ``DynamoCheckoutRepository`` (phase 1): stock, order and the
  emptied cart in one all-or-nothing transaction;
- :class:`FakeTwoStoreCheckout`, like ``PostgresCheckoutRepository`` (phase 2): claim the cart,
  decide the order's fate once in a claims table (stock and order in the same commit), then
  finish or release the cart, conditional on the claim.

**Fault hooks.** The fakes call ``stores.hook(point)`` at the named points of :data:`POINTS`,
always outside the lock: before each read (``"carts.get"``), before and after each write
(``"carts.claim:before"``, ``"carts.claim:after"``) and before and after the commit of each
two-store transaction (the decision ``"checkout.decide:before"``/``":after"``, and the
"abandoned unless decided" of a cart write, ``"checkout.abandon:..."``). A hook may block (a test
scheduler interleaves requests step by step there) or raise: ``StoreUnavailable`` at a
``:before`` point is a store failure (nothing written), at an ``:after`` point it is "committed,
but the answer was lost". :func:`fail_at` builds the simplest such hook.

**Journal.** ``stores.journal`` lists every committed change in order (:class:`BookWrite`,
:class:`CartWrite`, :class:`Sale`), so a test can check the stores against its own model.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import CartRepository, Page
from cloudshelf.domain.search_terms import query_words, title_key, words
from cloudshelf.errors import (
    AlreadyExists,
    CartChanged,
    Conflict,
    DomainError,
    KeyAlreadyUsed,
    NotFound,
    OutOfStock,
    StoreUnavailable,
)
from cloudshelf.models.books import Book, CategoryCount
from cloudshelf.models.carts import CheckoutClaim, PlacedOrder, StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order, OrderLine
from cloudshelf.models.users import UserProfile

type Hook = Callable[[str], None]
"""Called with the name of each point a fake reaches (see :data:`POINTS`)."""

type Flavour = Literal["atomic", "two-store"]

REMEMBERED_CHECKOUTS = 50  # as the DynamoDB cart item's ``placed`` (repositories.dynamodb.carts)

READ_POINTS = (
    "books.get",
    "books.get_many",
    "books.list_page",
    "books.search",
    "books.categories",
    "carts.get",
    "orders.get",
    "orders.list_page",
    "users.get",
    "checkout.stock",  # the atomic checkout reads stock again to say why its transaction failed
)
WRITES = (
    "books.create",
    "books.replace",
    "books.delete",
    "carts.save",
    "carts.delete",
    "carts.claim",
    "carts.finish",
    "carts.release",
    "users.create",
    "users.update",
    "checkout.transact",  # the atomic checkout's one transaction
    "checkout.decide",  # the two-store checkout's decision: one transaction, ``:after`` is after COMMIT
    "checkout.abandon",  # the two-store checkout's "abandoned unless decided" (for cart writes), the same
)
POINTS = READ_POINTS + tuple(f"{write}:{when}" for write in WRITES for when in ("before", "after"))
"""Every point at which a fake calls its hook."""


@dataclass(frozen=True)
class BookWrite:
    """A committed change to a book: ``cause`` is create, replace, delete (an admin) or sale."""

    seq: int
    book_id: str
    before: Book | None
    after: Book | None
    cause: str


@dataclass(frozen=True)
class CartWrite:
    """A committed write of a cart item: ``version`` and ``lines`` as stored (None: deleted)."""

    seq: int
    user_id: str
    version: int | None
    lines: dict[str, int]
    claimed: bool


@dataclass(frozen=True)
class Sale:
    """An order placed by a checkout: the Idempotency-Key it was placed with (the claim's, in two
    stores) and the version of the cart that was priced and bought."""

    seq: int
    order: Order
    key: str
    cart_version: int


type Event = BookWrite | CartWrite | Sale


@dataclass
class FakeStores:
    """What DynamoDB and PostgreSQL would hold, behind one lock, and the hook the fakes call."""

    hook: Hook | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    books: dict[str, Book] = field(default_factory=dict)
    carts: dict[str, StoredCart] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    users: dict[str, UserProfile] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)
    """The two-store checkout's ``checkout_claims``: order id -> 'placed' or 'abandoned'."""
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """(user, Idempotency-Key) -> the order it placed: at most one (the adapters' key item / index)."""
    journal: list[Event] = field(default_factory=list)

    def point(self, name: str) -> None:
        """Call the hook, if any, at the point ``name`` (never under the lock)."""
        if self.hook is not None:
            self.hook(name)

    def read[T](self, point: str, read: Callable[[], T]) -> T:
        """One read: the hook, then ``read`` under the lock."""
        self.point(point)
        with self.lock:
            return read()

    def write[T](self, point: str, apply: Callable[[], T]) -> T:
        """One atomic write: the ``:before`` hook, ``apply`` under the lock (it raises to refuse,
        changing nothing), then the ``:after`` hook."""
        self.point(f"{point}:before")
        with self.lock:
            result = apply()
        self.point(f"{point}:after")
        return result

    def put_book(self, book_id: str, book: Book | None, cause: str) -> None:
        """Store (or with None remove) a book and journal it; call under the lock."""
        before = self.books.get(book_id)
        if book is None:
            self.books.pop(book_id, None)
        else:
            self.books[book_id] = book.model_copy(deep=True)
        self.journal.append(BookWrite(len(self.journal), book_id, before, self.books.get(book_id), cause))

    def put_cart(self, user_id: str, cart: StoredCart | None) -> None:
        """Store (or with None remove) a cart item and journal it; call under the lock."""
        if cart is None:
            self.carts.pop(user_id, None)
            self.journal.append(CartWrite(len(self.journal), user_id, None, {}, claimed=False))
            return
        self.carts[user_id] = cart.model_copy(deep=True)
        self.journal.append(
            CartWrite(len(self.journal), user_id, cart.version, dict(cart.lines), claimed=cart.claim is not None)
        )

    def put_order(self, order: Order, key: str, cart_version: int) -> None:
        """Store a placed order and journal the sale; call under the lock."""
        self.orders[order.orderId] = order.model_copy(deep=True)
        self.keys[(order.userId, key)] = order.orderId
        self.journal.append(Sale(len(self.journal), order.model_copy(deep=True), key, cart_version))


def _copy[M: (Book, StoredCart, Order, UserProfile)](item: M | None) -> M | None:
    return item.model_copy(deep=True) if item is not None else None


def fail_at(point: str, occurrence: int = 1, error: Callable[[], BaseException] | None = None) -> Hook:
    """A hook that raises at the ``occurrence``-th time ``point`` is reached (StoreUnavailable
    unless ``error`` builds something else), and does nothing otherwise."""
    seen = 0
    lock = threading.Lock()

    def hook(name: str) -> None:
        nonlocal seen
        if name != point:
            return
        with lock:
            seen += 1
            hit = seen == occurrence
        if hit:
            raise error() if error is not None else StoreUnavailable(f"injected failure at {point}")

    return hook


class FakeBookRepository:
    """BookRepository: writes conditional on the version, like both adapters."""

    def __init__(self, stores: FakeStores) -> None:
        self.stores = stores

    def get(self, book_id: str, *, consistent: bool = False) -> Book | None:
        return self.stores.read("books.get", lambda: _copy(self.stores.books.get(book_id)))

    def get_many(self, book_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Book]:
        def read() -> dict[str, Book]:
            found = (self.stores.books.get(b) for b in dict.fromkeys(book_ids))
            return {b.bookId: b.model_copy(deep=True) for b in found if b is not None}

        return self.stores.read("books.get_many", read)

    def list_page(self, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        after: tuple[str, str] | None = None
        if cursor:
            values = decode_cursor("books", cursor)
            after = (str(values.get("t", "")), str(values.get("id", "")))

        def read() -> list[Book]:
            books = [b for b in self.stores.books.values() if category is None or b.category == category]
            keyed = sorted(((title_key(b.title), b.bookId), b) for b in books)
            return [b.model_copy(deep=True) for k, b in keyed if after is None or k > after][: limit + 1]

        books = self.stores.read("books.list_page", read)
        more, books = len(books) > limit, books[:limit]
        last = books[-1] if books else None
        next_cursor = encode_cursor("books", {"t": title_key(last.title), "id": last.bookId}) if more and last else None
        return Page(books, next_cursor)

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        wanted = query_words(query)
        offset = int(decode_cursor("search", cursor).get("o", 0)) if cursor else 0

        def matches(book: Book) -> bool:
            have = words(f"{book.title} {book.author}")
            return all(any(w.startswith(q) for w in have) for q in wanted)

        def read() -> list[Book]:
            found = [
                b
                for b in self.stores.books.values()
                if (category is None or b.category == category) and wanted and matches(b)
            ]
            found.sort(key=lambda b: (title_key(b.title), b.bookId))
            return [b.model_copy(deep=True) for b in found[offset : offset + limit + 1]]

        books = self.stores.read("books.search", read)
        more = len(books) > limit
        return Page(books[:limit], encode_cursor("search", {"o": offset + limit}) if more else None)

    def categories(self) -> list[CategoryCount]:
        def read() -> list[CategoryCount]:
            counts: dict[str, int] = {}
            for book in self.stores.books.values():
                counts[book.category] = counts.get(book.category, 0) + 1
            return [CategoryCount(name=name, count=n) for name, n in sorted(counts.items())]

        return self.stores.read("books.categories", read)

    def create(self, book: Book) -> None:
        def apply() -> None:
            if book.bookId in self.stores.books:
                raise AlreadyExists(f"a book with id {book.bookId} exists already", {"bookId": book.bookId})
            self.stores.put_book(book.bookId, book, "create")

        self.stores.write("books.create", apply)

    def replace(self, book: Book, previous: Book) -> None:
        def apply() -> None:
            stored = self.stores.books.get(book.bookId)
            if stored is None or stored.version != previous.version:
                raise Conflict("the book was changed by someone else meanwhile; reload and retry")
            self.stores.put_book(book.bookId, book, "replace")

        self.stores.write("books.replace", apply)

    def delete(self, book: Book) -> None:
        def apply() -> None:
            stored = self.stores.books.get(book.bookId)
            if stored is None:
                raise NotFound("no such book", {"bookId": book.bookId})
            if stored.version != book.version:
                raise Conflict("the book was changed by someone else meanwhile; reload and retry")
            self.stores.put_book(book.bookId, None, "delete")

        self.stores.write("books.delete", apply)


def placed_after(cart: StoredCart, key: str, order_id: str) -> list[PlacedOrder]:
    """``cart.placed`` once ``order_id`` was placed with ``key``: newest first, bounded."""
    recent = [PlacedOrder(key=key, orderId=order_id), *(p for p in cart.placed if p.key != key)]
    return recent[:REMEMBERED_CHECKOUTS]


def emptied(stored: StoredCart, cart: StoredCart, key: str, order_id: str, now: datetime) -> StoredCart:
    """The ``stored`` item once the order of ``cart`` (the version read) was placed: no lines, the
    version after ``cart``'s, the order remembered (the adapters' ``emptied_cart_update``)."""
    return stored.model_copy(
        update={
            "lines": {},
            "titles": {},
            "version": cart.version + 1,
            "updatedAt": now,
            "placed": placed_after(cart, key, order_id),
            "claim": None,
        },
        deep=True,
    )


class FakeCartRepository:
    """CartRepository: one item per user, optimistic on ``version``, refused while claimed."""

    def __init__(self, stores: FakeStores) -> None:
        self.stores = stores

    def get(self, user_id: str) -> StoredCart | None:
        return self.stores.read("carts.get", lambda: _copy(self.stores.carts.get(user_id)))

    def save(self, cart: StoredCart, expected_version: int) -> StoredCart:
        def apply() -> None:
            stored = self.stores.carts.get(cart.userId)
            if expected_version == 0:
                free = stored is None
            else:
                free = stored is not None and stored.version == expected_version and stored.claim is None
            if not free:
                raise CartChanged("the cart was changed at the same time; try again")
            # The item is replaced whole (no claim), its expiry kept in epoch seconds for TTL.
            expires = datetime.fromtimestamp(int(cart.expiresAt.timestamp()), UTC)
            self.stores.put_cart(cart.userId, cart.model_copy(update={"claim": None, "expiresAt": expires}))

        self.stores.write("carts.save", apply)
        return cart

    def delete(self, user_id: str, expected_version: int | None = None) -> None:
        def apply() -> None:
            stored = self.stores.carts.get(user_id)
            if expected_version is not None and (stored is None or stored.version != expected_version):
                raise CartChanged("the cart changed meanwhile")
            if stored is not None:
                self.stores.put_cart(user_id, None)

        self.stores.write("carts.delete", apply)

    def claim(self, cart: StoredCart, claim: CheckoutClaim) -> StoredCart:
        def apply() -> None:
            stored = self.stores.carts.get(cart.userId)
            if stored is None or stored.version != cart.version or stored.claim is not None:
                raise CartChanged("the cart changed while checking out; try again")
            self.stores.put_cart(cart.userId, stored.model_copy(update={"claim": claim, "version": cart.version + 1}))

        self.stores.write("carts.claim", apply)
        return cart.model_copy(update={"claim": claim, "version": cart.version + 1})

    def finish(self, cart: StoredCart) -> None:
        claim = cart.claim
        if claim is None:
            return

        def apply() -> None:
            stored = self._claimed_by(cart.userId, claim)
            self.stores.put_cart(cart.userId, emptied(stored, cart, claim.key, claim.order.orderId, utcnow()))

        with contextlib.suppress(CartChanged):  # settled already by another request
            self.stores.write("carts.finish", apply)

    def release(self, cart: StoredCart) -> None:
        claim = cart.claim
        if claim is None:
            return

        def apply() -> None:
            stored = self._claimed_by(cart.userId, claim)
            self.stores.put_cart(cart.userId, stored.model_copy(update={"claim": None, "version": stored.version + 1}))

        with contextlib.suppress(CartChanged):
            self.stores.write("carts.release", apply)

    def _claimed_by(self, user_id: str, claim: CheckoutClaim) -> StoredCart:
        """The stored cart if ``claim`` still stands on it; CartChanged (claim settled already) if not."""
        stored = self.stores.carts.get(user_id)
        if stored is None or stored.claim is None or stored.claim.order.orderId != claim.order.orderId:
            raise CartChanged("claim settled already")
        return stored


class FakeOrderRepository:
    """OrderRepository: a user's orders, newest first by id."""

    def __init__(self, stores: FakeStores) -> None:
        self.stores = stores

    def get(self, user_id: str, order_id: str) -> Order | None:
        def read() -> Order | None:
            order = self.stores.orders.get(order_id)
            return _copy(order) if order is not None and order.userId == user_id else None

        return self.stores.read("orders.get", read)

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> Page[Order]:
        before = str(decode_cursor("orders", cursor).get("id", "")) if cursor else None

        def read() -> list[Order]:
            mine = [o for o in self.stores.orders.values() if o.userId == user_id]
            mine = [o for o in mine if before is None or o.orderId < before]
            mine.sort(key=lambda o: o.orderId, reverse=True)
            return [o.model_copy(deep=True) for o in mine[: limit + 1]]

        orders = self.stores.read("orders.list_page", read)
        more, orders = len(orders) > limit, orders[:limit]
        return Page(orders, encode_cursor("orders", {"id": orders[-1].orderId}) if more and orders else None)


class FakeUserRepository:
    """UserRepository: create keeps an existing profile, update needs one."""

    def __init__(self, stores: FakeStores) -> None:
        self.stores = stores

    def get(self, user_id: str) -> UserProfile | None:
        return self.stores.read("users.get", lambda: _copy(self.stores.users.get(user_id)))

    def create(self, profile: UserProfile) -> UserProfile:
        def apply() -> UserProfile:
            existing = self.stores.users.get(profile.userId)
            if existing is not None:
                return existing.model_copy(deep=True)
            self.stores.users[profile.userId] = profile.model_copy(deep=True)
            return profile

        return self.stores.write("users.create", apply)

    def update(self, profile: UserProfile) -> None:
        def apply() -> None:
            if profile.userId not in self.stores.users:
                raise NotFound("no such user")
            self.stores.users[profile.userId] = profile.model_copy(deep=True)

        self.stores.write("users.update", apply)


def _take(stores: FakeStores, order: Order) -> None:
    """Take every line's copies (the checks done); call under the lock."""
    for line in order.items:
        book = stores.books[line.bookId]
        sold = book.model_copy(
            update={"stock": book.stock - line.quantity, "version": book.version + 1, "updatedAt": order.createdAt}
        )
        stores.put_book(line.bookId, sold, "sale")


class _Cancelled(Exception):
    """The atomic transaction was cancelled by a condition: ``failed`` names the books whose failed,
    ``cart_failed`` says whether the cart's did."""

    def __init__(self, failed: set[str], *, cart_failed: bool) -> None:
        super().__init__(", ".join(sorted(failed)))
        self.failed = failed
        self.cart_failed = cart_failed


class FakeAtomicCheckout:
    """CheckoutRepository in one transaction, like ``DynamoCheckoutRepository``: per line
    ``stock >= q`` and the price unchanged, the order new, the cart still the version priced and
    unclaimed; then stock taken, order stored, cart emptied (version + 1, key remembered)."""

    def __init__(self, stores: FakeStores, carts: FakeCartRepository, orders: FakeOrderRepository) -> None:
        self.stores = stores
        self.carts = carts
        self.orders = orders

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        stores = self.stores

        def apply() -> None:
            used = stores.keys.get((order.userId, key))
            if used is not None:  # the key item's condition, reported first like the adapter
                raise KeyAlreadyUsed(used)
            failed = {line.bookId for line in order.items if not _can_take(stores.books.get(line.bookId), line)}
            stored = stores.carts.get(cart.userId)
            if not _unclaimed_at(stored, cart.version):
                raise _Cancelled(failed, cart_failed=True)
            if failed or order.orderId in stores.orders:
                raise _Cancelled(failed, cart_failed=False)
            _take(stores, order)
            stores.put_order(order, key, cart.version)
            stores.put_cart(cart.userId, emptied(stored, cart, key, order.orderId, order.createdAt))

        try:
            stores.write("checkout.transact", apply)
        except _Cancelled as cancelled:
            if cancelled.cart_failed:  # another tab bought or changed the cart: re-reading tells which
                raise CartChanged("the cart changed during checkout; review the cart and retry") from cancelled
            short = self._short_lines(order, cancelled.failed)
            if short:
                raise OutOfStock("not enough stock for some books", {"books": short}) from cancelled
            raise CartChanged("the cart or a price changed during checkout; review the cart and retry") from cancelled
        return order

    def abandon(self, cart: StoredCart) -> None:
        self.resume(cart)  # a claim's order is never placed from here: it exists or it is released

    def resume(self, cart: StoredCart) -> Order | None:
        """A claim is left only by a two-store checkout (before a move back): placed if its order
        is here, else released."""
        if cart.claim is None:
            return None
        placed = self.orders.get(cart.userId, cart.claim.order.orderId)
        if placed is not None:
            self.carts.finish(cart)
        else:
            self.carts.release(cart)
        return placed

    def _short_lines(self, order: Order, book_ids: set[str]) -> list[dict[str, Any]]:
        """Which of ``book_ids`` really lack stock now (as opposed to a changed price)."""
        if not book_ids:
            return []
        stock = self.stores.read(
            "checkout.stock", lambda: {b: self.stores.books[b].stock for b in book_ids if b in self.stores.books}
        )
        return [
            {
                "bookId": line.bookId,
                "title": line.title,
                "requested": line.quantity,
                "available": stock.get(line.bookId, 0),
            }
            for line in order.items
            if line.bookId in book_ids and stock.get(line.bookId, 0) < line.quantity
        ]


def _unclaimed_at(stored: StoredCart | None, version: int) -> TypeGuard[StoredCart]:
    return stored is not None and stored.version == version and stored.claim is None


def _can_take(book: Book | None, line: OrderLine) -> bool:
    return book is not None and book.stock >= line.quantity and book.price == line.unitPrice


class FakeTwoStoreCheckout:
    """CheckoutRepository across two stores, like ``PostgresCheckoutRepository``: claim the cart
    (conditional), decide the claimed order's fate once in ``stores.claims`` (placed: stock taken
    and order stored in the same commit; abandoned: stock or a price no longer allow it), then
    empty the cart or drop the claim, conditional on the claim. A failure in between leaves the
    claim, and ``resume`` settles it the same way."""

    def __init__(self, stores: FakeStores, carts: CartRepository) -> None:
        self.stores = stores
        self.carts = carts

    def place_order(self, order: Order, cart: StoredCart, key: str) -> Order:
        try:
            claimed = self.carts.claim(cart, CheckoutClaim(key=key, order=order, claimedAt=utcnow()))
        except CartChanged:
            # As the adapter: refused, or applied and refused to its own resend; the cart tells.
            now = self.carts.get(cart.userId)
            if now is None or now.claim is None or now.claim.order.orderId != order.orderId:
                raise
            claimed = now
        placed, refusal = self._settle(claimed)
        if refusal is not None:
            raise refusal
        if placed is None:
            raise AssertionError("a decision is placed or refused")
        return placed

    def resume(self, cart: StoredCart) -> Order | None:
        placed, _ = self._settle(cart)
        return placed

    def abandon(self, cart: StoredCart) -> None:
        claim = cart.claim
        if claim is None:
            return

        def decide() -> bool:
            """Abandoned unless decided already; whether the order was placed."""
            fate = self.stores.claims.setdefault(claim.order.orderId, "abandoned")
            return fate == "placed"

        if self.stores.write("checkout.abandon", decide):
            self.carts.finish(cart)
        else:
            self.carts.release(cart)

    def _settle(self, cart: StoredCart) -> tuple[Order | None, DomainError | None]:
        claim = cart.claim
        if claim is None:
            raise CartChanged("the cart is not being checked out")
        placed, refusal = self.stores.write("checkout.decide", lambda: self._decide(claim, cart.version - 1))
        # Decided and committed: settling the cart may fail without losing anything (resume does it).
        with contextlib.suppress(StoreUnavailable):
            if placed is not None:
                self.carts.finish(cart)
            else:
                self.carts.release(cart)
        return placed, refusal

    def _decide(self, claim: CheckoutClaim, cart_version: int) -> tuple[Order | None, DomainError | None]:
        stores, order = self.stores, claim.order
        fate = stores.claims.get(order.orderId)
        used = stores.keys.get((order.userId, claim.key))
        if fate is None and used is not None:  # the key placed another order: that's the answer
            return None, KeyAlreadyUsed(used)
        if fate is not None:  # decided before: by an attempt whose answer was lost, or another tab
            if fate != "placed":
                return None, CartChanged("this checkout could not be completed; review the cart and retry")
            return stores.orders[order.orderId].model_copy(deep=True), None
        refusal = self._refusal(order)
        if refusal is not None:
            stores.claims[order.orderId] = "abandoned"
            return None, refusal
        stores.claims[order.orderId] = "placed"
        _take(stores, order)
        stores.put_order(order, claim.key, cart_version)
        return order.model_copy(deep=True), None

    def _refusal(self, order: Order) -> DomainError | None:
        """Why the order's stock can't be taken now (the adapter's ``_take_stock`` checks), or None."""
        books = self.stores.books
        wanted = {line.bookId: line for line in order.items}
        short = [
            {
                "bookId": b,
                "title": books[b].title if b in books else line.title,
                "requested": line.quantity,
                "available": books[b].stock if b in books else 0,
            }
            for b, line in sorted(wanted.items())
            if b not in books or books[b].stock < line.quantity
        ]
        if short:
            return OutOfStock("not enough stock for some books", {"books": short})
        if any(books[b].price != line.unitPrice for b, line in wanted.items()):
            return CartChanged("a price changed during checkout; review the cart and retry")
        return None


@dataclass
class FakeShop:
    """A full set of fakes over one set of stores."""

    stores: FakeStores
    books: FakeBookRepository
    carts: FakeCartRepository
    orders: FakeOrderRepository
    users: FakeUserRepository
    checkout: FakeAtomicCheckout | FakeTwoStoreCheckout


def fake_book(book_id: str, stock: int, price: str = "10.00") -> Book:
    """A valid book for a fake catalog (title "Title <id>")."""
    now = utcnow()
    return Book(
        bookId=book_id,
        title=f"Title {book_id}",
        author="Author",
        category="Fiction",
        price=Decimal(price),
        stock=stock,
        isbn="9780306406157",
        createdAt=now,
        updatedAt=now,
    )


def fake_shop(flavour: Flavour = "atomic", hook: Hook | None = None) -> FakeShop:
    """Fakes of every port over new empty stores, with the checkout of ``flavour``."""
    stores = FakeStores(hook=hook)
    carts = FakeCartRepository(stores)
    orders = FakeOrderRepository(stores)
    checkout: FakeAtomicCheckout | FakeTwoStoreCheckout = (
        FakeAtomicCheckout(stores, carts, orders) if flavour == "atomic" else FakeTwoStoreCheckout(stores, carts)
    )
    return FakeShop(stores, FakeBookRepository(stores), carts, orders, FakeUserRepository(stores), checkout)


if TYPE_CHECKING:  # mypy holds every fake to its port
    from cloudshelf.domain.ports import BookRepository, CheckoutRepository, OrderRepository, UserRepository

    _stores = FakeStores()
    _ports: tuple[BookRepository, CartRepository, OrderRepository, UserRepository] = (
        FakeBookRepository(_stores),
        FakeCartRepository(_stores),
        FakeOrderRepository(_stores),
        FakeUserRepository(_stores),
    )
    _checkouts: tuple[CheckoutRepository, CheckoutRepository] = (
        FakeAtomicCheckout(_stores, FakeCartRepository(_stores), FakeOrderRepository(_stores)),
        FakeTwoStoreCheckout(_stores, FakeCartRepository(_stores)),
    )
