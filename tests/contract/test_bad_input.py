"""Bad input never changes anything and never yields a 500: invalid JSON, wrong types, huge bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from contract_support import Api, User, book_body, error_code, idempotency_key

HUGE = 70 * 1024  # over the 64 KB limit


def test_invalid_json_is_400_and_changes_nothing(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book
    book = new_book()
    headers = {"Content-Type": "application/json"}
    # When bodies that are not JSON are sent to the cart and the profile
    cart = api.put(f"/cart/items/{book['bookId']}", shopper_a.token, data='{"quantity": 1', headers=headers)
    profile = api.put("/users/me", shopper_a.token, data="{displayName: Ann}", headers=headers)
    # Then both are 400 INVALID_JSON and the cart is still empty
    for response in (cart, profile):
        assert response.status_code == 400, response.text
        assert error_code(response) == "INVALID_JSON"
    assert api.get("/cart", shopper_a.token).json()["items"] == []


@pytest.mark.parametrize("body", ['"just a string"', "[1, 2]", "null", "42"])
def test_json_of_the_wrong_type_is_422(api: Api, shopper_a: User, body: str) -> None:
    # Given valid JSON that is not an object
    # When it is the body of a profile update
    response = api.put("/users/me", shopper_a.token, data=body, headers={"Content-Type": "application/json"})
    # Then 422
    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"


def test_huge_bodies_are_413_before_anything_changes(
    api: Api, admin: User, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book and bodies over 64 KB
    book = new_book()
    big_book = book_body(description="x" * HUGE)
    big_quantity = '{"quantity": 1, "pad": "' + "x" * HUGE + '"}'
    # When they are sent to every kind of write
    responses = [
        api.post("/books", admin.token, json=big_book),
        api.put(f"/books/{book['bookId']}", admin.token, json=big_book),
        api.put(f"/cart/items/{book['bookId']}", shopper_a.token, data=big_quantity),
        api.put("/users/me", shopper_a.token, json={"displayName": "x" * HUGE}),
        api.post("/orders", shopper_a.token, headers={"Idempotency-Key": idempotency_key()}, data=big_quantity),
    ]
    # Then each is 413 PAYLOAD_TOO_LARGE, and nothing changed
    for response in responses:
        assert response.status_code == 413, response.text
        assert error_code(response) == "PAYLOAD_TOO_LARGE"
    assert api.get(f"/books/{book['bookId']}").json() == book
    assert api.get("/books", params={"category": big_book["category"]}).json()["items"] == []
    assert api.get("/cart", shopper_a.token).json()["items"] == []


def test_a_body_just_under_the_limit_is_read(api: Api, admin: User) -> None:
    # Given a book body of about 60 KB (the description is capped at 5000 characters)
    body = book_body(description="y" * 60_000)
    # When the admin posts it
    response = api.post("/books", admin.token, json=body)
    # Then it reaches the handler, which validates it: 422, not 413
    assert response.status_code == 422
    assert "description" in str(response.json()["error"]["details"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/books/has%20space"),
        ("GET", "/books/" + "a" * 65),
        ("PUT", "/cart/items/bad$id"),
        ("DELETE", "/cart/items/" + "b" * 65),
        ("GET", "/orders/lowercase-not-ulid"),
    ],
)
def test_malformed_path_parameters_are_422(api: Api, shopper_a: User, method: str, path: str) -> None:
    # Given a path parameter outside its pattern
    # When the route is called
    response = api.request(method, path, shopper_a.token, json={"quantity": 1} if method == "PUT" else None)
    # Then 422 (never a 500)
    assert response.status_code == 422, response.text


def test_unknown_routes_and_methods(api: Api) -> None:
    # Given the template's routes
    # When a path that no route has, and a method a path doesn't have, are called
    unknown = api.get("/nothing/here")
    wrong_method = api.request("PATCH", "/books")
    # Then 404 and 405 with Allow listing the path's methods
    assert unknown.status_code == 404
    assert error_code(unknown) == "NOT_FOUND"
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


def test_cors_preflight_is_answered_for_the_storefront_origin(api: Api) -> None:
    # Given a browser preflight from the storefront's origin
    origin = api.base_url.removesuffix("/api")
    # When OPTIONS is sent to a protected route
    response = api.request("OPTIONS", "/cart", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"})
    # Then it is answered without a token, allowing that origin and the headers the API needs
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
