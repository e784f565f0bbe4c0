"""Admin catalog routes: POST /books, PUT /books/{bookId}, DELETE /books/{bookId}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from contract_support import Api, User, book_body, error_code, unique


def category_count(api: Api, name: str) -> int:
    counts = {c["name"]: c["count"] for c in api.get("/categories").json()["items"]}
    return counts.get(name, 0)


def test_admin_creates_a_book(api: Api, admin: User) -> None:
    # Given a valid book body
    body = book_body(price="19.90", stock=3)
    # When the admin posts it
    response = api.post("/books", admin.token, json=body)
    # Then 201 with the stored book: a server-made id, the ISBN's digits, money as a string
    assert response.status_code == 201, response.text
    book = response.json()
    assert book["bookId"]
    assert book["title"] == body["title"]
    assert (book["price"], book["stock"], book["isbn"]) == ("19.90", 3, "9780306406157")
    assert book["createdAt"].endswith("Z")
    # And it can be read back, and its category is counted
    assert api.get(f"/books/{book['bookId']}").json() == book
    assert category_count(api, body["category"]) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": 9.99}, "price"),
        ({"price": "0.00"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": "many"}, "stock"),
        ({"isbn": "978-0-306-40615-8"}, "isbn"),
        ({"title": ""}, "title"),
        ({"category": "bad/category"}, "category"),
        ({"imageUrl": "javascript:alert(1)"}, "imageUrl"),
        ({"bookId": "chosen-by-client"}, "bookId"),
        ({"createdAt": "2020-01-01T00:00:00Z"}, "createdAt"),
    ],
)
def test_invalid_book_bodies_are_422_and_create_nothing(
    api: Api, admin: User, change: dict[str, Any], field: str
) -> None:
    # Given a book body with one bad or server-owned field
    body = book_body(**change)
    # When the admin posts it
    response = api.post("/books", admin.token, json=body)
    # Then 422 naming the field, and the category stays empty
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert field in str(response.json()["error"]["details"])
    assert category_count(api, body["category"]) == 0


def test_missing_fields_are_422(api: Api, admin: User) -> None:
    # Given a body without title, author and price
    # When the admin posts it
    response = api.post("/books", admin.token, json={"category": "Fiction", "stock": 1, "isbn": "9780306406157"})
    # Then 422 names every missing field
    assert response.status_code == 422
    details = str(response.json()["error"]["details"])
    assert all(name in details for name in ("title", "author", "price"))


def test_admin_replaces_a_book_and_counts_follow_the_category(
    api: Api, admin: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book in category A
    book = new_book()
    old_category, new_category = book["category"], unique("Moved")
    # When the admin replaces it with a body in category B
    body = book_body(title="Replaced " + book["title"], category=new_category, price="5.00", stock=9)
    response = api.put(f"/books/{book['bookId']}", admin.token, json=body)
    # Then the book has the new fields, the same id and creation time
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["bookId"], replaced["createdAt"]) == (book["bookId"], book["createdAt"])
    assert (replaced["title"], replaced["price"], replaced["stock"]) == (body["title"], "5.00", 9)
    # And the counts moved from A to B
    assert category_count(api, old_category) == 0
    assert category_count(api, new_category) == 1


def test_replacing_an_unknown_book_is_404(api: Api, admin: User) -> None:
    # Given no such book
    # When the admin replaces it
    response = api.put("/books/no-such-book-here", admin.token, json=book_body())
    # Then 404, and nothing was created
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert api.get("/books/no-such-book-here").status_code == 404


def test_admin_deletes_a_book(api: Api, admin: User, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given a book, alone in its category
    book = new_book()
    # When the admin deletes it
    response = api.delete(f"/books/{book['bookId']}", admin.token)
    # Then 204 with no body; it is gone and its category with it
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/books/{book['bookId']}").status_code == 404
    assert category_count(api, book["category"]) == 0
    # And deleting it again is 404
    assert api.delete(f"/books/{book['bookId']}", admin.token).status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_shoppers_may_not_change_the_catalog(
    api: Api, shopper_a: User, method: str, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a signed-in shopper (not in group admin) and a book
    book = new_book()
    path = "/books" if method == "POST" else f"/books/{book['bookId']}"
    body = book_body() if method != "DELETE" else None
    # When the shopper tries a catalog write
    response = api.request(method, path, shopper_a.token, json=body)
    # Then 403 FORBIDDEN, and the book is unchanged
    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"
    assert api.get(f"/books/{book['bookId']}").json() == book
