"""Checkout under racing tabs, lost answers and changes in between (issue 11, defects 1, 2, 4, 5).

Each test replays one adversarial interleaving that broke a promise before; the seeded
histories in tests/histories explore the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from secrets import token_hex
from typing import Any

import psycopg2
import pytest

from cloudshelf.domain import orders as order_rules
from cloudshelf.domain.carts import CartRules, set_quantity
from cloudshelf.errors import CartChanged, CartEmpty, CheckoutPending, DomainError, StoreUnavailable
from cloudshelf.models.books import Book
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order
from cloudshelf.repositories import factory
from cloudshelf.repositories.postgres import connection
from tests.integration.conftest import Invoke

RULES = CartRules(ttl=timedelta(days=7), max_lines=50, max_quantity=20, currency="USD")


def _book(book_id: str, stock: int, price: str = "10.00") -> Book:
    now = utcnow()
    return Book.model_validate(
        {"bookId": book_id, "title": f"Title {book_id}", "author": "A. Author", "category": "Fiction",
         "price": price, "stock": stock, "isbn": "9780306406157", "createdAt": now, "updatedAt": now}
    )  # fmt: skip


def _checkout(user: str, key: str | None = None, expected: str | None = None) -> Order:
    return order_rules.checkout(
        user,
        key or token_hex(8),
        note=None,
        expected_total=Decimal(expected) if expected else None,
        rules=RULES,
        attempts=3,
        carts=factory.cart_repository(),
        books=factory.book_repository(),
        orders=factory.order_repository(),
        checkout_repo=factory.checkout_repository(),
    )


def _orders(user: str) -> list[Order]:
    return factory.order_repository().list_page(user, 100, None).items


def _stock(book_id: str) -> int:
    book = factory.book_repository().get(book_id)
    assert book is not None
    return book.stock


@pytest.mark.parametrize("round_", range(3))
def test_three_tabs_buy_one_cart_once(moto_server: str, phase: str, round_: int) -> None:
    # Given a cart of two copies and three tabs pressing "Place order" at once, each with its own key
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("tabbed", stock=50))
    user = f"tabs-{round_}"
    set_quantity(user, "tabbed", 2, carts, books, RULES)
    barrier = threading.Barrier(3)

    def press(_: int) -> str:
        barrier.wait()
        try:
            _checkout(user)
        except CartEmpty:
            return "empty"
        except DomainError as exc:
            return exc.code
        return "placed"

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(press, range(3), timeout=60))
    # Then exactly one order, two copies sold, and the others are told the cart is empty
    assert outcomes.count("placed") == 1, outcomes
    assert set(outcomes) <= {"placed", "empty", "CART_CHANGED"}, outcomes
    assert len(_orders(user)) == 1
    assert _stock("tabbed") == 48


def test_a_retry_after_a_lost_commit_answer_returns_the_same_order(
    moto_server: str, phase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cart, and a store whose answer to the write is lost after the write happened
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("lost", stock=5))
    set_quantity("lost-user", "lost", 1, carts, books, RULES)
    _lose_the_next_answer(monkeypatch, phase)
    key = token_hex(8)
    # When the checkout fails with an unknown outcome and is retried with the same key
    with pytest.raises(StoreUnavailable):
        _checkout("lost-user", key)
    monkeypatch.undo()
    retried = _checkout("lost-user", key)
    again = _checkout("lost-user", key)
    # Then the retries answer with the one order that was placed; one copy was sold once
    assert [o.orderId for o in _orders("lost-user")] == [retried.orderId]
    assert again.orderId == retried.orderId
    assert _stock("lost") == 4
    # And another tab's checkout is told the cart is empty, not sold it twice
    with pytest.raises(CartEmpty):
        _checkout("lost-user")


def _lose_the_next_answer(monkeypatch: pytest.MonkeyPatch, phase: str) -> None:
    """Make the next checkout write succeed in the store and then fail as if its answer was lost."""
    if phase == "2":
        real_run = connection.run

        def run(work: Callable[[Any], Any], *, write: bool = False) -> Any:
            result = real_run(work, write=write)
            if write:
                connection.drop_connection()
                raise StoreUnavailable("the connection dropped during COMMIT", retry_after=5)
            return result

        monkeypatch.setattr("cloudshelf.repositories.postgres.orders.run", run)
    else:
        from cloudshelf.repositories.dynamodb import orders as dynamo_orders

        real = dynamo_orders.transact_write

        def transact(actions: list[dict[str, Any]], token: str | None = None) -> None:
            real(actions, token)
            raise StoreUnavailable("the answer to TransactWriteItems was lost", retry_after=2)

        monkeypatch.setattr(dynamo_orders, "transact_write", transact)


def test_a_line_added_during_checkout_is_bought_or_refused_never_left_behind(moto_server: str, phase: str) -> None:
    # Given a cart with one book, and a second tab that adds another book while the checkout runs
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("first", stock=5))
    books.create(_book("second", stock=5))
    set_quantity("racer", "first", 1, carts, books, RULES)
    repo = factory.checkout_repository()
    real_place = repo.place_order
    added: list[str] = []

    def place_order(order: Order, cart: Any, key: str) -> Order:
        if not added:  # the other tab writes between this checkout's read and its write
            try:
                set_quantity("racer", "second", 1, carts, books, RULES)
                added.append("added")
            except CheckoutPending:
                added.append("refused")
        return real_place(order, cart, key)

    factory.checkout_repository.cache_clear()
    try:
        object.__setattr__(repo, "place_order", place_order)
        order = order_rules.checkout(
            "racer", token_hex(8), note=None, expected_total=None, rules=RULES, attempts=3,
            carts=carts, books=books, orders=factory.order_repository(), checkout_repo=repo,
        )  # fmt: skip
    finally:
        factory.checkout_repository.cache_clear()
    # Then either the added line was bought with the first, or the add was refused; the cart is empty
    bought = {line.bookId for line in order.items}
    assert bought == ({"first", "second"} if added == ["added"] else {"first"}), (added, bought)
    cart = carts.get("racer")
    assert cart is not None
    assert cart.lines == {}
    assert _stock("first") == 4


def test_a_cart_version_is_never_reused_so_a_slow_checkout_cannot_buy_it_again(moto_server: str, phase: str) -> None:
    # Given a checkout that read the cart (one copy of "old") and stalls before writing
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("old", stock=10))
    books.create(_book("new", stock=10))
    set_quantity("aba", "old", 1, carts, books, RULES)
    stale = carts.get("aba")
    assert stale is not None
    # When another tab buys the cart, the shopper fills a new cart, and the stalled checkout writes
    first = _checkout("aba")
    set_quantity("aba", "new", 1, carts, books, RULES)
    fresh = carts.get("aba")
    assert fresh is not None
    assert fresh.version != stale.version
    draft = first.model_copy(update={"orderId": first.orderId[:-1] + ("0" if first.orderId[-1] != "0" else "1")})
    with pytest.raises(DomainError):
        factory.checkout_repository().place_order(draft, stale, token_hex(8))
    # Then the old cart was bought once, the new cart is untouched
    assert [o.orderId for o in _orders("aba")] == [first.orderId]
    assert (_stock("old"), _stock("new")) == (9, 10)
    current = carts.get("aba")
    assert current is not None
    assert current.lines == {"new": 1}


def test_versions_survive_emptying_and_a_new_cart_starts_above_any_old_one(moto_server: str, phase: str) -> None:
    # Given a cart written a few times, then emptied by checkout, then TTL-deleted and recreated
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("v", stock=10))
    seen = []
    for qty in (1, 2, 3):
        set_quantity("ver", "v", qty, carts, books, RULES)
        seen.append(carts.get("ver").version)  # type: ignore[union-attr]
    _checkout("ver")
    seen.append(carts.get("ver").version)  # type: ignore[union-attr]
    set_quantity("ver", "v", 1, carts, books, RULES)
    seen.append(carts.get("ver").version)  # type: ignore[union-attr]
    carts.delete("ver")  # what TTL does to an idle cart
    set_quantity("ver", "v", 1, carts, books, RULES)
    seen.append(carts.get("ver").version)  # type: ignore[union-attr]
    # Then the versions only ever grow
    assert seen == sorted(set(seen)), seen


@pytest.fixture
def key() -> Callable[[], dict[str, list[str]]]:
    return lambda: {"Idempotency-Key": [f"race-key-{token_hex(6)}"]}


def test_a_changed_total_is_refused_with_the_current_cart_and_nothing_written(
    invoke: Invoke, shopper: dict[str, str], admin: dict[str, str], add_book: Callable[..., Any], key: Any
) -> None:
    book = add_book(title="Emma", price="10.00", stock=5)
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2})
    # Given the shopper reviewed a total of 20.00, and the price then rose to 12.00
    shown = invoke("GetCart", claims=shopper).body["total"]
    assert shown == "20.00"
    _set_price(invoke, admin, book["bookId"], "12.00")
    # When the shopper places the order for the total shown
    reply = invoke("PlaceOrder", claims=shopper, body={"expectedTotal": shown}, headers=key())
    # Then 409 PRICE_CHANGED with the current cart; no order, no stock taken, the cart kept
    assert (reply.status, reply.body["error"]["code"]) == (409, "PRICE_CHANGED"), reply.body
    details = reply.body["error"]["details"]
    assert (details["expectedTotal"], details["total"], details["cart"]["total"]) == ("20.00", "24.00", "24.00")
    assert invoke("ListOrders", claims=shopper).body["items"] == []
    assert invoke("GetBook", bookId=book["bookId"]).body["stock"] == 5
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 1
    # And agreeing to the new total places the order at it
    placed = invoke("PlaceOrder", claims=shopper, body={"expectedTotal": "24.00"}, headers=key())
    assert (placed.status, placed.body["total"]) == (201, "24.00")


def _set_price(invoke: Invoke, admin: dict[str, str], book_id: str, price: str) -> None:
    current = invoke("GetBook", bookId=book_id)
    fields = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    body = {k: v for k, v in current.body.items() if k in fields} | {"price": price}
    etag = current.headers.get("ETag")
    headers = {"If-Match": etag} if etag else None
    reply = invoke("ReplaceBook", claims=admin, bookId=book_id, body=body, headers=headers)
    assert reply.status == 200, reply.body


def test_a_book_deleted_from_the_catalog_stays_visible_in_the_cart_and_blocks_checkout_by_name(
    invoke: Invoke, shopper: dict[str, str], admin: dict[str, str], add_book: Callable[..., Any], key: Any
) -> None:
    kept = add_book(title="Emma", price="10.00", stock=5)
    gone = add_book(title="Lady Susan", price="6.00", stock=5)
    invoke("PutCartItem", claims=shopper, bookId=kept["bookId"], body={"quantity": 1})
    invoke("PutCartItem", claims=shopper, bookId=gone["bookId"], body={"quantity": 2})
    # Given the admin deletes a book that is in the shopper's cart
    version = invoke("GetBook", bookId=gone["bookId"]).headers.get("ETag")
    deleted = invoke(
        "DeleteBook", claims=admin, bookId=gone["bookId"], headers={"If-Match": version} if version else None
    )
    assert deleted.status == 204, deleted.body
    # When the shopper looks at the cart
    cart = invoke("GetCart", claims=shopper).body
    # Then the line is shown as unavailable (with its title), not charged
    assert [i["bookId"] for i in cart["items"]] == [kept["bookId"]]
    assert cart["unavailable"] == [{"bookId": gone["bookId"], "title": "Lady Susan", "quantity": 2}]
    assert cart["total"] == "10.00"
    # And checkout names it, changing nothing
    refused = invoke("PlaceOrder", claims=shopper, body={}, headers=key())
    assert (refused.status, refused.body["error"]["code"]) == (409, "BOOK_UNAVAILABLE"), refused.body
    assert "Lady Susan" in refused.body["error"]["message"]
    assert refused.body["error"]["details"]["books"] == [{"bookId": gone["bookId"], "title": "Lady Susan"}]
    assert invoke("GetBook", bookId=kept["bookId"]).body["stock"] == 5
    # And one removal makes the cart buyable again
    removed = invoke("DeleteCartItem", claims=shopper, bookId=gone["bookId"])
    assert (removed.status, removed.body["unavailable"]) == (200, [])
    assert invoke("PlaceOrder", claims=shopper, body={"expectedTotal": "10.00"}, headers=key()).status == 201


def test_a_cart_write_settles_a_checkout_claim_that_did_not_decide(moto_server: str, phase: str) -> None:
    # Given a checkout that claimed the cart and died before its order was decided
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("held", stock=5))
    set_quantity("holder", "held", 1, carts, books, RULES)
    stored = carts.get("holder")
    assert stored is not None
    draft = _checkout_draft(stored)
    from cloudshelf.models.carts import CheckoutClaim

    claimed = carts.claim(stored, CheckoutClaim(key="holder-key-1", order=draft, claimedAt=utcnow()))
    # When a write comes without a way to settle it / Then 409 CHECKOUT_PENDING, nothing changes
    with pytest.raises(CheckoutPending):
        set_quantity("holder", "held", 2, carts, books, RULES)
    assert carts.get("holder") == claimed
    # When the shopper changes the cart (as the API does it) / Then the claim's order is abandoned
    # for good and the change applies
    set_quantity("holder", "held", 2, carts, books, RULES, checkouts=factory.checkout_repository())
    now = carts.get("holder")
    assert now is not None
    assert (now.claim, now.lines) == (None, {"held": 2})
    # And a late retry of the dead checkout can't place the abandoned order; it buys the cart as it is
    retried = _checkout("holder", "holder-key-1")
    assert retried.orderId != draft.orderId
    assert [line.quantity for line in retried.items] == [2]
    assert [o.orderId for o in _orders("holder")] == [retried.orderId]
    assert _stock("held") == 3


def test_a_cart_write_after_the_claimed_order_was_placed_starts_a_new_cart(moto_server: str, phase: str) -> None:
    if phase != "2":
        pytest.skip("claims are made by the two-store checkout")
    # Given a checkout whose order was placed in PostgreSQL, but whose cart was never emptied
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("half", stock=5))
    set_quantity("halfway", "half", 1, carts, books, RULES)
    stored = carts.get("halfway")
    assert stored is not None
    repo = factory.checkout_repository()
    real_finish = carts.finish

    def lost(_: Any) -> None:
        raise StoreUnavailable("DynamoDB is down", retry_after=2)

    object.__setattr__(carts, "finish", lost)
    try:
        placed = repo.place_order(_checkout_draft(stored), stored, "halfway-key-1")
    finally:
        object.__setattr__(carts, "finish", real_finish)
    assert carts.get("halfway").claim is not None  # type: ignore[union-attr]
    # When the shopper adds a book / Then the bought cart is emptied first: the new line is alone
    set_quantity("halfway", "half", 3, carts, books, RULES, checkouts=repo)
    now = carts.get("halfway")
    assert now is not None
    assert (now.claim, now.lines, now.order_for_key("halfway-key-1")) == (None, {"half": 3}, placed.orderId)
    assert _stock("half") == 4


def _checkout_draft(stored: Any) -> Order:
    from cloudshelf.domain.orders import _price_order

    return _price_order(stored, None, None, RULES, factory.book_repository())


def test_a_commit_that_never_reached_the_server_is_abandoned_once(
    moto_server: str, phase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if phase != "2":
        pytest.skip("the two-store checkout only")
    # Given a checkout whose PostgreSQL transaction fails before COMMIT (connection lost)
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("flaky", stock=3))
    set_quantity("flaky-user", "flaky", 1, carts, books, RULES)

    def broken(*_: Any, **__: Any) -> Any:
        raise StoreUnavailable("the database is unreachable", retry_after=5)

    monkeypatch.setattr("cloudshelf.repositories.postgres.orders.run", broken)
    key = token_hex(8)
    with pytest.raises(StoreUnavailable):
        _checkout("flaky-user", key)
    monkeypatch.undo()
    # When retried with the same key / Then one order, one copy sold
    order = _checkout("flaky-user", key)
    assert [o.orderId for o in _orders("flaky-user")] == [order.orderId]
    assert _stock("flaky") == 2
    conn = psycopg2.connect(connection.get_settings().db_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT outcome, count(*) FROM checkout_claims GROUP BY outcome")
            assert dict(cur.fetchall()) == {"placed": 1}
    finally:
        conn.close()


def test_a_key_places_one_order_ever_even_when_the_cart_forgot_it(moto_server: str, phase: str) -> None:
    # Given an order placed with a key, and a cart that no longer remembers that key (it keeps its
    # last checkouts only) while the idempotency record is gone too (a day later, or released)
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("once", stock=10))
    set_quantity("forgetful", "once", 1, carts, books, RULES)
    first = _checkout("forgetful", "forgetful-key-1")
    emptied = carts.get("forgetful")
    assert emptied is not None
    carts.save(emptied.model_copy(update={"placed": [], "version": emptied.version + 1}), emptied.version)
    set_quantity("forgetful", "once", 3, carts, books, RULES)
    # When the old request is retried with its key
    again = _checkout("forgetful", "forgetful-key-1")
    # Then it gets its order back; nothing else is bought, the new cart is untouched
    assert again.orderId == first.orderId
    assert [o.orderId for o in _orders("forgetful")] == [first.orderId]
    assert _stock("once") == 9
    assert carts.get("forgetful").lines == {"once": 3}  # type: ignore[union-attr]


def test_a_claim_whose_answer_was_lost_is_recognised_and_completed(moto_server: str, phase: str) -> None:
    if phase != "2":
        pytest.skip("claims are made by the two-store checkout")
    # Given a claim that DynamoDB applied but whose answer was lost: the SDK's resend then meets
    # its own write and fails its condition
    books, carts = factory.book_repository(), factory.cart_repository()
    books.create(_book("echo", stock=5))
    set_quantity("echoer", "echo", 1, carts, books, RULES)
    real_claim = carts.claim

    def applied_then_refused(cart: Any, claim: Any) -> Any:
        real_claim(cart, claim)
        raise CartChanged("the conditional request failed (the resend of an applied claim)")

    object.__setattr__(carts, "claim", applied_then_refused)
    try:
        # When the checkout runs with a single attempt
        order = order_rules.checkout(
            "echoer", token_hex(8), note=None, expected_total=None, rules=RULES, attempts=1,
            carts=carts, books=factory.book_repository(), orders=factory.order_repository(),
            checkout_repo=factory.checkout_repository(),
        )  # fmt: skip
    finally:
        object.__setattr__(carts, "claim", real_claim)
    # Then it recognises its own claim and places the order once; the cart is emptied
    assert [o.orderId for o in _orders("echoer")] == [order.orderId]
    assert _stock("echo") == 4
    assert carts.get("echoer").lines == {}  # type: ignore[union-attr]
