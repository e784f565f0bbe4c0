"""Admin catalog routes: POST /books, PUT /books/{bookId}, DELETE /books/{bookId}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from contract_support import Api, User, book_body, error_code, idempotency_key, if_match, unique


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
    response = api.put(f"/books/{book['bookId']}", admin.token, json=body, headers=if_match(book))
    # Then the book has the new fields, the same id and creation time, and the next version
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["bookId"], replaced["createdAt"]) == (book["bookId"], book["createdAt"])
    assert (replaced["title"], replaced["price"], replaced["stock"]) == (body["title"], "5.00", 9)
    assert replaced["version"] == book["version"] + 1
    # And the counts moved from A to B
    assert category_count(api, old_category) == 0
    assert category_count(api, new_category) == 1


def test_replacing_an_unknown_book_is_404(api: Api, admin: User) -> None:
    # Given no such book
    # When the admin replaces it
    response = api.put("/books/no-such-book-here", admin.token, json=book_body(), headers={"If-Match": '"1"'})
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


# ---------------------------------------------------------------- optimistic writes (issue 11, defect 3)


def _buy(api: Api, shopper: User, book: dict[str, Any], quantity: int) -> Any:
    assert api.put(f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": quantity}).status_code == 200
    return api.post("/orders", shopper.token, headers={"Idempotency-Key": idempotency_key()})


def _editable(book: dict[str, Any]) -> dict[str, Any]:
    keys = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    return {k: book[k] for k in keys}


def test_get_sends_the_version_as_a_strong_etag(api: Api, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given a new book / When read / Then its version is in the body and, quoted, in the ETag
    book = new_book()
    response = api.get(f"/books/{book['bookId']}")
    assert response.json()["version"] == book["version"] == 1
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize(("via", "status"), [("if-match", 412), ("body", 409)])
def test_an_admin_save_never_undoes_a_sale_it_did_not_see(
    api: Api, admin: User, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]], via: str,
    status: int,
) -> None:  # fmt: skip
    # Given a book with 5 copies, opened by the admin
    opened = api.get(f"/books/{new_book(title=unique('The Tiem Machine'), stock=5)['bookId']}")
    book, etag = opened.json(), opened.headers["ETag"]
    # And a shopper buys 3 meanwhile
    assert _buy(api, shopper_a, book, 3).status_code == 201
    # When the admin saves a typo fix with what they read
    fix = {**_editable(book), "title": book["title"].replace("Tiem", "Time")}
    if via == "if-match":
        response = api.put(f"/books/{book['bookId']}", admin.token, json=fix, headers={"If-Match": etag})
    else:
        response = api.put(f"/books/{book['bookId']}", admin.token, json={**fix, "version": book["version"]})
    # Then refused (412 for If-Match, 409 for a body version) with the current book and its ETag
    assert response.status_code == status, response.text
    assert error_code(response) == "VERSION_CONFLICT"
    current = response.json()["error"]["details"]["current"]
    assert (current["stock"], current["title"], current["version"]) == (2, book["title"], book["version"] + 1)
    assert response.headers["ETag"] == f'"{book["version"] + 1}"'
    # And the stock stays 2: no copy can be sold twice
    assert api.get(f"/books/{book['bookId']}").json() == current
    assert api.put(f"/cart/items/{book['bookId']}", shopper_b.token, json={"quantity": 3}).status_code == 409
    # When the admin saves the fix on the current book / Then saved, the sale kept
    saved = api.put(f"/books/{book['bookId']}", admin.token, json={**fix, "stock": 2}, headers=if_match(current))
    assert saved.status_code == 200, saved.text
    assert (saved.json()["title"], saved.json()["stock"]) == (fix["title"], 2)
    assert saved.headers["ETag"] == f'"{current["version"] + 1}"'


def test_a_replace_without_a_version_is_428(api: Api, admin: User, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given a book / When replaced with neither If-Match nor version / Then 428, unchanged
    book = new_book()
    response = api.put(f"/books/{book['bookId']}", admin.token, json={**_editable(book), "stock": 0})
    assert response.status_code == 428, response.text
    assert error_code(response) == "PRECONDITION_REQUIRED"
    assert api.get(f"/books/{book['bookId']}").json() == book


def test_a_delete_with_a_stale_if_match_is_412(
    api: Api, admin: User, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book read at version 1, then sold
    book = new_book(stock=3)
    assert _buy(api, shopper_a, book, 1).status_code == 201
    # When the admin deletes it with If-Match of what they read / Then 412 with the current book, still there
    response = api.delete(f"/books/{book['bookId']}", admin.token, headers=if_match(book))
    assert response.status_code == 412, response.text
    assert error_code(response) == "VERSION_CONFLICT"
    assert response.json()["error"]["details"]["current"]["stock"] == 2
    assert api.get(f"/books/{book['bookId']}").status_code == 200
    # When deleted with the current ETag / Then 204
    etag = response.headers["ETag"]
    assert api.delete(f"/books/{book['bookId']}", admin.token, headers={"If-Match": etag}).status_code == 204


def test_the_storefront_origin_may_send_if_match_and_read_the_etag(
    api: Api, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given the storefront's origin and a book
    origin = api.base_url.removesuffix("/api")
    book = new_book()
    # When it asks to PUT with If-Match / Then the preflight allows the header
    request_headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "if-match",
    }
    preflight = api.request("OPTIONS", f"/books/{book['bookId']}", headers=request_headers)
    assert "If-Match" in preflight.headers["Access-Control-Allow-Headers"]
    # And a read exposes the ETag to the page
    read = api.get(f"/books/{book['bookId']}", headers={"Origin": origin})
    assert "ETag" in read.headers.get("Access-Control-Expose-Headers", "")
