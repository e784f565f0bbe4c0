"""Unrestricted resource consumption: body size, page size, cart and order lines, string lengths, cursors.

The body limit is enforced twice: by the local gateway (as a deployment's edge would) and
by every function itself (API Gateway lets 10 MB through). Both use ``settings.max_body_bytes``
and count bytes, not characters.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from security_support import (
    ADMIN_CLAIMS,
    SHOPPER_CLAIMS,
    Api,
    Functions,
    LambdaContext,
    User,
    error_code,
    idempotency_key,
)

from cloudshelf.cursor import encode_cursor
from cloudshelf.settings import Settings, get_settings
from cloudshelf_dev.events import claims_for, proxy_event
from cloudshelf_dev.handlers import handler_for
from cloudshelf_dev.server import Stack
from cloudshelf_dev.template import functions

LIMITS = Settings()
BOOK = {"title": "x", "author": "Limit Author", "category": "Limits", "price": "3.10", "isbn": "978-0-306-40615-7"}


def body_of_exactly(size: int) -> bytes:
    """A JSON profile update of exactly ``size`` bytes (it has an unknown field: valid JSON, invalid input)."""
    head, tail = b'{"displayName": "x", "pad": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_every_function_has_the_body_limit_of_the_settings() -> None:
    # Given the template's function environments / Then none overrides the limit the gateway mirrors
    for spec in functions():
        assert int(spec.environment.get("CLOUDSHELF_MAX_BODY_BYTES", LIMITS.max_body_bytes)) == LIMITS.max_body_bytes


def test_the_gateway_refuses_one_byte_over_the_limit_before_the_handler(api: Api, shopper_a: User) -> None:
    limit = LIMITS.max_body_bytes
    headers = {"Content-Type": "application/json"}
    # When exactly the limit is sent / Then the handler reads it (and refuses the unknown field): 422, with a request id
    at_limit = api.put("/users/me", shopper_a.token, data=body_of_exactly(limit), headers=headers)
    assert at_limit.status_code == 422, at_limit.text
    assert "x-amzn-RequestId" in at_limit.headers
    # When one byte more is sent, with a Content-Length or chunked / Then 413 from the gateway: no handler ran
    over = api.put("/users/me", shopper_a.token, data=body_of_exactly(limit + 1), headers=headers)
    chunked = api.put("/users/me", shopper_a.token, data=iter([body_of_exactly(limit + 1)]), headers=headers)
    for response in (over, chunked):
        assert response.status_code == 413, response.text
        assert error_code(response) == "PAYLOAD_TOO_LARGE"
        assert "x-amzn-RequestId" not in response.headers


@pytest.fixture
def users_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., dict[str, Any]]]:
    """UsersFunction's handler in-process, as API Gateway in AWS would call it (no gateway limit in front)."""
    monkeypatch.setenv("CLOUDSHELF_USERS_TABLE", "no-such-table")  # the precheck must answer before any store
    get_settings.cache_clear()
    handler = handler_for("UsersFunction")

    def call(body: bytes) -> dict[str, Any]:
        event = proxy_event(
            "PUT",
            "/users/me",
            "/users/me",
            headers={"Content-Type": ["application/json"]},
            body=body,
            claims=claims_for("limit-user", "limit@example.com"),
        )
        return handler(event, LambdaContext())

    yield call
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (body_of_exactly(LIMITS.max_body_bytes + 1), 413),
        # fewer characters than the limit, more bytes: two bytes each
        (('{"displayName": "' + "é" * (LIMITS.max_body_bytes // 2) + '"}').encode(), 413),
        # not UTF-8: the event carries it base64-encoded, a third longer than the bytes
        (b"\xff" * (LIMITS.max_body_bytes + 1), 413),
        (b"\xff" * (LIMITS.max_body_bytes - 10), 400),
    ],
    ids=["ascii-one-over", "two-byte-characters", "binary-one-over", "binary-under"],
)
def test_every_function_refuses_bodies_over_the_limit_in_bytes(
    users_handler: Callable[..., dict[str, Any]], body: bytes, status: int
) -> None:
    # When a function is invoked directly with a large body / Then the precheck answers by its byte size
    answer = users_handler(body)
    assert answer["statusCode"] == status, answer["body"][:200]
    expected = "PAYLOAD_TOO_LARGE" if status == 413 else "INVALID_JSON"
    assert json.loads(answer["body"])["error"]["code"] == expected


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/books", {"limit": "101"}),
        ("/books", {"limit": "0"}),
        ("/books", {"limit": "-1"}),
        ("/books", {"limit": "1e9"}),
        ("/books", {"limit": "99999999999999999999999"}),
        ("/books", {"q": "x" * 101}),
        ("/books", {"cursor": "c" * 1025}),
        ("/books", {"category": "x" * 49}),
        ("/orders", {"limit": "101"}),
        ("/orders", {"limit": "0"}),
        ("/orders", {"cursor": "c" * 1025}),
    ],
)
def test_page_sizes_and_query_lengths_are_bounded(api: Api, shopper_a: User, path: str, params: dict[str, str]) -> None:
    response = api.get(path, shopper_a.token, params=params)
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"


