"""The in-memory fakes keep their adapters' promises: conditions, versions, errors, fault points."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cloudshelf.domain.fakes import (
    POINTS,
    REMEMBERED_CHECKOUTS,
    FakeShop,
    Flavour,
    Sale,
    fail_at,
    fake_book,
    fake_shop,
)
from cloudshelf.errors import AlreadyExists, CartChanged, Conflict, NotFound, OutOfStock, StoreUnavailable
from cloudshelf.ids import new_sortable_id
from cloudshelf.models.books import Book
from cloudshelf.models.carts import CheckoutClaim, StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order, OrderLine
from cloudshelf.models.users import UserProfile
from cloudshelf.repositories.dynamodb import carts as dynamo_carts


def _book(book_id: str = "b1", stock: int = 3, price: str = "10.00") -> Book:
    return fake_book(book_id, stock, price)


def _cart(version: int, lines: dict[str, int] | None = None, user: str = "ann") -> StoredCart:
    now = utcnow()
    return StoredCart(
        userId=user, lines=lines or {"b1": 1}, version=version, expiresAt=now + timedelta(days=7), updatedAt=now
    )


def _order(cart: StoredCart, price: str = "10.00") -> Order:
    items = [
        OrderLine(
            bookId=b,
            title=f"Title {b}",
            author="Author",
            unitPrice=Decimal(price),
            quantity=q,
            lineTotal=Decimal(price) * q,
        )
        for b, q in sorted(cart.lines.items())
    ]
    return Order(
        orderId=new_sortable_id(),
        userId=cart.userId,
        items=items,
        total=sum((i.lineTotal for i in items), Decimal("0.00")),
        currency="USD",
        createdAt=utcnow(),
    )


def _shop(flavour: Flavour = "atomic", stock: int = 3) -> FakeShop:
    shop = fake_shop(flavour)
    shop.books.create(_book(stock=stock))
    return shop


def test_remembers_as_many_checkouts_as_the_dynamodb_cart() -> None:
    assert REMEMBERED_CHECKOUTS == dynamo_carts.REMEMBERED_CHECKOUTS


def test_cart_writes_are_optimistic_and_refused_while_claimed() -> None:
    # Given a new cart
    shop = _shop()
    shop.carts.save(_cart(100), expected_version=0)
    # When it is created twice, or saved over a version it no longer has, Then CartChanged
    with pytest.raises(CartChanged):
        shop.carts.save(_cart(100), expected_version=0)
    with pytest.raises(CartChanged):
        shop.carts.save(_cart(102), expected_version=99)
    # When it is claimed, Then its version moves on and every other write is refused
    stored = shop.carts.get("ann")
    assert stored is not None
    claimed = shop.carts.claim(stored, CheckoutClaim(key="k", order=_order(stored), claimedAt=utcnow()))
    assert claimed.version == 101
    assert shop.carts.get("ann") == claimed
    with pytest.raises(CartChanged):
        shop.carts.save(_cart(102), expected_version=101)
    with pytest.raises(CartChanged):
        shop.carts.claim(claimed, CheckoutClaim(key="k2", order=_order(stored), claimedAt=utcnow()))


def test_finish_empties_the_claimed_cart_once_and_remembers_the_key() -> None:
    # Given a claimed cart that remembers as many earlier checkouts as it can
    shop = _shop()
    cart = _cart(100)
    shop.carts.save(cart, expected_version=0)
    for n in range(REMEMBERED_CHECKOUTS):
        stored = shop.carts.get("ann")
        assert stored is not None
        claimed = shop.carts.claim(stored, CheckoutClaim(key=f"k{n}", order=_order(stored), claimedAt=utcnow()))
        shop.carts.finish(claimed)
        emptied = shop.carts.get("ann")
        assert emptied is not None
        shop.carts.save(
            emptied.model_copy(update={"lines": {"b1": 1}, "version": emptied.version + 1}), emptied.version
        )
    stored = shop.carts.get("ann")
    assert stored is not None
    order = _order(stored)
    claimed = shop.carts.claim(stored, CheckoutClaim(key="new", order=order, claimedAt=utcnow()))
    # When it is finished twice and released after that
    shop.carts.finish(claimed)
    shop.carts.finish(claimed)
    shop.carts.release(claimed)
    # Then it is emptied once, one version on, the newest key first and the oldest forgotten
    done = shop.carts.get("ann")
    assert done is not None
    assert (done.lines, done.claim, done.version) == ({}, None, claimed.version + 1)
    assert [p.key for p in done.placed] == ["new", *(f"k{n}" for n in reversed(range(1, REMEMBERED_CHECKOUTS)))]
    assert done.order_for_key("new") == order.orderId


def test_release_drops_the_claim_and_keeps_the_lines() -> None:
    shop = _shop()
    shop.carts.save(_cart(100, {"b1": 2}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    claimed = shop.carts.claim(stored, CheckoutClaim(key="k", order=_order(stored), claimedAt=utcnow()))
    shop.carts.release(claimed)
    released = shop.carts.get("ann")
    assert released is not None
    assert (released.lines, released.claim, released.version) == ({"b1": 2}, None, 102)


def test_atomic_checkout_takes_stock_stores_the_order_and_empties_the_cart() -> None:
    # Given a cart of 2 copies, 5 in stock
    shop = _shop(stock=5)
    shop.carts.save(_cart(100, {"b1": 2}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    order = _order(stored)
    # When it is checked out
    assert shop.checkout.place_order(order, stored, "k") == order
    # Then stock is taken (a new book version), the order is stored, the cart emptied remembering the key
    book = shop.books.get("b1")
    assert book is not None
    assert (book.stock, book.version) == (3, 2)
    assert shop.orders.get("ann", order.orderId) == order
    assert shop.orders.get("bob", order.orderId) is None
    emptied = shop.carts.get("ann")
    assert emptied is not None
    assert (emptied.lines, emptied.version, emptied.order_for_key("k")) == ({}, 101, order.orderId)
    # And the same cart version can't be bought again
    with pytest.raises(CartChanged):
        shop.checkout.place_order(_order(stored), stored, "k2")


@pytest.mark.parametrize("flavour", ["atomic", "two-store"])
def test_checkouts_refuse_short_stock_and_changed_prices_and_write_nothing(flavour: Flavour) -> None:
    # Given a cart of 2 copies with 1 in stock, and one priced before a price change
    shop = _shop(flavour, stock=1)
    shop.carts.save(_cart(100, {"b1": 2}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    # When it is checked out, Then OutOfStock names the book, and no order or stock moves
    with pytest.raises(OutOfStock) as short:
        shop.checkout.place_order(_order(stored), stored, "k")
    assert short.value.details == {"books": [{"bookId": "b1", "title": "Title b1", "requested": 2, "available": 1}]}
    stored = shop.carts.get("ann")
    assert stored is not None
    with pytest.raises(CartChanged):
        shop.checkout.place_order(_order(stored.model_copy(update={"lines": {"b1": 1}}), "9.99"), stored, "k")
    book = shop.books.get("b1")
    assert book is not None
    assert (book.stock, shop.stores.orders) == (1, {})
    left = shop.carts.get("ann")
    assert left is not None
    assert (left.lines, left.claim) == ({"b1": 2}, None)


def test_two_store_checkout_decides_once_even_when_the_commit_answer_is_lost() -> None:
    # Given a two-store shop whose decision commits but whose answer is lost once
    shop = fake_shop("two-store", hook=fail_at("checkout.decide:after"))
    shop.books.create(_book())
    shop.carts.save(_cart(100, {"b1": 2}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    order = _order(stored)
    # When the checkout fails with StoreUnavailable, Then the claim stands
    with pytest.raises(StoreUnavailable):
        shop.checkout.place_order(order, stored, "k")
    claimed = shop.carts.get("ann")
    assert claimed is not None
    assert claimed.claim is not None
    assert claimed.claim.order.orderId == order.orderId
    # When it is resumed (twice), Then the same order comes back, stock taken once, cart emptied
    assert shop.checkout.resume(claimed) == order
    assert shop.checkout.resume(claimed) == order
    book = shop.books.get("b1")
    assert book is not None
    assert book.stock == 1
    assert [e.order.orderId for e in shop.stores.journal if isinstance(e, Sale)] == [order.orderId]
    assert shop.stores.claims == {order.orderId: "placed"}
    done = shop.carts.get("ann")
    assert done is not None
    assert (done.lines, done.claim, done.order_for_key("k")) == ({}, None, order.orderId)


def test_a_fault_before_a_write_writes_nothing_and_after_it_loses_only_the_answer() -> None:
    shop = fake_shop(hook=fail_at("carts.save:before"))
    with pytest.raises(StoreUnavailable):
        shop.carts.save(_cart(100), expected_version=0)
    assert shop.carts.get("ann") is None
    shop = fake_shop(hook=fail_at("carts.save:after"))
    with pytest.raises(StoreUnavailable):
        shop.carts.save(_cart(100), expected_version=0)
    written = shop.carts.get("ann")
    assert written is not None
    assert (written.version, written.lines) == (100, {"b1": 1})


def test_every_write_has_its_points() -> None:
    writes = {p.split(":")[0] for p in POINTS if ":" in p}
    assert all(f"{w}:before" in POINTS and f"{w}:after" in POINTS for w in writes)


def test_book_writes_are_conditional_on_the_version() -> None:
    shop = _shop()
    with pytest.raises(AlreadyExists):
        shop.books.create(_book())
    current = shop.books.get("b1")
    assert current is not None
    newer = current.model_copy(update={"stock": 9, "version": 2})
    shop.books.replace(newer, current)
    with pytest.raises(Conflict):
        shop.books.replace(newer.model_copy(update={"version": 3}), current)
    with pytest.raises(Conflict):
        shop.books.delete(current)
    shop.books.delete(newer)
    with pytest.raises(NotFound):
        shop.books.delete(newer)


def test_catalog_reads_page_by_title() -> None:
    shop = fake_shop()
    for n in range(5):
        shop.books.create(_book(f"b{n}"))
    first = shop.books.list_page(None, 3, None)
    second = shop.books.list_page(None, 3, first.next_cursor)
    assert [b.bookId for b in first.items + second.items] == [f"b{n}" for n in range(5)]
    assert second.next_cursor is None
    assert [b.bookId for b in shop.books.search("titl b3", None, 10, None).items] == ["b3"]
    assert [(c.name, c.count) for c in shop.books.categories()] == [("Fiction", 5)]


def test_profiles_are_created_once_and_updated_only_when_they_exist() -> None:
    shop = fake_shop()
    now = utcnow()
    profile = UserProfile(userId="ann", email="a@example.com", displayName="Ann", createdAt=now, updatedAt=now)
    with pytest.raises(NotFound):
        shop.users.update(profile)
    assert shop.users.create(profile) == profile
    assert shop.users.create(profile.model_copy(update={"displayName": "Other"})) == profile
    shop.users.update(profile.model_copy(update={"displayName": "Annie"}))
    stored = shop.users.get("ann")
    assert stored is not None
    assert stored.displayName == "Annie"


def test_two_store_abandon_decides_abandoned_unless_placed_and_the_claimant_learns_it() -> None:
    # Given a claimed cart whose order is not decided yet
    shop = _shop("two-store")
    shop.carts.save(_cart(100, {"b1": 2}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    order = _order(stored)
    claimed = shop.carts.claim(stored, CheckoutClaim(key="k", order=order, claimedAt=utcnow()))
    # When a cart write abandons it, Then the claim is released and its order can never be placed
    shop.checkout.abandon(claimed)
    released = shop.carts.get("ann")
    assert released is not None
    assert (released.claim, released.lines, shop.stores.claims) == (None, {"b1": 2}, {order.orderId: "abandoned"})
    assert shop.checkout.resume(claimed) is None
    assert shop.stores.orders == {}
    # And a claim whose order was placed is finished instead
    second = _order(released)
    again = shop.carts.claim(released, CheckoutClaim(key="k2", order=second, claimedAt=utcnow()))
    shop.stores.claims[second.orderId] = "placed"
    shop.checkout.abandon(again)
    done = shop.carts.get("ann")
    assert done is not None
    assert (done.lines, done.claim, done.order_for_key("k2")) == ({}, None, second.orderId)


def test_atomic_checkout_of_a_cart_bought_meanwhile_is_changed_not_short() -> None:
    # Given a cart of the last 3 copies, bought by another tab from the same version
    shop = _shop(stock=3)
    shop.carts.save(_cart(100, {"b1": 3}), expected_version=0)
    stored = shop.carts.get("ann")
    assert stored is not None
    shop.checkout.place_order(_order(stored), stored, "first")
    # When this tab's checkout of that version runs, Then CartChanged (re-reading says CartEmpty), not OutOfStock
    with pytest.raises(CartChanged):
        shop.checkout.place_order(_order(stored), stored, "second")
