"""Business-flow abuse: what the client says about money, stock and identity is never believed.

Prices, totals, user ids and stock sent by a client are refused (422: unknown fields),
quantities are bounded, every order total is the sum of the server's prices (hypothesis
over random carts, through the API, in both phases), and an Idempotency-Key is bound to
its caller and its request body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_support import Api, User, book_body, error_code, idempotency_key, money, snapshot

from cloudshelf.settings import Settings
from cloudshelf_dev.server import Stack

LIMITS = Settings()


def _cart(api: Api, user: User) -> dict[str, int]:
    response = api.get("/cart", user.token)
    assert response.status_code == 200, response.text
    return {line["bookId"]: line["quantity"] for line in response.json()["items"]}


def _stock(api: Api, book: dict[str, Any]) -> int:
    stock: int = api.get(f"/books/{book['bookId']}").json()["stock"]
    return stock


def test_client_sent_prices_totals_users_and_stock_are_refused(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given A with one copy of a 10.00 book in the cart
    book = new_book(price="10.00", stock=5)
    item = f"/cart/items/{book['bookId']}"
    assert api.put(item, shopper_a.token, json={"quantity": 1}).status_code == 200
    before = snapshot(api, shopper_a)
    # When A sends server-owned fields along with legitimate requests
    attempts = [
        ("PUT", item, {"quantity": 1, "price": "0.01"}),
        ("PUT", item, {"quantity": 1, "unitPrice": "0.01", "lineTotal": "0.01"}),
        ("PUT", item, {"quantity": 1, "userId": shopper_b.sub}),
        ("PUT", item, {"quantity": 1, "stock": 1_000_000}),
        ("POST", "/orders", {"total": "0.01"}),
        ("POST", "/orders", {"items": [{"bookId": book["bookId"], "quantity": 1, "unitPrice": "0.01"}]}),
        ("POST", "/orders", {"userId": shopper_b.sub}),
        ("POST", "/orders", {"currency": "XXX", "status": "PAID"}),
        ("PUT", "/users/me", {"displayName": "Ann", "userId": shopper_b.sub}),
        ("PUT", "/users/me", {"displayName": "Ann", "email": "admin@cloudshelf.local"}),
        ("PUT", "/users/me", {"displayName": "Ann", "cognito:groups": "admin"}),
        ("PUT", "/users/me", {"displayName": "Ann", "groups": ["admin"], "isAdmin": True}),
    ]
    for method, path, body in attempts:
        headers = {"Idempotency-Key": idempotency_key()} if path == "/orders" else None
        response = api.request(method, path, shopper_a.token, json=body, headers=headers)
        # Then each is refused as invalid input (not silently ignored, not obeyed)
        assert response.status_code == 422, (method, path, body, response.text)
        assert error_code(response) == "VALIDATION_ERROR"
    # And nothing changed: no order, the same cart, profile and stock; A is still no admin
    assert snapshot(api, shopper_a) == before
    assert _stock(api, book) == 5
    assert api.post("/books", shopper_a.token, json={"title": "x"}).status_code == 403


def test_admins_cannot_set_server_owned_book_fields(api: Api, admin: User, new_book: Callable[..., Any]) -> None:
    book = new_book()
    current = {"If-Match": f'"{book["version"]}"'}
    for extra in ({"bookId": "my-own-id"}, {"createdAt": "2000-01-01T00:00:00Z"}, {"version": 99}):
        # When the admin sends fields the server owns / Then 422, and the book is unchanged
        assert api.post("/books", admin.token, json=book_body(**extra)).status_code == 422, extra
        if "version" not in extra:
            replaced = api.put(f"/books/{book['bookId']}", admin.token, json=book_body(**extra), headers=current)
            assert replaced.status_code == 422, extra
    # And a replacement's version only names the version it replaces: one that isn't current is refused
    stale = api.put(f"/books/{book['bookId']}", admin.token, json=book_body(version=99))
    assert (stale.status_code, error_code(stale)) == (409, "VERSION_CONFLICT")
    assert api.get(f"/books/{book['bookId']}").json() == book
    assert api.get("/books/my-own-id").status_code == 404


def test_identity_never_comes_from_the_query_headers_or_path(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given A with a cart and an order
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    assert api.post("/orders", shopper_a.token, headers={"Idempotency-Key": idempotency_key()}).status_code == 201
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 2})
    spoof = {"X-User-Id": shopper_a.sub, "X-Forwarded-User": shopper_a.sub, "X-Amzn-Oidc-Identity": shopper_a.sub}
    # When B names A in query strings and headers
    orders = api.get("/orders", shopper_b.token, params={"userId": shopper_a.sub}, headers=spoof)
    cart = api.get("/cart", shopper_b.token, params={"userId": shopper_a.sub, "sub": shopper_a.sub}, headers=spoof)
    me = api.get("/users/me", shopper_b.token, params={"userId": shopper_a.sub}, headers=spoof)
    # Then B still sees only B's own (empty) data
    assert orders.json()["items"] == []
    assert cart.json()["items"] == []
    assert me.json()["userId"] == shopper_b.sub


@pytest.mark.parametrize(
    ("quantity", "status"),
    [(0, 422), (-1, 422), (LIMITS.max_line_quantity + 1, 422), (1001, 422), (10**30, 422), (1.5, 422), (None, 422)],
)
def test_quantities_are_bounded(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]], quantity: Any, status: int
) -> None:
    # Given a book with plenty of stock and a cart with one copy of it
    book = new_book(stock=5000)
    item = f"/cart/items/{book['bookId']}"
    assert api.put(item, shopper_a.token, json={"quantity": 1}).status_code == 200
    # When a quantity out of bounds is asked for / Then it is refused and the cart is unchanged
    response = api.put(item, shopper_a.token, json={"quantity": quantity})
    assert response.status_code == status, response.text
    assert _cart(api, shopper_a) == {book["bookId"]: 1}


def test_more_than_the_stock_is_refused_and_the_most_is_accepted(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book(stock=3)
    item = f"/cart/items/{book['bookId']}"
    over = api.put(item, shopper_a.token, json={"quantity": 4})
    assert (over.status_code, error_code(over)) == (409, "OUT_OF_STOCK")
    assert over.json()["error"]["details"]["books"][0]["available"] == 3
    assert api.put(item, shopper_a.token, json={"quantity": 3}).status_code == 200
    full = api.put(item, shopper_a.token, json={"quantity": LIMITS.max_line_quantity})
    assert full.status_code == 409


PRICES = ["0.01", "0.10", "0.99", "9.99", "33.33", "1234.57"]


@pytest.fixture(scope="module")
def priced_catalog(stack: Stack, new_book: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """Books at awkward prices, with stock enough for every example."""
    return [new_book(price=price, stock=1_000_000) for price in PRICES]


@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.dictionaries(st.integers(0, len(PRICES) - 1), st.integers(1, LIMITS.max_line_quantity), min_size=1))
def test_order_totals_are_the_sum_of_server_prices_for_any_cart(
    api: Api,
    make_shopper: Callable[[], User],
    priced_catalog: list[dict[str, Any]],
    stack: Stack,
    tally: Counter[str],
    lines: dict[int, int],
) -> None:
    # Given a new shopper who puts a random cart together
    shopper = make_shopper()
    for index, quantity in lines.items():
        put = api.put(f"/cart/items/{priced_catalog[index]['bookId']}", shopper.token, json={"quantity": quantity})
        assert put.status_code == 200, put.text
    prices = {b["bookId"]: money(api.get(f"/books/{b['bookId']}").json()["price"]) for b in priced_catalog}
    expected = sum((prices[priced_catalog[i]["bookId"]] * q for i, q in lines.items()), Decimal("0.00"))
    cart = api.get("/cart", shopper.token).json()
    # When they check out
    placed = api.post("/orders", shopper.token, headers={"Idempotency-Key": idempotency_key()})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    tally[f"random carts checked out phase{stack.phase}"] += 1
    # Then every line is at the server's price, and the totals are exact sums, in the cart and the order
    for line in order["items"]:
        assert money(line["unitPrice"]) == prices[line["bookId"]]
        assert money(line["lineTotal"]) == money(line["unitPrice"]) * line["quantity"]
    assert money(order["total"]) == money(cart["total"]) == expected
    assert sum(line["quantity"] for line in order["items"]) == sum(lines.values())
    assert api.get(f"/orders/{order['orderId']}", shopper.token).json() == order


def test_checkout_charges_the_price_of_the_moment_not_the_one_in_the_cart(
    api: Api, admin: User, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a cart with a book at 20.00, whose price the admin then lowers to 15.00
    book = new_book(price="20.00", stock=10)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 2})
    changed = {**book_body(), **{k: book[k] for k in ("title", "author", "category", "isbn")}, "price": "15.00"}
    repriced = api.put(
        f"/books/{book['bookId']}", admin.token, json={**changed, "stock": 10, "version": book["version"]}
    )
    assert repriced.status_code == 200, repriced.text
    # When A checks out / Then the order is at the current server price
    order = api.post("/orders", shopper_a.token, headers={"Idempotency-Key": idempotency_key()}).json()
    assert (order["items"][0]["unitPrice"], order["total"]) == ("15.00", "30.00")


# ---------------------------------------------------------------- idempotency keys


def _checkout(api: Api, user: User, key: str, body: dict[str, Any] | None = None) -> Any:
    return api.post("/orders", user.token, headers={"Idempotency-Key": key}, json=body)


def test_a_key_replayed_with_the_same_body_returns_the_same_order_once(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 2})
    key = idempotency_key()
    first, second = _checkout(api, shopper_a, key, {"note": "gift"}), _checkout(api, shopper_a, key, {"note": "gift"})
    assert first.status_code == second.status_code == 201, second.text
    assert first.json() == second.json()
    assert len(api.get("/orders", shopper_a.token).json()["items"]) == 1
    assert _stock(api, book) == 3


def test_a_key_reused_with_another_body_is_409_and_creates_nothing(
    api: Api, shopper_a: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book(stock=5)
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    key = idempotency_key()
    assert _checkout(api, shopper_a, key, {"note": "first"}).status_code == 201
    api.put(f"/cart/items/{book['bookId']}", shopper_a.token, json={"quantity": 1})
    # When the same key comes with another body (and a new cart)
    other = _checkout(api, shopper_a, key, {"note": "second"})
    # Then 409, and no second order
    assert (other.status_code, error_code(other)) == (409, "IDEMPOTENCY_CONFLICT")
    assert len(api.get("/orders", shopper_a.token).json()["items"]) == 1
    assert _stock(api, book) == 4


def test_another_user_reusing_a_key_gets_their_own_order(
    api: Api, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given A checked out with a key
    a_book, b_book = new_book(stock=5), new_book(stock=5)
    api.put(f"/cart/items/{a_book['bookId']}", shopper_a.token, json={"quantity": 1})
    key = idempotency_key()
    a_order = _checkout(api, shopper_a, key).json()
    a_orders = api.get("/orders", shopper_a.token).json()
    # When B, with an empty cart, sends the same key and body / Then B's own empty cart answers: never A's order
    empty = _checkout(api, shopper_b, key)
    assert (empty.status_code, error_code(empty)) == (409, "CART_EMPTY")
    # When B, with a cart, sends it again / Then B gets B's own new order
    api.put(f"/cart/items/{b_book['bookId']}", shopper_b.token, json={"quantity": 2})
    b_order = _checkout(api, shopper_b, key)
    assert b_order.status_code == 201, b_order.text
    assert b_order.json()["orderId"] != a_order["orderId"]
    assert b_order.json()["userId"] == shopper_b.sub
    assert [(line["bookId"], line["quantity"]) for line in b_order.json()["items"]] == [(b_book["bookId"], 2)]
    # And A's orders are as they were
    assert api.get("/orders", shopper_a.token).json() == a_orders


@pytest.mark.parametrize("key", ["", "short7c", "k" * 129, "has space!", "ünïcode-key", "a/b/c/d/e/f"])
def test_malformed_idempotency_keys_are_refused(api: Api, shopper_a: User, key: str) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    response = api.post("/orders", shopper_a.token, headers=headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "image_url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "javascript:alert(document.cookie)",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "file:///etc/passwd",
        "ftp://example.com/cover.png",
        "https://example.com/" + "x" * 500,
    ],
)
def test_book_image_urls_are_https_or_our_own_paths(api: Api, admin: User, image_url: str) -> None:
    # The server never fetches imageUrl (no SSRF surface); the storefront shows it, so only https or our paths
    response = api.post("/books", admin.token, json=book_body(imageUrl=image_url))
    assert response.status_code == 422, response.text
