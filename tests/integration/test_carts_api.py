"""CartsFunction: one cart per user, priced from the catalog, expiring by TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Invoke


def test_add_change_remove_clear(invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any]) -> None:
    a = add_book(title="Emma", price="8.99", stock=10)
    b = add_book(title="Persuasion", price="7.25", stock=10)
    # Given an empty cart / When two books are added / Then lines and total come from the catalog
    assert invoke("GetCart", claims=shopper).body["items"] == []
    invoke("PutCartItem", claims=shopper, bookId=a["bookId"], body={"quantity": 2})
    cart = invoke("PutCartItem", claims=shopper, bookId=b["bookId"], body={"quantity": 1}).body
    assert cart["total"] == "25.23"
    assert {line["bookId"]: line["lineTotal"] for line in cart["items"]} == {a["bookId"]: "17.98", b["bookId"]: "7.25"}
    # When a quantity changes / Then the line is replaced, not added to
    cart = invoke("PutCartItem", claims=shopper, bookId=a["bookId"], body={"quantity": 3}).body
    assert cart["total"] == "34.22"
    # When a line is removed / Then the rest stays
    cart = invoke("DeleteCartItem", claims=shopper, bookId=b["bookId"]).body
    assert [line["bookId"] for line in cart["items"]] == [a["bookId"]]
    # When cleared / Then 204 and empty
    assert invoke("ClearCart", claims=shopper).status == 204
    assert invoke("GetCart", claims=shopper).body["items"] == []


def test_prices_are_read_at_read_time(
    invoke: Invoke, shopper: dict[str, str], admin: dict[str, str], add_book: Callable[..., Any]
) -> None:
    # Given a book in the cart
    book = add_book(price="10.00")
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2})
    # When the admin changes its price / Then the cart shows the new price
    fields = {k: book[k] for k in ("title", "author", "category", "stock", "description", "isbn")}
    repriced = invoke(
        "ReplaceBook",
        claims=admin,
        bookId=book["bookId"],
        body={**fields, "price": "12.00", "version": book["version"]},
        headers={"If-Match": []},
    )
    assert repriced.status == 200, repriced.body
    assert invoke("GetCart", claims=shopper).body["total"] == "24.00"
    # When the book is deleted / Then its line disappears from the priced cart
    invoke("DeleteBook", claims=admin, bookId=book["bookId"])
    assert invoke("GetCart", claims=shopper).body["items"] == []


def test_carts_are_private(
    invoke: Invoke, shopper: dict[str, str], other_shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    # Given A's cart / When B reads or clears theirs / Then A's is untouched
    book = add_book()
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1})
    assert invoke("GetCart", claims=other_shopper).body["items"] == []
    invoke("ClearCart", claims=other_shopper)
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 1
    # And without a verified identity the cart routes refuse
    assert invoke("GetCart", claims=None).status == 401


@pytest.mark.parametrize(
    ("quantity", "status", "code"),
    [
        (6, 409, "OUT_OF_STOCK"),
        (21, 422, "VALIDATION_ERROR"),  # beyond the stated maximum (QuantityInput: 1..20)
        (0, 422, "VALIDATION_ERROR"),
        (-3, 422, "VALIDATION_ERROR"),
    ],
)
def test_quantity_rules(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], quantity: int, status: int, code: str
) -> None:
    # Given a book with stock 5 / When a bad quantity is asked / Then the error says why and nothing is stored
    book = add_book(stock=5)
    reply = invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": quantity})
    assert (reply.status, reply.body["error"]["code"]) == (status, code)
    if code == "OUT_OF_STOCK":
        assert reply.body["error"]["details"]["books"][0]["available"] == 5
    assert invoke("GetCart", claims=shopper).body["items"] == []


def test_unknown_book_and_bad_bodies(invoke: Invoke, shopper: dict[str, str]) -> None:
    # Given no such book / When added / Then 404
    assert invoke("PutCartItem", claims=shopper, bookId="nope", body={"quantity": 1}).status == 404
    # And malformed bodies are 400/422
    assert invoke("PutCartItem", claims=shopper, bookId="nope", raw_body="{").status == 400
    assert invoke("PutCartItem", claims=shopper, bookId="nope", body={"quantity": "lots"}).status == 422
    assert invoke("PutCartItem", claims=shopper, bookId="nope", body={"quantity": 1, "price": "0.01"}).status == 422


def test_line_limit(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit of two lines per cart
    from tests.integration.conftest import reset_caches

    monkeypatch.setenv("CLOUDSHELF_MAX_CART_LINES", "2")
    reset_caches()
    books = [add_book(title=f"Book {i}") for i in range(3)]
    for book in books[:2]:
        assert invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1}).status == 200
    # When a third book is added / Then 422 and the cart keeps two lines
    reply = invoke("PutCartItem", claims=shopper, bookId=books[2]["bookId"], body={"quantity": 1})
    assert (reply.status, reply.body["error"]["code"]) == (422, "LIMIT_EXCEEDED")
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 2


def test_every_write_sets_the_ttl_and_expired_carts_are_not_served(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], dynamodb: Any
) -> None:
    book = add_book()
    # Given a cart just written / Then its TTL attribute is 7 days ahead (epoch seconds)
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1})
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("CartsTable"))
    key = {"userId": {"S": shopper["sub"]}, "cartId": {"S": "CURRENT"}}
    expires = int(dynamodb.get_item(TableName=table, Key=key)["Item"]["expiresAt"]["N"])
    assert abs(expires - (time.time() + 7 * 86400)) < 60
    # When the expiry passes but DynamoDB has not deleted the item yet
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET expiresAt = :e",
        ExpressionAttributeValues={":e": {"N": str(int(time.time()) - 5)}},
    )
    # Then the cart reads as empty and says it expired
    cart = invoke("GetCart", claims=shopper).body
    assert cart["items"] == []
    assert cart["expired"] is True
    # And the next write starts a fresh cart with a fresh expiry
    cart = invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2}).body
    assert [line["quantity"] for line in cart["items"]] == [2]
    assert cart["expired"] is False
    assert int(dynamodb.get_item(TableName=table, Key=key)["Item"]["expiresAt"]["N"]) > time.time() + 6 * 86400


def test_cart_writes_keep_working_where_checkout_cannot_be_built(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a configuration where checkout can't run (books and orders split across stores)
    from cloudshelf.api import deps
    from cloudshelf.repositories import factory

    book = add_book(stock=5)

    def split() -> Any:
        raise RuntimeError("books and orders move to 'postgres' together: checkout spans both")

    split.cache_clear = lambda: None  # type: ignore[attr-defined]  # the fixtures reset the factories
    monkeypatch.setattr(factory, "checkout_repository", split)
    # When the shopper changes the cart / Then it works: only settling a claim needs checkout
    assert deps.claim_settler() is None
    reply = invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2})
    assert (reply.status, reply.body["items"][0]["quantity"]) == (200, 2)