def test_the_largest_page_is_bounded(api: Api) -> None:
    page = api.get("/books", params={"limit": "100"})
    assert page.status_code == 200
    assert len(page.json()["items"]) <= 100


def test_cursors_are_bound_to_their_query_and_caller(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given A with two orders, and A's cursor to the second page
    book = new_book(stock=10)
    for _ in range(2):
        api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
        assert api.post("/orders", shopper_a.token, headers={"Idempotency-Key": idempotency_key()}).status_code == 201
    cursor = api.get("/orders", shopper_a.token, params={"limit": 1}).json()["nextCursor"]
    assert cursor
    books_cursor = api.get("/books", params={"limit": 1}).json()["nextCursor"]
    # When B pages with A's cursor / Then B sees B's own (no) orders
    page = api.get("/orders", shopper_b.token, params={"cursor": cursor})
    assert page.status_code in (200, 400), page.text
    if page.status_code == 200:
        assert page.json()["items"] == []
    # When cursors are used on another query, or tampered with / Then 400, never a 500
    flipped = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for used, on in ((books_cursor, "/orders"), (cursor, "/books"), (flipped, "/orders"), ("%%%", "/orders")):
        response = api.get(on, shopper_a.token, params={"cursor": used})
        assert response.status_code == 400, (on, response.text)
        assert error_code(response) == "INVALID_INPUT"


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CRAFTED_CURSORS = [
    ("/books", {}, encode_cursor("books", {"t": "", "id": ""})),
    ("/books", {}, encode_cursor("books", {"t": "x"})),
    ("/books", {}, encode_cursor("books", {"t": 5, "id": 7})),
    ("/books", {"category": "Fiction"}, encode_cursor("books", {"t": "z" * 300, "id": "a" * 300})),
    ("/books", {"q": "time"}, encode_cursor("search", {"o": "abc"})),
    ("/books", {"q": "time"}, encode_cursor("search", {"o": -5})),
    ("/books", {"q": "time"}, encode_cursor("search", {"o": 10**15})),
    ("/orders", {}, encode_cursor("orders", {"id": ""})),
    ("/orders", {}, encode_cursor("orders", {"id": "x" * 600})),
    ("/orders", {}, encode_cursor("orders", {"id": 12})),
    ("/orders", {}, _raw_cursor("[1]")),
    ("/orders", {}, _raw_cursor("null")),
    ("/books", {}, _raw_cursor("1")),
    ("/books", {}, _raw_cursor('"books"')),
]


@pytest.mark.parametrize(("path", "params", "cursor"), CRAFTED_CURSORS)
def test_crafted_cursors_are_refused_or_harmless_never_a_500(
    api: Api, shopper_a: User, path: str, params: dict[str, str], cursor: str
) -> None:
    # Given a cursor made by hand: the right encoding, values the server never issues
    # When it is used / Then the answer is a 400, or a page of the caller's own data: never a 5xx
    response = api.get(path, shopper_a.token, params={**params, "cursor": cursor})
    assert response.status_code in (200, 400), response.text
    if path == "/orders" and response.status_code == 200:
        assert response.json()["items"] == []


def test_cart_lines_are_bounded_and_a_full_cart_checks_out_in_one_order(
    api: Api, make_shopper: Callable[[], User], stack: Stack
) -> None:
    # Given a shopper with a cart of the most different books allowed (from the seeded catalog)
    shopper = make_shopper()
    books = [b for b in api.get("/books", params={"limit": 100}).json()["items"] if b["stock"] >= 2]
    assert len(books) > LIMITS.max_cart_lines
    for book in books[: LIMITS.max_cart_lines]:
        assert api.put(f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 1}).status_code == 200
    # When one more book is added / Then 422 LIMIT_EXCEEDED and the cart is as it was
    extra = api.put(f"/cart/items/{books[LIMITS.max_cart_lines]['bookId']}", shopper.token, json={"quantity": 1})
    assert (extra.status_code, error_code(extra)) == (422, "LIMIT_EXCEEDED")
    assert len(api.get("/cart", shopper.token).json()["items"]) == LIMITS.max_cart_lines
    if stack.phase == "1":
        # moto's TransactWriteItems deep-copies the books table once per item: 52 items over the
        # seeded catalog outlast the function's 10 s locally (fine on DynamoDB). Phase 1's full
        # checkout runs in-process below, on small tables.
        return
    # When the full cart is checked out / Then one order with exactly the cart's lines (one transaction)
    order = api.post("/orders", shopper.token, headers={"Idempotency-Key": idempotency_key()})
    assert order.status_code == 201, order.text
    assert len(order.json()["items"]) == LIMITS.max_cart_lines


