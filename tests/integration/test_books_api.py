"""BooksFunction: catalog reads for anyone, writes for admins, on DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import BOOK, Invoke


def _if_match(book: dict[str, Any]) -> dict[str, list[str]]:
    """The precondition of a write made by someone who read ``book``."""
    return {"If-Match": [f'"{book["version"]}"']}


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
        "ReplaceBook",
        claims=admin,
        bookId=book["bookId"],
        body={**_input(book), "price": "12.50", "stock": 9},
        headers=_if_match(book),
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
    assert (
        invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=_input(book), headers=_if_match(book)).status
        == 404
    )


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
    moved = invoke(
        "ReplaceBook",
        claims=admin,
        bookId=emma["bookId"],
        body={**_input(emma), "category": "Romance"},
        headers=_if_match(emma),
    )
    assert moved.status == 200, moved.body
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
    renamed = invoke(
        "ReplaceBook",
        claims=admin,
        bookId=changed["bookId"],
        body={**_input(changed), "title": "New Dawn"},
        headers=_if_match(changed),
    )
    assert renamed.status == 200, renamed.body
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


# ---------------------------------------------------------------- optimistic book writes (issue 11, defect 3)


def _buy(invoke: Invoke, shopper: dict[str, str], book: dict[str, Any], quantity: int, key: str) -> Any:
    """A shopper puts ``quantity`` copies in the cart and checks out; the checkout's reply (or the cart's refusal)."""
    put = invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": quantity})
    if put.status != 200:
        return put
    return invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": [key]})


def _etag(reply: Any) -> str:
    values = {k.lower(): v for k, v in reply.headers.items()}.get("etag", [])
    assert len(values) == 1, reply.headers
    etag: str = values[0]
    return etag


def test_reads_carry_the_version_and_an_etag(invoke: Invoke, add_book: Callable[..., Any]) -> None:
    # Given a book just created / Then it has version 1 and the reply an ETag naming it
    book = add_book(title="Versioned")
    assert book["version"] == 1
    # When read alone / Then the body and the strong ETag carry the version
    got = invoke("GetBook", bookId=book["bookId"])
    assert got.body["version"] == 1
    assert _etag(got) == '"1"'
    # And listing and search items carry it too
    assert [b["version"] for b in invoke("ListBooks", query=None).body["items"]] == [1]
    assert [b["version"] for b in invoke("ListBooks", query={"q": ["versioned"]}).body["items"]] == [1]


@pytest.mark.parametrize("via", ["if-match", "body"])
def test_an_admin_save_never_undoes_a_sale_it_did_not_see(
    invoke: Invoke,
    admin: dict[str, str],
    shopper: dict[str, str],
    other_shopper: dict[str, str],
    add_book: Callable[..., Any],
    via: str,
) -> None:
    # Given a book with 5 copies, opened by the admin (version and ETag read)
    book = add_book(title="The Tiem Machine", stock=5)
    opened = invoke("GetBook", bookId=book["bookId"])
    read_version = opened.body["version"]
    # And a shopper buys 3 meanwhile
    assert _buy(invoke, shopper, book, 3, "sale-one-000001").status == 201
    # When the admin saves a typo fix with the values (and the version) they read
    fix = {**_input(opened.body), "title": "The Time Machine"}
    if via == "if-match":
        reply = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=fix, headers=_if_match(opened.body))
    else:
        reply = invoke(
            "ReplaceBook", claims=admin, bookId=book["bookId"], body={**fix, "version": read_version},
            headers={"If-Match": []},
        )  # fmt: skip
    # Then the save is refused: 412 when the version came as If-Match, 409 when in the body,
    # with the current book (stock 2) in the details and its ETag
    assert reply.status == (412 if via == "if-match" else 409), reply.body
    assert reply.body["error"]["code"] == "VERSION_CONFLICT"
    current = reply.body["error"]["details"]["current"]
    assert (current["stock"], current["title"], current["version"]) == (2, "The Tiem Machine", read_version + 1)
    assert _etag(reply) == f'"{read_version + 1}"'
    # And the stock stays 2, the title unchanged
    stored = invoke("GetBook", bookId=book["bookId"]).body
    assert (stored["stock"], stored["title"]) == (2, "The Tiem Machine")
    # And no copy is oversold: 3 more can't be bought, 2 can
    assert _buy(invoke, other_shopper, book, 3, "sale-two-000001").body["error"]["code"] == "OUT_OF_STOCK"
    assert _buy(invoke, other_shopper, book, 2, "sale-two-000002").status == 201
    assert invoke("GetBook", bookId=book["bookId"]).body["stock"] == 0
    # When the admin applies the fix again on the current book / Then it is saved, the sales kept
    latest = invoke("GetBook", bookId=book["bookId"]).body
    saved = invoke(
        "ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(latest), "title": "The Time Machine"},
        headers=_if_match(latest),
    )  # fmt: skip
    assert saved.status == 200, saved.body
    assert (saved.body["title"], saved.body["stock"], saved.body["version"]) == (
        "The Time Machine",
        0,
        latest["version"] + 1,
    )


def test_if_match_happy_path_and_a_second_save_with_the_old_etag(
    invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any]
) -> None:
    # Given a book and its ETag
    book = add_book(stock=4)
    etag = _etag(invoke("GetBook", bookId=book["bookId"]))
    # When the admin replaces it with If-Match: that ETag
    body = {**_input(book), "price": "11.00"}
    saved = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=body, headers={"If-Match": [etag]})
    # Then 200 with the next version, and the new ETag
    assert saved.status == 200, saved.body
    assert (saved.body["price"], saved.body["version"]) == ("11.00", 2)
    assert _etag(saved) == '"2"'
    assert invoke("GetBook", bookId=book["bookId"]).body == saved.body
    # When the same ETag is sent again (a second tab) / Then 412 with the current book, nothing written
    again = invoke(
        "ReplaceBook", claims=admin, bookId=book["bookId"], body={**body, "price": "1.00"}, headers={"If-Match": [etag]}
    )
    assert (again.status, again.body["error"]["code"]) == (412, "VERSION_CONFLICT")
    assert again.body["error"]["details"]["current"] == saved.body
    assert invoke("GetBook", bookId=book["bookId"]).body["price"] == "11.00"


def test_a_write_without_a_version_is_428(invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any]) -> None:
    # Given a book
    book = add_book()
    # When the admin replaces it without If-Match or version (or with If-Match: *, which names no version)
    for headers in ({"If-Match": []}, {"If-Match": ["*"]}):
        reply = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=_input(book), headers=headers)
        # Then 428 PRECONDITION_REQUIRED in the error shape, and nothing changed
        assert (reply.status, reply.body["error"]["code"]) == (428, "PRECONDITION_REQUIRED"), reply.body
        assert set(reply.body["error"]) == {"code", "message", "details"}
    assert invoke("GetBook", bookId=book["bookId"]).body == book


def test_the_version_in_the_body(invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any]) -> None:
    # Given a book at version 1
    book = add_book(stock=3)
    no_header = {"If-Match": []}
    # When replaced with "version": 1 in the body / Then saved as version 2
    first = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(book), "stock": 7, "version": 1},
                   headers=no_header)  # fmt: skip
    assert first.status == 200, first.body
    assert (first.body["stock"], first.body["version"]) == (7, 2)
    # When replaced again with the old version / Then 409 VERSION_CONFLICT with the current book
    stale = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(book), "stock": 1, "version": 1},
                   headers=no_header)  # fmt: skip
    assert (stale.status, stale.body["error"]["code"]) == (409, "VERSION_CONFLICT")
    assert stale.body["error"]["details"]["current"] == first.body
    assert invoke("GetBook", bookId=book["bookId"]).body["stock"] == 7
    # When If-Match and the body's version disagree / Then 400, nothing written
    both = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(book), "version": 2},
                  headers={"If-Match": ['"1"']})  # fmt: skip
    assert (both.status, both.body["error"]["code"]) == (400, "INVALID_INPUT"), both.body
    # When they agree / Then it is a normal conditional write
    agree = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body={**_input(book), "version": 2},
                   headers={"If-Match": ['"2"']})  # fmt: skip
    assert (agree.status, agree.body["version"]) == (200, 3)


@pytest.mark.parametrize("value", ['W/"1"', "1", '"1", "2"', '"abc"', '""'])
def test_a_malformed_if_match_is_refused(
    invoke: Invoke, admin: dict[str, str], add_book: Callable[..., Any], value: str
) -> None:
    # Given a book / When If-Match is not one strong ETag as GET sent it / Then 422 naming the header
    book = add_book()
    reply = invoke("ReplaceBook", claims=admin, bookId=book["bookId"], body=_input(book), headers={"If-Match": [value]})
    assert (reply.status, reply.body["error"]["code"]) == (422, "VALIDATION_ERROR"), reply.body
    assert "if-match" in str(reply.body["error"]["details"]).lower()
    assert invoke("GetBook", bookId=book["bookId"]).body == book


def test_create_refuses_a_client_version_and_answers_with_an_etag(invoke: Invoke, admin: dict[str, str]) -> None:
    # Given a create body with a version / Then 422: the server numbers versions
    refused = invoke("CreateBook", claims=admin, body={**BOOK, "version": 7})
    assert (refused.status, refused.body["error"]["code"]) == (422, "VALIDATION_ERROR")
    # And a plain create answers 201 with version 1 and its ETag
    created = invoke("CreateBook", claims=admin, body=BOOK)
    assert (created.status, created.body["version"], _etag(created)) == (201, 1, '"1"')


def test_delete_with_a_stale_if_match_is_412(
    invoke: Invoke, admin: dict[str, str], shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    # Given a book the admin read at version 1, then sold once
    book = add_book(stock=5)
    assert _buy(invoke, shopper, book, 1, "delete-sale-0001").status == 201
    # When the admin deletes it with If-Match: "1"
    stale = invoke("DeleteBook", claims=admin, bookId=book["bookId"], headers=_if_match(book))
    # Then 412 with the current book, and it is still there
    assert (stale.status, stale.body["error"]["code"]) == (412, "VERSION_CONFLICT"), stale.body
    current = stale.body["error"]["details"]["current"]
    assert (current["stock"], current["version"]) == (4, 2)
    assert _etag(stale) == '"2"'
    assert invoke("GetBook", bookId=book["bookId"]).status == 200
    # When deleted with the current ETag / Then 204
    assert invoke("DeleteBook", claims=admin, bookId=book["bookId"], headers={"If-Match": ['"2"']}).status == 204
    assert invoke("GetBook", bookId=book["bookId"]).status == 404
    # And without If-Match a delete works as before
    other = add_book(title="Another")
    assert invoke("DeleteBook", claims=admin, bookId=other["bookId"], headers={"If-Match": []}).status == 204


def test_the_check_and_the_write_are_one_conditional_write(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a book at version 1, and a sale that lands between the domain's read and its write
    from cloudshelf.domain import books as book_rules
    from cloudshelf.errors import VersionConflict
    from cloudshelf.models.books import BookInput
    from cloudshelf.repositories import factory

    book = add_book(stock=5)
    repo = factory.book_repository()
    write = repo.replace

    def sale_then_write(new: Any, previous: Any) -> None:
        assert _buy(invoke, shopper, book, 3, "between-read-write").status == 201
        write(new, previous)

    monkeypatch.setattr(repo, "replace", sale_then_write)
    data = BookInput.model_validate({**_input(book), "title": "Late Fix"})
    # When the admin's replace with version 1 runs / Then the store's condition refuses it
    with pytest.raises(VersionConflict) as refused:
        book_rules.replace_book(repo, book["bookId"], data, expected_version=1)
    assert refused.value.details["current"]["stock"] == 2
    monkeypatch.undo()
    stored = invoke("GetBook", bookId=book["bookId"]).body
    assert (stored["stock"], stored["title"]) == (2, book["title"])
