"""The caller's cart: GET /cart, PUT and DELETE /cart/items/{bookId}, DELETE /cart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from contract_support import Api, User, book_body, error_code, if_match


def test_a_new_cart_is_empty(api: Api, shopper_a: User) -> None:
    # Given a shopper who never added anything
    # When they read their cart
    response = api.get("/cart", shopper_a.token)
    # Then it is empty with a zero total
    assert response.status_code == 200
    cart = response.json()
    assert (cart["items"], cart["total"]) == ([], "0.00")


def test_adding_a_book_prices_it_on_the_server(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book at 12.50
    book = new_book(price="12.50", stock=10)
    # When the shopper puts 3 copies in the cart
    response = api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 3})
    # Then the cart shows the catalog price, the line total and the total, and an expiry about a week away
    assert response.status_code == 200, response.text
    cart = response.json()
    [line] = cart["items"]
    assert (line["bookId"], line["quantity"], line["unitPrice"], line["lineTotal"]) == (
        book["bookId"],
        3,
        "12.50",
        "37.50",
    )
    assert cart["total"] == "37.50"
    expires = datetime.fromisoformat(cart["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7, minutes=1)
    # And reading the cart shows the same
    assert api.get("/cart", shopper_a.token).json()["items"] == cart["items"]


def test_prices_can_not_come_from_the_client(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book
    book = new_book(price="30.00")
    # When the shopper sends a price with the quantity
    response = api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1, "unitPrice": "0.01"})
    # Then the body is refused and the cart stays empty
    assert response.status_code == 422
    assert api.get("/cart", shopper_a.token).json()["items"] == []


def test_cart_prices_follow_the_catalog(
    api: Api, admin: User, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given 2 copies of a book in the cart at 10.00
    book = new_book(price="10.00", stock=10)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 2})
    # When the admin changes its price to 11.25
    body = book_body(title=book["title"], category=book["category"], price="11.25", stock=10)
    assert api.put(f"/books/{book['bookId']}", admin.token, json=body, headers=if_match(book)).status_code == 200
    # Then the cart is priced at the new price
    cart = api.get("/cart", shopper_a.token).json()
    assert (cart["items"][0]["unitPrice"], cart["total"]) == ("11.25", "22.50")


def test_changing_removing_and_clearing(api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given two books in the cart
    first, second = new_book(price="4.00"), new_book(price="6.00")
    api.put(f"/cart/items/{first['bookId']}", shopper_a.token, json={"quantity": 1})
    api.put(f"/cart/items/{second['bookId']}", shopper_a.token, json={"quantity": 1})
    # When the first one's quantity is set to 4 (not added to)
    cart = api.put(f"/cart/items/{first['bookId']}", shopper_a.token, json={"quantity": 4}).json()
    # Then its line has 4 copies
    assert {i["bookId"]: i["quantity"] for i in cart["items"]} == {first["bookId"]: 4, second["bookId"]: 1}
    assert cart["total"] == str(Decimal("4.00") * 4 + Decimal("6.00"))
    # When the second one is removed
    cart = api.delete(f"/cart/items/{second['bookId']}", shopper_a.token).json()
    # Then only the first is left
    assert [i["bookId"] for i in cart["items"]] == [first["bookId"]]
    # When the cart is cleared
    response = api.delete("/cart", shopper_a.token)
    # Then 204 and an empty cart
    assert response.status_code == 204
    assert api.get("/cart", shopper_a.token).json()["items"] == []


def test_carts_are_per_user(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given shopper A has a book in the cart
    book = new_book()
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    # When shopper B reads and clears their own cart
    seen_by_b = api.get("/cart", shopper_b.token).json()
    api.delete("/cart", shopper_b.token)
    # Then B saw nothing and A's cart is untouched
    assert seen_by_b["items"] == []
    assert len(api.get("/cart", shopper_a.token).json()["items"]) == 1


def test_unknown_book_is_404(api: Api, shopper_a: User) -> None:
    # Given no such book
    # When a shopper adds it
    response = api.put("/cart/items/no-such-book-here", shopper_a.token, json={"quantity": 1})
    # Then 404 and the cart stays empty
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert api.get("/cart", shopper_a.token).json()["items"] == []


def test_more_than_the_stock_is_409_with_the_available_quantity(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book with 3 in stock
    book = new_book(stock=3)
    # When a shopper asks for 4
    response = api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 4})
    # Then 409 OUT_OF_STOCK says 3 are available
    assert response.status_code == 409
    assert error_code(response) == "OUT_OF_STOCK"
    [short] = response.json()["error"]["details"]["books"]
    assert (short["bookId"], short["requested"], short["available"]) == (book["bookId"], 4, 3)


@pytest.mark.parametrize("quantity", [0, -1, -1000, 21, 1001, 10**12, "two", 1.5, None])
def test_quantity_limits(api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]], quantity: Any) -> None:
    # Given a book with plenty of stock
    book = new_book(stock=5000)
    # When a shopper asks for a quantity outside 1..20 (or not a number)
    response = api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": quantity})
    # Then 422 and the cart stays empty
    assert response.status_code == 422, response.text
    assert error_code(response) in ("VALIDATION_ERROR", "LIMIT_EXCEEDED")
    assert api.get("/cart", shopper_a.token).json()["items"] == []
