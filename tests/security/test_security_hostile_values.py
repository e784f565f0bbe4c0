"""Hostile values in every field of every route, on the local stack, in both phases (issue 11).

Each of these was a 500 once (and a 500 rolls a deployment back: the 5xx alarm's threshold
is 0): a 5,000-digit integer or 30,000 nested arrays in a body, a price of "1e30", a cart or
order total beyond money's range, a NUL reaching PostgreSQL (phase 2) from a body, a query
string, a forged cursor or a token's claims. Booleans were numbers (``"stock": false`` set the
stock to 0) and numbers strings.

The fuzz sends every value of ``RAW_VALUES`` (raw JSON text: Python's json can't even write
some of them) into every field of every request body, ``PATH_VALUES`` into every path
parameter, ``QUERY_VALUES`` and forged cursors into every query parameter and ``HEADER_VALUES``
into the headers that reach a handler, and checks each answer: below 500, in the one error
shape when it is a 4xx, and for a refused write, nothing changed (the book, the catalog's
counts, the cart, the orders, the stock, the profile). It is bounded: ``MAX_SECONDS`` a phase.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import requests
from security_support import Api, User, book_body, error_code, idempotency_key

from cloudshelf.models.books import Book
from cloudshelf.models.common import utcnow
from cloudshelf.money import MAX_AMOUNT
from cloudshelf_dev.seed import local_environment
from cloudshelf_dev.server import Stack

MAX_SECONDS = 60  # each fuzz test, each phase
JSON = {"Content-Type": "application/json"}

# What a parser can't take, wherever it is in a body: sent as the whole body and in one field per route.
PARSER_VALUES: dict[str, str] = {
    "5000-digit-int": "1" * 5000,
    "negative-5000-digit-int": "-" + "9" * 5000,
    "30000-deep-array": "[" * 30000 + "]" * 30000,
    "40-deep-object": '{"a":' * 40 + "1" + "}" * 40,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e309": "1e309",
    "long-string": '"' + "x" * 60000 + '"',
}
# What a field can't take (or can, harmlessly): sent in every field of every body.
FIELD_VALUES: dict[str, str] = {
    "1e30-string": '"1e30"',
    "1e30": "1e30",
    "10^30": "1" + "0" * 30,
    "true": "true",
    "false": "false",
    "float": "2.5",
    "null": "null",
    "object": '{"a": {"b": [1]}}',
    "nul": '"\\u0000"',
    "nul-inside": '"Ann\\u0000Smith"',
    "controls": '"a\\u0001\\u001b[31mb\\u007f"',
    "lone-surrogate": '"x\\ud800y"',
    "digits-string": '"' + "9" * 5000 + '"',
    "sql": '"\'; DROP TABLE books; --"',
}
# Path segments, already percent-encoded (some are not UTF-8 on purpose).
PATH_VALUES: dict[str, str] = {
    "nul": "%00",
    "nul-inside": "abc%00def",
    "controls": "a%01%1Bb",
    "overlong-nul": "%C0%80",
    "surrogate-bytes": "%ED%A0%80",
    "not-utf8": "%FF%FE",
    "1e30": "1e30",
    "5000-digits": "1" * 5000,
    "long": "x" * 2000,
    "dots": "%2E%2E",
    "encoded-slash": "a%2Fb",
    "sql": quote("' OR 1=1 --", safe=""),
}
QUERY_VALUES: dict[str, str] = {
    "nul": "%00",
    "nul-inside": "war%00peace",
    "controls": "a%01%1B",
    "surrogate-bytes": "%ED%A0%80",
    "not-utf8": "%FF",
    "1e30": "1e30",
    "10^30": "1" + "0" * 30,
    "5000-digits": "1" * 5000,
    "negative": "-1",
    "float": "2.5",
    "true": "true",
    "long": "x" * 3000,
    "sql": quote("'; DROP TABLE books; --", safe=""),
    "tsquery": quote("a & | ! :* ( <-> )", safe=""),
    "empty": "",
}
HEADER_VALUES: dict[str, str] = {
    "nul": "\x00",
    "nul-inside": "key-\x00-12345678",
    "controls": "key\x01\x1b[31m12345678",
    "1e30": "1e30",
    "5000-digits": "1" * 5000,
    "long": "k" * 8000,
    "latin1": "clé-résumé-1234",
    "quotes": '"1", "2"',
    "star": "*",
    "huge-version": '"99999999999999999999"',
    "negative-version": '"-1"',
}


def forged_cursor(kind: str, values: Any) -> str:
    raw = json.dumps({"k": kind, "v": values}, ensure_ascii=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


FORGED_CURSORS: dict[str, str] = {
    "books-nul": forged_cursor("books", {"t": "a\x00b", "id": "x"}),
    "books-nul-id": forged_cursor("books", {"t": "emma", "id": "\x00"}),
    "books-surrogate": forged_cursor("books", {"t": "\ud800", "id": "x"}),
    "books-huge-int": forged_cursor("books", {"t": 10**30, "id": 10**30}),
    "books-nested": forged_cursor("books", {"t": [[["x"]]], "id": {"a": 1}}),
    "search-huge-offset": forged_cursor("search", {"o": 10**30}),
    "search-negative-offset": forged_cursor("search", {"o": -5}),
    "search-nul": forged_cursor("search", {"o": "\x00"}),
    "orders-nul": forged_cursor("orders", {"id": "\x00"}),
    "orders-surrogate": forged_cursor("orders", {"id": "\udfff"}),
    "orders-huge-int": forged_cursor("orders", {"id": 10**30}),
    "deep": base64.urlsafe_b64encode(b"[" * 400 + b"]" * 400).decode().rstrip("="),
    "digits": base64.urlsafe_b64encode(b"9" * 700).decode().rstrip("="),
}
ADDRESS = {"line1": "1 High Street", "line2": "", "city": "Bath", "postalCode": "BA1 1AA", "country": "GB"}


def check_answer(response: requests.Response, where: str, tally: Counter[str]) -> None:
    """Below 500, and a 4xx in the one error shape."""
    tally[f"hostile answers {response.status_code}"] += 1
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, (where, body)
        assert set(body["error"]) == {"code", "message", "details"}, (where, body)


def with_raw(base: dict[str, Any], path: tuple[str, ...], raw: str) -> str:
    """``base`` as JSON text with the field at ``path`` replaced by the raw JSON text ``raw``."""
    marker = f"__hostile_{uuid.uuid4().hex}__"
    body = json.loads(json.dumps(base))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(body).replace(f'"{marker}"', raw)


def field_paths(base: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field of a body, nested ones too (and the body itself: the empty path)."""
    paths: list[tuple[str, ...]] = [()]
    for key, value in base.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths += [(key, *sub) for sub in field_paths(value) if sub]
    return paths


