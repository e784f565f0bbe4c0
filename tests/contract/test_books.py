"""Public catalog routes: GET /books (list, paginate, filter, search), GET /books/{bookId}, GET /categories."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from contract_support import Api, error_code, unique

from cloudshelf.domain.search_terms import title_key

BOOK_FIELDS = {
    "bookId",
    "title",
    "author",
    "category",
    "price",
    "stock",
    "description",
    "isbn",
    "imageUrl",
    "createdAt",
}
MONEY = re.compile(r"^\d+\.\d{2}$")


def all_pages(api: Api, query: str, limit: int = 7) -> list[dict[str, Any]]:
    """Every item of a listing, following nextCursor (bounded)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = api.get(f"/books{query}", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_list_books_returns_a_page_of_the_seeded_catalog(api: Api) -> None:
    # Given the seeded catalog (75 books)
    # When anyone lists books without a token
    response = api.get("/books")
    # Then a first page of 20 complete books comes back, with a cursor to the next one
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "nextCursor"}
    assert len(page["items"]) == 20
    assert isinstance(page["nextCursor"], str)
    for book in page["items"]:
        assert set(book) >= BOOK_FIELDS
        assert MONEY.match(book["price"])
        assert book["imageUrl"] == f"/covers/{book['bookId']}.svg"


def test_pagination_visits_every_book_once_in_title_order(api: Api) -> None:
    # Given the seeded catalog
    # When the whole listing is read 7 books at a time
    books = all_pages(api, "")
    # Then every book appears exactly once, sorted by title (articles ignored; the id breaks ties)
    ids = [b["bookId"] for b in books]
    assert len(ids) == len(set(ids)) >= 75
    keys = [(title_key(b["title"]), b["bookId"]) for b in books]
    assert keys == sorted(keys)


def test_category_filter_returns_only_that_category(api: Api, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given three books in a category of their own, and the seeded ones elsewhere
    category = unique("Filter")
    made = {new_book(category=category, title=unique(t))["bookId"] for t in ("Alpha", "Beta", "Gamma")}
    # When books are listed in that category, two at a time
    books = all_pages(api, f"?category={category}", limit=2)
    # Then exactly those three come back
    assert {b["bookId"] for b in books} == made
    assert all(b["category"] == category for b in books)


def test_search_finds_books_by_title_and_author_words(api: Api, new_book: Callable[..., dict[str, Any]]) -> None:
    # Given a book with an unusual title word and author name
    word = "zq" + unique("x").split()[1]
    book = new_book(title=f"The {word.capitalize()} Atlas", author="Quillon Verhoeven")
    # When shoppers search by a title word, an author word prefix and a missing word
    by_title = api.get("/books", params={"q": word}).json()["items"]
    by_author = api.get("/books", params={"q": f"quillo {word[:5]}"}).json()["items"]
    missing = api.get("/books", params={"q": "nosuchwordanywhere"}).json()["items"]
    # Then the first two find it and the last finds nothing
    assert [b["bookId"] for b in by_title] == [book["bookId"]]
    assert book["bookId"] in [b["bookId"] for b in by_author]
    assert missing == []


def test_search_of_the_seeded_catalog(api: Api) -> None:
    # Given the seeded catalog with Pride and Prejudice
    # When a shopper searches for "pride"
    response = api.get("/books", params={"q": "pride"})
    # Then it is found
    assert response.status_code == 200
    assert "pride-and-prejudice" in [b["bookId"] for b in response.json()["items"]]


def test_get_book_returns_the_book(api: Api) -> None:
    # Given a seeded book
    # When it is fetched by id
    response = api.get("/books/pride-and-prejudice")
    # Then the whole book comes back, money as a two-place string
    assert response.status_code == 200
    book = response.json()
    assert set(book) >= BOOK_FIELDS
    assert (book["title"], book["author"]) == ("Pride and Prejudice", "Jane Austen")
    assert MONEY.match(book["price"])


def test_unknown_book_is_404_in_the_error_shape(api: Api) -> None:
    # Given no book with this id
    # When it is fetched
    response = api.get("/books/no-such-book-here")
    # Then 404 NOT_FOUND in the one error shape
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"


def test_categories_have_counts_that_match_the_listing(api: Api) -> None:
    # Given the seeded catalog
    # When the categories are listed
    response = api.get("/categories")
    # Then each count equals the number of books listed in that category
    assert response.status_code == 200
    items = response.json()["items"]
    seeded = {c["name"]: c["count"] for c in items}
    assert {"Fiction", "Science Fiction", "Mystery", "Poetry"} <= set(seeded)
    for name in ("Fiction", "Poetry"):
        assert seeded[name] == len(all_pages(api, f"?category={name}", limit=50))
    assert [c["name"] for c in items] == sorted(c["name"] for c in items)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": "0"}, 422),
        ({"limit": "101"}, 422),
        ({"limit": "ten"}, 422),
        ({"cursor": "not-a-cursor!"}, 400),
        ({"category": "<script>"}, 422),
        ({"q": "x" * 101}, 422),
    ],
)
def test_bad_listing_parameters_are_refused(api: Api, query: dict[str, str], status: int) -> None:
    # Given a malformed query parameter
    # When books are listed with it
    response = api.get("/books", params=query)
    # Then the request is refused as bad input, in the error shape
    assert response.status_code == status
    error_code(response)