def test_a_full_cart_checks_out_as_one_order_in_process(functions_on_moto: Functions) -> None:
    call = functions_on_moto
    # Given a cart with the most lines allowed, each at the most copies allowed
    for n in range(LIMITS.max_cart_lines):
        body = {**BOOK, "title": f"Full Cart {n}", "stock": LIMITS.max_line_quantity}
        book = call("POST", "/books", claims=ADMIN_CLAIMS, body=body).body
        quantity = {"quantity": LIMITS.max_line_quantity}
        assert (
            call("PUT", "/cart/items/{bookId}", claims=SHOPPER_CLAIMS, body=quantity, bookId=book["bookId"]).status
            == 200
        )
    # When it is checked out
    reply = call("POST", "/orders", claims=SHOPPER_CLAIMS, headers={"Idempotency-Key": idempotency_key()})
    # Then one order of exactly the cart's lines (one transaction of lines + 2 actions, under DynamoDB's 100)
    assert reply.status == 201, reply.body
    assert len(reply.body["items"]) == LIMITS.max_cart_lines
    expected = LIMITS.max_cart_lines * LIMITS.max_line_quantity * Decimal(BOOK["price"])
    assert Decimal(reply.body["total"]) == expected
    assert call("GET", "/books/{bookId}", bookId=book["bookId"]).body["stock"] == 0
    assert call("GET", "/cart", claims=SHOPPER_CLAIMS).body["items"] == []


def test_the_template_throttles_the_api_stage() -> None:
    from cloudshelf_dev.template import resources

    (api,) = resources("AWS::Serverless::Api").values()
    settings = [s for s in api["Properties"].get("MethodSettings", []) if s.get("ResourcePath") == "/*"]
    assert settings, "the stage needs default method settings with throttling"
    assert 0 < int(settings[0]["ThrottlingRateLimit"]) <= 10_000
    assert 0 < int(settings[0]["ThrottlingBurstLimit"]) <= 5_000
