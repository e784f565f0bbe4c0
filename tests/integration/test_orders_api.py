"""OrdersFunction: atomic, idempotent checkout and private order history."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import Invoke

Key = Callable[[], dict[str, list[str]]]


@pytest.fixture
def key() -> Key:
    """A fresh Idempotency-Key header per call."""
    counter = iter(range(10_000))
    return lambda: {"Idempotency-Key": [f"test-key-{next(counter):06d}"]}


def _stock(invoke: Invoke, book: dict[str, Any]) -> int:
    stock: int = invoke("GetBook", bookId=book["bookId"]).body["stock"]
    return stock


def test_checkout_takes_stock_writes_the_order_and_clears_the_cart(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], key: Key
) -> None:
    a = add_book(title="Emma", price="8.99", stock=5)
    b = add_book(title="Persuasion", price="7.25", stock=3)
    # Given a cart with two books
    invoke("PutCartItem", claims=shopper, bookId=a["bookId"], body={"quantity": 2})
    invoke("PutCartItem", claims=shopper, bookId=b["bookId"], body={"quantity": 3})
    # When checked out
    reply = invoke("PlaceOrder", claims=shopper, body={"note": "gift"}, headers=key())
    # Then one order with server prices, stock taken, cart empty
    assert reply.status == 201, reply.body
    order = reply.body
    assert order["total"] == "39.73"
    assert order["note"] == "gift"
    assert order["userId"] == shopper["sub"]
    assert sum(Decimal(i["lineTotal"]) for i in order["items"]) == Decimal(order["total"])
    assert (_stock(invoke, a), _stock(invoke, b)) == (3, 0)
    assert invoke("GetCart", claims=shopper).body["items"] == []
    assert invoke("GetOrder", claims=shopper, orderId=order["orderId"]).body == order


def test_empty_cart_is_a_conflict(invoke: Invoke, shopper: dict[str, str], key: Key) -> None:
    # Given nothing in the cart / When checking out / Then 409 CART_EMPTY
    reply = invoke("PlaceOrder", claims=shopper, body=None, headers=key())
    assert (reply.status, reply.body["error"]["code"]) == (409, "CART_EMPTY")


def test_short_stock_changes_nothing(
    invoke: Invoke, shopper: dict[str, str], admin: dict[str, str], add_book: Callable[..., Any], key: Key
) -> None:
    plenty = add_book(title="Emma", stock=10)
    scarce = add_book(title="Persuasion", stock=3)
    invoke("PutCartItem", claims=shopper, bookId=plenty["bookId"], body={"quantity": 2})
    invoke("PutCartItem", claims=shopper, bookId=scarce["bookId"], body={"quantity": 3})
    # Given the scarce book's stock drops below the cart's quantity after it was added
    fields = {k: scarce[k] for k in ("title", "author", "category", "price", "description", "isbn")}
    restocked = invoke(
        "ReplaceBook",
        claims=admin,
        bookId=scarce["bookId"],
        body={**fields, "stock": 1},
        headers={"If-Match": [f'"{scarce["version"]}"']},
    )
    assert restocked.status == 200, restocked.body
    # When checking out
    reply = invoke("PlaceOrder", claims=shopper, body=None, headers=key())
    # Then 409 naming the short book with what is left, and nothing changed anywhere
    assert (reply.status, reply.body["error"]["code"]) == (409, "OUT_OF_STOCK")
    assert reply.body["error"]["details"]["books"] == [
        {"bookId": scarce["bookId"], "title": "Persuasion", "requested": 3, "available": 1}
    ]
    assert (_stock(invoke, plenty), _stock(invoke, scarce)) == (10, 1)
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 2
    assert invoke("ListOrders", claims=shopper).body["items"] == []


def test_retry_with_the_same_key_returns_the_same_order(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    book = add_book(stock=5)
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1})
    header = {"Idempotency-Key": ["7d1f9c62-retry-key"]}
    # Given a placed order / When the same request is retried
    first = invoke("PlaceOrder", claims=shopper, body={"note": "x"}, headers=header)
    second = invoke("PlaceOrder", claims=shopper, body={"note": "x"}, headers=header)
    # Then the same order comes back and nothing more is taken
    assert first.status == second.status == 201
    assert first.body == second.body
    assert _stock(invoke, book) == 4
    assert len(invoke("ListOrders", claims=shopper).body["items"]) == 1
    # And the key with another body is a 409
    other = invoke("PlaceOrder", claims=shopper, body={"note": "different"}, headers=header)
    assert (other.status, other.body["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")


def test_keys_belong_to_their_caller(
    invoke: Invoke, shopper: dict[str, str], other_shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    book = add_book(stock=5)
    header = {"Idempotency-Key": ["shared-key-123"]}
    for who in (shopper, other_shopper):
        invoke("PutCartItem", claims=who, bookId=book["bookId"], body={"quantity": 1})
    # Given A ordered with a key / When B uses the same key / Then B gets B's own order
    a = invoke("PlaceOrder", claims=shopper, body=None, headers=header).body
    b = invoke("PlaceOrder", claims=other_shopper, body=None, headers=header).body
    assert a["orderId"] != b["orderId"]
    assert b["userId"] == other_shopper["sub"]
    assert _stock(invoke, book) == 3


@pytest.mark.parametrize("value", [None, "short", "has spaces in it", "x" * 129])
def test_a_valid_idempotency_key_is_required(invoke: Invoke, shopper: dict[str, str], value: str | None) -> None:
    # Given a missing or malformed key / When checking out / Then 422 and no order
    reply = invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": [value] if value else []})
    assert reply.status == 422
    assert invoke("ListOrders", claims=shopper).body["items"] == []


def test_client_cannot_set_prices_totals_or_owner(invoke: Invoke, shopper: dict[str, str], key: Key) -> None:
    # Given a body that tries to set money or the owner / When checking out / Then 422
    for body in ({"total": "0.01"}, {"userId": "someone"}, {"items": []}):
        assert invoke("PlaceOrder", claims=shopper, body=body, headers=key()).status == 422


def test_history_is_private_newest_first_and_paginated(
    invoke: Invoke, shopper: dict[str, str], other_shopper: dict[str, str], add_book: Callable[..., Any], key: Key
) -> None:
    book = add_book(stock=50)
    # Given three orders by A
    placed = []
    for _ in range(3):
        invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1})
        placed.append(invoke("PlaceOrder", claims=shopper, body=None, headers=key()).body["orderId"])
    # When listed two per page / Then newest first, all three, once
    first = invoke("ListOrders", claims=shopper, query={"limit": ["2"]}).body
    second = invoke("ListOrders", claims=shopper, query={"limit": ["2"], "cursor": [first["nextCursor"]]}).body
    assert [o["orderId"] for o in first["items"] + second["items"]] == list(reversed(placed))
    assert second["nextCursor"] is None
    # And B sees none of them, not even by id
    assert invoke("ListOrders", claims=other_shopper).body["items"] == []
    assert invoke("GetOrder", claims=other_shopper, orderId=placed[0]).status == 404
    # And a cursor cannot reach into another user's orders
    assert invoke("ListOrders", claims=other_shopper, query={"cursor": [first["nextCursor"]]}).body["items"] == []
    assert invoke("GetOrder", claims=shopper, orderId="not-an-order-id").status == 422
