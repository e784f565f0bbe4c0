"""Checkout and order history: POST /orders, GET /orders, GET /orders/{orderId}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract_support import Api, User, book_body, error_code, idempotency_key, if_match


def checkout(api: Api, user: User, key: str | None = None, **kwargs: Any) -> Any:
    return api.post("/orders", user.token, headers={"Idempotency-Key": key or idempotency_key()}, **kwargs)


def stock(api: Api, book_id: str) -> int:
    value: int = api.get(f"/books/{book_id}").json()["stock"]
    return value


def test_checkout_places_the_order_takes_stock_and_clears_the_cart(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given 2 copies of a 7.25 book (stock 5) and 1 of a 3.00 book (stock 1) in the cart
    first, second = new_book(price="7.25", stock=5), new_book(price="3.00", stock=1)
    api.put(f"/cart/items/{first['bookId']}", shopper_a.token, json={"quantity": 2})
    api.put(f"/cart/items/{second['bookId']}", shopper_a.token, json={"quantity": 1})
    # When the shopper checks out
    response = checkout(api, shopper_a, json={"note": "gift wrap"})
    # Then 201 with the order, priced by the server
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["userId"], order["status"], order["total"], order["note"]) == (
        shopper_a.sub,
        "PLACED",
        "17.50",
        "gift wrap",
    )
    lines = {i["bookId"]: (i["quantity"], i["unitPrice"], i["lineTotal"]) for i in order["items"]}
    assert lines == {first["bookId"]: (2, "7.25", "14.50"), second["bookId"]: (1, "3.00", "3.00")}
    # And the stock went down, the cart is empty, and the order can be read back
    assert (stock(api, first["bookId"]), stock(api, second["bookId"])) == (3, 0)
    assert api.get("/cart", shopper_a.token).json()["items"] == []
    assert api.get(f"/orders/{order['orderId']}", shopper_a.token).json() == order


def test_empty_cart_is_409(api: Api, shopper_a: User) -> None:
    # Given an empty cart
    # When the shopper checks out
    response = checkout(api, shopper_a)
    # Then 409 CART_EMPTY and no order exists
    assert response.status_code == 409
    assert error_code(response) == "CART_EMPTY"
    assert api.get("/orders", shopper_a.token).json()["items"] == []


def test_out_of_stock_checkout_names_the_books_and_changes_nothing(
    api: Api, admin: User, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given 3 copies of book A and 1 of book B in the cart, then A's stock cut to 2 by the admin
    short, fine = new_book(stock=5), new_book(stock=4)
    api.put(f"/cart/items/{short['bookId']}", shopper_a.token, json={"quantity": 3})
    api.put(f"/cart/items/{fine['bookId']}", shopper_a.token, json={"quantity": 1})
    body = book_body(title=short["title"], category=short["category"], stock=2)
    assert api.put(f"/books/{short['bookId']}", admin.token, json=body, headers=if_match(short)).status_code == 200
    # When the shopper checks out
    response = checkout(api, shopper_a)
    # Then 409 OUT_OF_STOCK names book A with 2 available
    assert response.status_code == 409
    assert error_code(response) == "OUT_OF_STOCK"
    named = {b["bookId"]: b["available"] for b in response.json()["error"]["details"]["books"]}
    assert named == {short["bookId"]: 2}
    # And nothing changed: stock, cart, orders
    assert (stock(api, short["bookId"]), stock(api, fine["bookId"])) == (2, 4)
    assert len(api.get("/cart", shopper_a.token).json()["items"]) == 2
    assert api.get("/orders", shopper_a.token).json()["items"] == []


def test_a_retry_with_the_same_key_returns_the_same_order(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a checked-out cart
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    key = idempotency_key()
    first = checkout(api, shopper_a, key)
    assert first.status_code == 201
    # When the client retries with the same key (the cart is empty by now)
    retry = checkout(api, shopper_a, key)
    # Then it gets the same order, and nothing more was taken or created
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert stock(api, book["bookId"]) == 4
    assert len(api.get("/orders", shopper_a.token).json()["items"]) == 1


def test_a_key_reused_with_another_body_is_409(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given an order placed with a key and a note
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    key = idempotency_key()
    assert checkout(api, shopper_a, key, json={"note": "first"}).status_code == 201
    # When the key is sent again with another body
    response = checkout(api, shopper_a, key, json={"note": "second"})
    # Then 409 IDEMPOTENCY_CONFLICT
    assert response.status_code == 409
    assert error_code(response) == "IDEMPOTENCY_CONFLICT"


def test_the_idempotency_key_is_required(api: Api, shopper_a: User) -> None:
    # Given a request without Idempotency-Key
    # When the shopper checks out
    response = api.post("/orders", shopper_a.token)
    # Then it is refused as bad input
    assert response.status_code in (400, 422)
    assert "idempotency-key" in str(response.json()["error"]["details"]).lower()


def test_history_is_newest_first_and_paginated(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given three orders placed one after another
    book = new_book(stock=10)
    placed = []
    for _ in range(3):
        api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
        placed.append(checkout(api, shopper_a).json()["orderId"])
    # When the history is read two at a time
    first = api.get("/orders", shopper_a.token, params={"limit": 2}).json()
    second = api.get("/orders", shopper_a.token, params={"limit": 2, "cursor": first["nextCursor"]}).json()
    # Then it lists the orders newest first, across the two pages, then ends
    assert [o["orderId"] for o in first["items"] + second["items"]] == placed[::-1]
    assert second["nextCursor"] is None


def test_another_users_order_is_404(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given an order of shopper A
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    order_id = checkout(api, shopper_a).json()["orderId"]
    # When shopper B asks for it, and lists their own orders
    response = api.get(f"/orders/{order_id}", shopper_b.token)
    listed = api.get("/orders", shopper_b.token).json()["items"]
    # Then 404 (not 403: B learns nothing), and B's history is empty
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert listed == []


def test_unknown_and_malformed_order_ids(api: Api, shopper_a: User) -> None:
    # Given no orders
    # When a well-formed unknown id and a malformed id are read
    unknown = api.get("/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV", shopper_a.token)
    malformed = api.get("/orders/not-an-order", shopper_a.token)
    # Then 404 and 422
    assert unknown.status_code == 404
    assert malformed.status_code == 422
