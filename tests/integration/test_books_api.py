"""BooksFunction: catalog reads for anyone, writes for admins, on DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.conftest import Invoke


def test_create_get_replace_delete(invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any]) -> None:
    # Given an admin creates a book
    book = add_book()
    assert book["price"] == "9.99"
    assert book["isbn"] == "9780306406157"
    # When anyone reads it / Then it is there
    got = invoke("GetBook", bookId=book["bookId"])
    assert got.status == 200
    assert got.body == book
    # When the admin replaces it / Then id and creation time stay, fields change
    replaced = invoke(
        "ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(book), "price": "12.50", "stock": 9}
    )
    assert replaced.status == 200
    assert replaced.body["bookId"] == book["bookId"]
    assert replaced.body["createdAt"] == book["createdAt"]
    assert (replaced.body["price"], replaced.body["stock"]) == ("12.50", 9)
    # When deleted / Then 204 and gone
    deleted = invoke("DeleteBook", claims=admin, bookId=book["bookId"])
    assert deleted.status == 204
    assert deleted.body is None
    assert invoke("GetBook", bookId=book["bookId"]).status == 404
    assert invoke("DeleteBook", claims=admin, bookId=book["bookId"]).status == 404
    assert invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=_input(book)).status == 404


def _input(book: dict[str, Any]) -> dict[str, Any]:
    keys = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    return {k: book[k] for k in keys}


def test_list_paginates_by_title_without_repeats(invoke: Invoke, add_book: Callable[..., Any]) -> None:
    # Given six books
    titles = ["Emma", "The Odyssey", "Beowulf", "A Tale of Two Cities", "Dracula", "Emma Two"]
    for title in titles:
        add_book(title=title)
    # When listed two at a time (limit 2)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": ["2"], **({"cursor": [cursor]} if cursor else {})}
        page = invoke("ListBooks", query=query)
        assert page.status == 200
        seen += [b["title"] for b in page.body["items"]]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    # Then every book comes once, by title ignoring the article
    assert seen == ["Beowulf", "Dracula", "Emma", "Emma Two", "The Odyssey", "A Tale of Two Cities"]


def test_category_filter_and_counts(invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any]) -> None:
    # Given books in two categories
    emma = add_book(title="Emma", category="Fiction")
    add_book(title="Persuasion", category="Fiction")
    add_book(title="The Time Machine", category="Science Fiction")
    # When filtered / Then only that category
    fiction = invoke("ListBooks", query={"category": ["Fiction"]})
    assert [b["title"] for b in fiction.body["items"]] == ["Emma", "Persuasion"]
    assert _counts(invoke) == {"Fiction": 2, "Science Fiction": 1}
    # When a book moves category and another is deleted / Then counts follow
    invoke("ReplaceBook", claims=admin, bookId=emma["bookId"], body={**_input(emma), "category": "Romance"})
    assert _counts(invoke) == {"Fiction": 1, "Romance": 1, "Science Fiction": 1}
    invoke("DeleteBook", claims=admin, bookId=emma["bookId"])
    assert _counts(invoke) == {"Fiction": 1, "Science Fiction": 1}


def _counts(invoke: Invoke) -> dict[str, int]:
    reply = invoke("ListCategories")
    assert reply.status == 200
    return {c["name"]: c["count"] for c in reply.body["items"]}


def test_search_by_word_prefixes_ranked_without_scan(
    invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any], store_calls: list[str]
) -> None:
    # Given books sharing words
    add_book(title="The Time Machine", author="H. G. Wells")
    add_book(title="The War of the Worlds", author="H. G. Wells")
    add_book(title="Wells of Time", author="Anonymous", category="Poetry")
    changed = add_book(title="Old Title", author="Nobody")
    # When searching as a shopper types
    found = invoke("ListBooks", query={"q": ["tim mach"]})
    # Then the book matching every word prefix is found
    assert [b["title"] for b in found.body["items"]] == ["The Time Machine"]
    # And title matches rank above author matches
    wells = invoke("ListBooks", query={"q": ["wells"]})
    assert next(b["title"] for b in wells.body["items"]) == "Wells of Time"
    assert len(wells.body["items"]) == 3
    # And search can be narrowed to a category
    poetry = invoke("ListBooks", query={"q": ["wells"], "category": ["Poetry"]})
    assert [b["title"] for b in poetry.body["items"]] == ["Wells of Time"]
    # And a renamed book is found by its new title only
    invoke("ReplaceBook", claims=admin, bookId=changed["bookId"], body={**_input(changed), "title": "New Dawn"})
    assert invoke("ListBooks", query={"q": ["old title"]}).body["items"] == []
    assert [b["title"] for b in invoke("ListBooks", query={"q": ["dawn"]}).body["items"]] == ["New Dawn"]
    # And no user-facing read scanned the table
    assert "Scan" not in store_calls


def test_search_paginates(invoke: Invoke, add_book: Callable[..., Any]) -> None:
    # Given three matching books
    for title in ("Adventures of Tom", "Adventures of Huck", "Adventures of Alice"):
        add_book(title=title)
    # When paged one at a time / Then all three come, once each
    first = invoke("ListBooks", query={"q": ["adventures"], "limit": ["2"]})
    second = invoke("ListBooks", query={"q": ["adventures"], "limit": ["2"], "cursor": [first.body["nextCursor"]]})
    titles = [b["title"] for b in first.body["items"] + second.body["items"]]
    assert sorted(titles) == ["Adventures of Alice", "Adventures of Huck", "Adventures of Tom"]
    assert second.body["nextCursor"] is None


def test_admin_routes_refuse_others(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], dynamodb: Any
) -> None:
    book = add_book()
    # Given a shopper or nobody / When writing the catalog / Then 403 or 401 and nothing changes
    assert invoke("CreateBook", claims=shopper).status == 403
    assert invoke("ReplaceBook", claims=shopper, bookId=book["bookId"]).status == 403
    assert invoke("DeleteBook", claims=shopper, bookId=book["bookId"]).status == 403
    assert invoke("CreateBook", claims=None).status == 401
    assert (
        invoke("DeleteBook", claims={"sub": "x", "cognito:groups": "administrators"}, bookId=book["bookId"]).status
        == 403
    )
    assert invoke("GetBook", bookId=book["bookId"]).body == book


def test_bad_input_is_refused_with_the_error_shape(invoke: Invoke, admin: dict[str, str]) -> None:
    # Given malformed requests / When sent / Then 4xx in the one error shape, nothing created
    cases = [
        (invoke("CreateBook", claims=admin, raw_body="{not json"), 400, "INVALID_JSON"),
        (invoke("CreateBook", claims=admin, body={"title": "x"}), 422, "VALIDATION_ERROR"),
        (invoke("CreateBook", claims=admin, body=[1, 2]), 422, "VALIDATION_ERROR"),
        (invoke("CreateBook", claims=admin, raw_body="x" * 70_000), 413, "PAYLOAD_TOO_LARGE"),
        (invoke("ListBooks", query={"limit": ["1000"]}), 422, "VALIDATION_ERROR"),
        (invoke("ListBooks", query={"limit": ["abc"]}), 422, "VALIDATION_ERROR"),
        (invoke("ListBooks", query={"cursor": ["garbage!"]}), 400, "INVALID_INPUT"),
        (invoke("GetBook", bookId="bad id!"), 422, "VALIDATION_ERROR"),
        (invoke("GetBook", bookId="../etc/passwd"), 404, "NOT_FOUND"),
        (invoke("GetBook", bookId="no-such-book"), 404, "NOT_FOUND"),
    ]
    for reply, status, code in cases:
        assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
        assert set(reply.body["error"]) == {"code", "message", "details"}
    assert invoke("ListBooks", query=None).body["items"] == []