def bodies(base: dict[str, Any]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Groups of (what, body): parser values as the body and in its first field; every field value
    in each field of ``base`` (a group a field); hostile keys."""
    first = next(iter(base))
    parser = [(f"<body>={name}", raw) for name, raw in PARSER_VALUES.items()]
    parser += [(f"{first}={name}", with_raw(base, (first,), raw)) for name, raw in PARSER_VALUES.items()]
    yield "<parser>", parser
    for path in field_paths(base)[1:]:
        yield ".".join(path), [(f"{'.'.join(path)}={n}", with_raw(base, path, raw)) for n, raw in FIELD_VALUES.items()]
    keys = ("nul", "controls", "lone-surrogate")
    yield "<keys>", [(f"<key>={n}", json.dumps(base)[:-1] + f", {FIELD_VALUES[n]}: 1}}") for n in keys]


def fuzz_route(
    fuzz: Fuzz,
    label: str,
    base: dict[str, Any],
    send: Callable[[str, str], requests.Response],
    state: Callable[[], Any],
    accepted: Callable[[], None] = lambda: None,
) -> None:
    """Every hostile body of ``base`` through ``send``; what ``state`` shows is unchanged by refused writes.

    The state is read before and after each group (a field's values), and again after each
    accepted write (which may change it: a title of "1e30" is a title).
    """
    for group, cases in bodies(base):
        baseline, refused = state(), []
        for what, body in cases:
            answer = send(body, f"phase{fuzz.phase} {label} {what}")
            if answer.status_code < 400:
                accepted()
                baseline = state()
            else:
                refused.append(what)
        if refused:
            assert state() == baseline, f"{label} {group}: one of {refused} changed something"


@dataclass
class Fuzz:
    """One phase's fuzz: the stack, its users and a book each write can aim at."""

    api: Api
    admin: User
    shopper: User
    book: dict[str, Any]
    tally: Counter[str]
    phase: str
    started: float = field(default_factory=time.monotonic)

    def send(self, method: str, path: str, token: str | None, where: str, **kwargs: Any) -> requests.Response:
        """Send one hostile request and check the answer (bounded: MAX_SECONDS a test)."""
        assert time.monotonic() - self.started < MAX_SECONDS, f"the fuzz took over {MAX_SECONDS} s"
        self.tally[f"hostile requests phase{self.phase}"] += 1
        response = self.api.request(method, path, token, **kwargs)
        check_answer(response, where, self.tally)
        return response

    def book_now(self) -> requests.Response:
        return self.api.get(f"/books/{self.book['bookId']}")

    def cart(self) -> list[tuple[str, int]]:
        cart = self.api.get("/cart", self.shopper.token).json()
        return sorted((line["bookId"], line["quantity"]) for line in cart["items"])

    def shop_state(self) -> dict[str, Any]:
        orders = self.api.get("/orders", self.shopper.token, params={"limit": 100}).json()
        return {"cart": self.cart(), "orders": [o["orderId"] for o in orders["items"]], "stock": self.stock()}

    def stock(self) -> int:
        stock: int = self.book_now().json()["stock"]
        return stock

    def fill_cart(self) -> None:
        put = self.api.put(f"/cart/items/{self.book['bookId']}", self.shopper.token, json={"quantity": 1})
        assert put.status_code == 200, put.text

    def profile(self) -> dict[str, Any]:
        me = self.api.get("/users/me", self.shopper.token).json()
        return {k: v for k, v in me.items() if k != "updatedAt"}

    def catalog(self) -> list[Any]:
        return self.api.get("/categories").json()["items"]


@pytest.fixture
def fuzz(api: Api, admin: User, make_shopper: Callable[[], User], tally: Counter[str], stack: Stack) -> Fuzz:
    shopper = make_shopper()
    created = api.post("/books", admin.token, json=book_body(stock=1_000_000, price="12.50"))
    assert created.status_code == 201, created.text
    return Fuzz(api, admin, shopper, created.json(), tally, stack.phase)


def if_match(response: requests.Response) -> dict[str, str]:
    """The If-Match a careful admin sends (when the API has ETags)."""
    tag = response.headers.get("ETag")
    return {"If-Match": tag} if tag else {}


def editable(book: dict[str, Any]) -> dict[str, Any]:
    keys = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    return {k: book[k] for k in keys}


def test_hostile_values_in_every_body_field(fuzz: Fuzz) -> None:
    admin, shopper = fuzz.admin.token, fuzz.shopper.token
    # POST /books: a refused create adds no book (the catalog's counts stay)
    fuzz_route(
        fuzz,
        "POST /books",
        book_body(),
        lambda body, where: fuzz.send("POST", "/books", admin, where, data=body, headers=JSON),
        fuzz.catalog,
    )
    # PUT /books/{bookId}: a refused replace leaves the book as it was
    book_path = f"/books/{fuzz.book['bookId']}"
    current = [fuzz.book_now()]

    def replace(body: str, where: str) -> requests.Response:
        return fuzz.send("PUT", book_path, admin, where, data=body, headers={**JSON, **if_match(current[0])})

    def reread() -> None:
        current[0] = fuzz.book_now()

    fuzz_route(
        fuzz, "PUT /books/{bookId}", editable(current[0].json()), replace, lambda: fuzz.book_now().json(), reread
    )
    # PUT /cart/items/{bookId}: a refused change leaves the cart as it was
    fuzz.fill_cart()
    fuzz_route(
        fuzz,
        "PUT /cart/items/{bookId}",
        {"quantity": 1},
        lambda body, where: fuzz.send("PUT", f"/cart/items/{fuzz.book['bookId']}", shopper, where, data=body),
        fuzz.cart,
    )
    # POST /orders, with a cart to buy: a refused checkout orders nothing, takes no stock, keeps the cart
    fuzz_route(
        fuzz,
        "POST /orders",
        {"note": "Leave it at the door", "expectedTotal": "12.50"},
        lambda body, where: fuzz.send(
            "POST", "/orders", shopper, where, data=body, headers={**JSON, "Idempotency-Key": idempotency_key()}
        ),
        fuzz.shop_state,
        fuzz.fill_cart,
    )
    # PUT /users/me: a refused change leaves the profile as it was
    fuzz_route(
        fuzz,
        "PUT /users/me",
        {"displayName": "Ann", "address": ADDRESS},
        lambda body, where: fuzz.send("PUT", "/users/me", shopper, where, data=body, headers=JSON),
        fuzz.profile,
    )


def test_hostile_values_in_every_path_parameter(fuzz: Fuzz, stack: Stack) -> None:
    fuzz.fill_cart()
    before, book = fuzz.shop_state(), fuzz.book_now().json()
    for name, segment in PATH_VALUES.items():
        for method, template, token, body in [
            ("GET", "/books/{}", None, None),
            ("PUT", "/books/{}", fuzz.admin.token, editable(book)),
            ("DELETE", "/books/{}", fuzz.admin.token, None),
            ("PUT", "/cart/items/{}", fuzz.shopper.token, {"quantity": 1}),
            ("DELETE", "/cart/items/{}", fuzz.shopper.token, None),
            ("GET", "/orders/{}", fuzz.shopper.token, None),
        ]:
            where = f"phase{fuzz.phase} {method} {template} {name}"
            fuzz.send(method, template.format(segment), token, where, json=body)
    # Then nothing that exists changed
    assert fuzz.shop_state() == before
    assert fuzz.book_now().json() == book


def test_hostile_values_in_every_query_parameter(fuzz: Fuzz) -> None:
    for path, params, token in [
        ("/books", ("q", "category", "limit", "cursor"), None),
        ("/books?q=novel", ("cursor", "category", "limit"), None),
        ("/orders", ("limit", "cursor"), fuzz.shopper.token),
    ]:
        joiner = "&" if "?" in path else "?"
        for param in params:
            for name, value in QUERY_VALUES.items():
                where = f"phase{fuzz.phase} GET {path} {param}={name}"
                fuzz.send("GET", f"{path}{joiner}{param}={value}", token, where)
        # And a forged cursor is refused (400 or 422), never a page of something else
        for name, cursor in FORGED_CURSORS.items():
            where = f"phase{fuzz.phase} GET {path} cursor={name}"
            answer = fuzz.send("GET", f"{path}{joiner}cursor={cursor}", token, where)
            assert answer.status_code in (400, 422), (where, answer.text)


def test_hostile_values_in_headers(fuzz: Fuzz, stack: Stack) -> None:
    book_path = f"/books/{fuzz.book['bookId']}"
    current = fuzz.book_now()
    fuzz.fill_cart()
    before = fuzz.shop_state()
    for name, value in HEADER_VALUES.items():
        raw = value.encode("latin-1", "replace").decode("latin-1")
        # Idempotency-Key on checkout: refused unless it is a key; nothing ordered when refused
        headers = {**JSON, "Idempotency-Key": raw}
        answer = fuzz.send(
            "POST", "/orders", fuzz.shopper.token, f"phase{fuzz.phase} Idempotency-Key {name}", json={}, headers=headers
        )
        assert answer.status_code >= 400, name
        # If-Match on a book write
        body = editable(current.json())
        headers = {**JSON, "If-Match": raw}
        answer = fuzz.send(
            "PUT", book_path, fuzz.admin.token, f"phase{fuzz.phase} If-Match {name}", json=body, headers=headers
        )
        if answer.status_code >= 400:
            assert fuzz.book_now().json() == current.json(), name
        current = fuzz.book_now()
        # The token itself, and the media type
        fuzz.send(
            "GET", "/cart", None, f"phase{fuzz.phase} Authorization {name}", headers={"Authorization": f"Bearer {raw}"}
        )
        fuzz.send(
            "PUT",
            "/users/me",
            fuzz.shopper.token,
            f"phase{fuzz.phase} Content-Type {name}",
            data="{}",
            headers={"Content-Type": f"application/json; charset={raw}"},
        )
    assert fuzz.shop_state() == before


def test_hostile_claims_never_reach_a_store(api: Api, forge: Callable[..., str], stack: Stack) -> None:
    # Given tokens (signed with the pool's key) whose name and email carry a NUL and other control characters
    for claims in (
        {"name": "Ann\x00Smith", "email": "ann\x00@example.com"},
        {"name": "\x00\x01\x1b", "email": "\ud800@example.com"},
    ):
        token = forge(f"hostile-{uuid.uuid4().hex[:8]}", **claims)
        # When the profile is created from them / Then it is, without the control characters
        me = api.get("/users/me", token)
        assert me.status_code == 200, me.text
        assert "\x00" not in me.json()["displayName"] + me.json()["email"]
    # And a subject with a NUL is no identity at all
    bad = api.get("/users/me", forge("sub\x00ject"))
    assert bad.status_code == 401, bad.text
    assert error_code(bad) == "UNAUTHORIZED"


def test_types_are_strict_in_every_body(fuzz: Fuzz, stack: Stack) -> None:
    # Given a book and a cart with one copy of it
    book_path = f"/books/{fuzz.book['bookId']}"
    fuzz.fill_cart()
    current = fuzz.book_now()
    before = fuzz.shop_state()
    cases: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = []
    book = editable(current.json())
    for wrong in (False, True, "5", 5.5):
        cases.append(("PUT", book_path, fuzz.admin.token, {**book, "stock": wrong}, if_match(current)))
        cases.append(("POST", "/books", fuzz.admin.token, book_body(stock=wrong), {}))
        cases.append(("PUT", f"/cart/items/{fuzz.book['bookId']}", fuzz.shopper.token, {"quantity": wrong}, {}))
    for wrong in (12, 12.5, True, ["x"]):
        cases.append(("PUT", book_path, fuzz.admin.token, {**book, "title": wrong}, if_match(current)))
        cases.append(("PUT", "/users/me", fuzz.shopper.token, {"displayName": wrong}, {}))
        cases.append(
            ("PUT", "/users/me", fuzz.shopper.token, {"displayName": "Ann", "address": {**ADDRESS, "city": wrong}}, {})
        )
        key = {"Idempotency-Key": idempotency_key()}
        cases.append(("POST", "/orders", fuzz.shopper.token, {"note": wrong}, key))
    for wrong in (12.5, True, False, "1e3"):
        cases.append(("PUT", book_path, fuzz.admin.token, {**book, "price": wrong}, if_match(current)))
        key = {"Idempotency-Key": idempotency_key()}
        cases.append(("POST", "/orders", fuzz.shopper.token, {"expectedTotal": wrong}, key))
    for method, path, token, body, headers in cases:
        # When a boolean, number or string is where another JSON type belongs
        response = fuzz.api.request(method, path, token, json=body, headers=headers)
        # Then 422 VALIDATION_ERROR, and nothing changed
        assert response.status_code == 422, (method, path, body, response.text)
        assert error_code(response) == "VALIDATION_ERROR", (method, path, body)
    assert fuzz.book_now().json() == current.json()
    assert fuzz.shop_state() == before


# ---------------------------------------------------------------- totals beyond money (books stored before the cap)


@pytest.fixture
def store_books(stack: Stack) -> Iterator[Callable[..., Any]]:
    """Write books straight into the phase's store, at prices the API no longer accepts (as before the cap).

    ``store_books(price)`` adds a book and returns its id; ``store_books(price, book_id)`` reprices one.
    """
    from cloudshelf.repositories import factory

    environment = stack.pools["BooksFunction"].config.environment
    made: list[str] = []

    def write(price: Decimal, book_id: str | None = None) -> str:
        with local_environment(environment):
            repo = factory.book_repository()
            if book_id is not None:
                stored = repo.get(book_id, consistent=True)
                assert stored is not None
                repo.replace(stored.model_copy(update={"price": price, "version": stored.version + 1}), stored)
                return book_id
            now = utcnow()
            book = Book(
                bookId=f"legacy-{uuid.uuid4().hex[:12]}",
                title="A Very Dear Book",
                author="Legacy",
                category=f"Legacy {uuid.uuid4().hex[:6]}",
                price=price,
                stock=100,
                isbn="9780306406157",
                createdAt=now,
                updatedAt=now,
            )
            repo.create(book)
        made.append(book.bookId)
        return book.bookId

    yield write
    with local_environment(environment):
        repo = factory.book_repository()
        for book_id in made:
            stored = repo.get(book_id, consistent=True)
            if stored is not None:
                repo.delete(stored)


def test_a_line_beyond_money_is_refused_and_changes_nothing(
    api: Api, make_shopper: Callable[[], User], store_books: Callable[..., str]
) -> None:
    # Given a book stored at money's maximum (before the price cap)
    shopper = make_shopper()
    dearest = store_books(MAX_AMOUNT)
    # When two copies go in a cart / Then 422 LIMIT_EXCEEDED, and the cart is as it was (empty)
    two = api.put(f"/cart/items/{dearest}", shopper.token, json={"quantity": 2})
    assert (two.status_code, error_code(two)) == (422, "LIMIT_EXCEEDED"), two.text
    cart = api.get("/cart", shopper.token)
    assert (cart.status_code, cart.json()["items"]) == (200, []), cart.text


def test_a_cart_beyond_money_is_refused_and_orders_nothing(
    api: Api, make_shopper: Callable[[], User], store_books: Callable[..., str]
) -> None:
    # Given a cart of two books that cost 10.00 each when added, 60,000,000.00 each now
    shopper = make_shopper()
    books = [store_books(Decimal("10.00")) for _ in range(2)]
    for book_id in books:
        assert api.put(f"/cart/items/{book_id}", shopper.token, json={"quantity": 1}).status_code == 200
    for book_id in books:
        store_books(Decimal("60000000.00"), book_id)
    # When the cart is read and checked out / Then 422 LIMIT_EXCEEDED in the error shape, never a 500
    cart = api.get("/cart", shopper.token)
    assert (cart.status_code, error_code(cart)) == (422, "LIMIT_EXCEEDED"), cart.text
    checkout = api.post("/orders", shopper.token, headers={"Idempotency-Key": idempotency_key()})
    assert (checkout.status_code, error_code(checkout)) == (422, "LIMIT_EXCEEDED"), checkout.text
    # And nothing was ordered, no stock taken
    assert api.get("/orders", shopper.token).json()["items"] == []
    assert [api.get(f"/books/{b}").json()["stock"] for b in books] == [100, 100]
    # And the shopper can still get out of it: removing a line brings the cart back in range
    removed = api.delete(f"/cart/items/{books[0]}", shopper.token)
    assert removed.status_code == 200, removed.text
