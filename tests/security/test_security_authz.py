"""Who may do what: every route of template.yaml x {anonymous, shopper A, shopper B, admin}, and forged tokens.

The routes come from ``cloudshelf_dev.template.functions()``: a route added to the template
without an expectation here fails ``test_every_template_route_has_an_expectation`` (and
its matrix row), so nobody can add an endpoint without deciding who may call it.

Each row starts from a fresh world: shopper A has a profile, one placed order and a cart
with 3 copies of book X; shopper B and the admin have nothing. Every caller other than A
acts on the row's route with A's identifiers in the path where the route takes one (A's
order id, the book in A's cart); afterwards A's cart, orders and profile must be exactly
as before (B's requests only ever touch B's data) and the catalog unchanged unless the
admin changed it. A acts last.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from security_support import PASSWORD, Api, User, b64url, book_body, claims_of, error_code, handmade_token, snapshot

from cloudshelf_dev import cognito
from cloudshelf_dev.server import Stack
from cloudshelf_dev.template import functions

ROLES = ("anonymous", "shopper_b", "admin", "shopper_a")  # the owner, A, acts last
ROUTES = sorted({(r.method, r.path): r for spec in functions() for r in spec.routes}.values(), key=lambda r: r.name)
PROTECTED = [r for r in ROUTES if not r.public]
PUBLIC = [r for r in ROUTES if r.public]


@dataclass(frozen=True)
class Expect:
    """Expected status per role, and whether the route belongs to the caller (their own data only)."""

    anonymous: int
    shopper_a: int
    shopper_b: int
    admin: int
    own_data: bool = False
    body: Callable[[World], Any] | None = None
    headers: Callable[[], dict[str, str]] | None = None


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"matrix-{time.time_ns()}"}


# (METHOD, path) -> expected status for anonymous, A (the owner), B (another shopper), admin.
EXPECTED: dict[tuple[str, str], Expect] = {
    ("GET", "/books"): Expect(200, 200, 200, 200),
    ("GET", "/books/{bookId}"): Expect(200, 200, 200, 200),
    ("GET", "/categories"): Expect(200, 200, 200, 200),
    ("POST", "/books"): Expect(401, 403, 403, 201, body=lambda w: book_body()),
    ("PUT", "/books/{bookId}"): Expect(
        401, 403, 403, 200, body=lambda w: book_body(title="Replaced by the matrix", version=w.target_book["version"])
    ),
    ("DELETE", "/books/{bookId}"): Expect(401, 403, 403, 204),
    ("GET", "/cart"): Expect(401, 200, 200, 200, own_data=True),
    ("PUT", "/cart/items/{bookId}"): Expect(401, 200, 200, 200, own_data=True, body=lambda w: {"quantity": 1}),
    ("DELETE", "/cart/items/{bookId}"): Expect(401, 200, 200, 200, own_data=True),
    ("DELETE", "/cart"): Expect(401, 204, 204, 204, own_data=True),
    ("GET", "/users/me"): Expect(401, 200, 200, 200, own_data=True),
    ("PUT", "/users/me"): Expect(401, 200, 200, 200, own_data=True, body=lambda w: {"displayName": "Mallory"}),
    # B and the admin have empty carts of their own: checking out never reaches A's cart.
    ("POST", "/orders"): Expect(401, 201, 409, 409, own_data=True, headers=_key),
    ("GET", "/orders"): Expect(401, 200, 200, 200, own_data=True),
    # Another user's order is "not found", not "forbidden": its existence is not disclosed.
    ("GET", "/orders/{orderId}"): Expect(401, 200, 404, 404, own_data=True),
}


@dataclass
class World:
    """A fresh row: A with a profile, an order and a cart; B with nothing; books to act on."""

    api: Api
    a: User
    b: User
    admin: User
    cart_book: dict[str, Any]
    target_book: dict[str, Any]
    order: dict[str, Any]
    users: dict[str, User | None] = field(default_factory=dict)

    def path_for(self, template_path: str) -> str:
        book = self.target_book if template_path == "/books/{bookId}" else self.cart_book
        return template_path.format(bookId=book["bookId"], orderId=self.order["orderId"])


@pytest.fixture
def world(api: Api, admin: User, shopper_a: User, shopper_b: User, new_book: Callable[..., dict[str, Any]]) -> World:
    cart_book, target_book = new_book(stock=50), new_book(stock=7)
    assert api.put("/users/me", shopper_a.token, json={"displayName": "Ann"}).status_code == 200
    assert api.put(f"/cart/items/{cart_book['bookId']}", shopper_a.token, json={"quantity": 2}).status_code == 200
    placed = api.post("/orders", shopper_a.token, headers=_key())
    assert placed.status_code == 201, placed.text
    assert api.put(f"/cart/items/{cart_book['bookId']}", shopper_a.token, json={"quantity": 3}).status_code == 200
    w = World(api, shopper_a, shopper_b, admin, cart_book, target_book, placed.json())
    w.users = {"anonymous": None, "shopper_a": shopper_a, "shopper_b": shopper_b, "admin": admin}
    return w


def test_every_template_route_has_an_expectation() -> None:
    # Given the routes of template.yaml / Then each has a row in the matrix, and each row is a route
    declared = {(r.method, r.path) for r in ROUTES}
    assert declared - EXPECTED.keys() == set(), "add these routes to EXPECTED (who may call them?)"
    assert EXPECTED.keys() - declared == set(), "these rows name routes the template doesn't have"
    # And the template agrees about which routes are public: exactly those open to anonymous callers
    assert {(r.method, r.path) for r in PUBLIC} == {k for k, e in EXPECTED.items() if e.anonymous == 200}


def _check_own_data(route: tuple[str, str], caller: User, response: requests.Response, w: World) -> None:
    """A 2xx answer of a per-user route shows the caller's own data, never A's (unless the caller is A)."""
    if response.status_code == 204:
        return
    body = response.json()
    method, path = route
    if path.startswith("/cart"):
        lines = {line["bookId"]: line["quantity"] for line in body["items"]}
        if caller is not w.a:
            expected = {w.cart_book["bookId"]: 1} if method == "PUT" else {}
            assert lines == expected, (route, body)
    elif path == "/users/me":
        assert (body["userId"], body["email"]) == (caller.sub, caller.email), body
    elif path == "/orders" and method == "GET":
        assert all(order["userId"] == caller.sub for order in body["items"]), body
        if caller is not w.a:
            assert body["items"] == [], body
    else:  # one order
        assert body["userId"] == caller.sub, body


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_authorization_matrix(route: Any, world: World, stack: Stack, tally: Counter[str]) -> None:
    key = (route.method, route.path)
    expect = EXPECTED.get(key)
    if expect is None:
        pytest.fail(f"no expectation for {route.method} {route.path}: add it to EXPECTED")
    w, api = world, world.api
    a_before = snapshot(api, w.a)
    books_before = {b["bookId"]: api.get(f"/books/{b['bookId']}").json() for b in (w.cart_book, w.target_book)}
    outcomes: dict[str, tuple[int, int, str]] = {}
    for role in ROLES:
        caller = w.users[role]
        if role == "shopper_a":
            # Then, before the owner acts: nothing of A's changed, whoever called
            assert snapshot(api, w.a) == a_before, f"{key}: another caller changed A's data"
        # When each caller calls the route (with A's identifiers in the path)
        response = api.request(
            route.method,
            w.path_for(route.path),
            caller.token if caller else None,
            json=expect.body(w) if expect.body else None,
            headers=expect.headers() if expect.headers else None,
        )
        tally[f"matrix cells phase{stack.phase}"] += 1
        wanted = getattr(expect, role)
        outcomes[role] = (wanted, response.status_code, response.text[:200])
        if response.status_code == wanted and caller is not None and expect.own_data and response.ok:
            _check_own_data(key, caller, response, w)
        if response.status_code >= 400:
            code = error_code(response)  # the one error shape, always
            if response.status_code == 409:
                assert code == "CART_EMPTY", (key, role, code)  # B's / the admin's own (empty) cart
        if role == "shopper_b" and not route.public and route.method != "GET" and not expect.own_data:
            # a shopper writing the catalog changed nothing
            for book_id, before in books_before.items():
                assert api.get(f"/books/{book_id}").json() == before, f"{key}: a shopper changed the catalog"
    wrong = {role: o for role, o in outcomes.items() if o[0] != o[1]}
    assert not wrong, f"{route.method} {route.path}: expected != got for {wrong}"


@pytest.fixture(scope="session")
def other_pool_tokens(stack: Stack) -> dict[str, str]:
    """Real tokens of another user pool on the same Cognito (moto signs every pool with one key!)."""
    pool = cognito.create_user_pool(stack.moto_url, name=f"another-pool-{stack.phase}")
    email = "mallory@example.com"
    cognito.ensure_user(pool, email, PASSWORD, groups=(cognito.ADMIN_GROUP,))
    tokens = cognito.sign_in(pool.endpoint, pool.client_id, email, PASSWORD)
    return {"another-pool-admin-id-token": tokens.id_token, "another-pool-access-token": tokens.access_token}


def _public_pem(stack: Stack) -> bytes:
    """The pool's public key as PEM (what an attacker would try as an HMAC secret)."""
    document = requests.get(stack.user_pool.jwks_url, timeout=10).json()
    key = jwt.PyJWKSet.from_dict(document).keys[0].key
    pem: bytes = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem


@pytest.fixture(scope="session")
def bad_tokens(
    stack: Stack,
    forge: Callable[..., str],
    moto_private_key: Any,
    admin: User,
    make_shopper: Callable[[], User],
    other_pool_tokens: dict[str, str],
) -> dict[str, str]:
    """One token per way of being wrong, most of them claiming the admin group."""
    now = int(time.time())
    victim = make_shopper()
    as_admin = {**claims_of(forge()), "cognito:groups": ["admin"]}
    jwks = requests.get(stack.user_pool.jwks_url, timeout=10).content
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = attacker.public_key().public_numbers()
    attacker_jwk = {
        "kty": "RSA",
        "kid": "dummy",
        "alg": "RS256",
        "use": "sig",
        "n": b64url(numbers.n.to_bytes(256, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    head, payload, signature = admin.token.split(".")
    tampered = b64url(json.dumps({**claims_of(admin.token), "sub": victim.sub}).encode())
    rs512 = jwt.encode(as_admin, moto_private_key, algorithm="RS512", headers={"kid": "dummy"})
    return {
        "garbage": "not.a.jwt",
        "random-base64": b64url(b"\x00" * 64),
        "basic-scheme": "Basic YWRtaW46YWRtaW4=",
        "alg-none": handmade_token({"alg": "none", "typ": "JWT", "kid": "dummy"}, as_admin),
        "alg-None": handmade_token({"alg": "None", "typ": "JWT", "kid": "dummy"}, as_admin),
        "alg-none-with-a-signature": handmade_token({"alg": "none", "kid": "dummy"}, as_admin) + "c2ln",
        "hs256-with-the-jwks-as-secret": handmade_token({"alg": "HS256", "kid": "dummy"}, as_admin, jwks),
        "hs256-with-the-public-pem-as-secret": handmade_token(
            {"alg": "HS256", "kid": "dummy"}, as_admin, _public_pem(stack)
        ),
        "rs512-with-the-pool-key": rs512,
        "wrong-key": forge(key=attacker),
        "wrong-key-claiming-admin": forge(key=attacker, **{"cognito:groups": ["admin"]}),
        "wrong-key-with-embedded-jwk": forge(key=attacker, headers={"jwk": attacker_jwk}),
        "wrong-key-with-jku": forge(key=attacker, headers={"jku": "http://127.0.0.1:9/jwks.json"}),
        "unknown-kid": forge(kid="another-key"),
        "kid-path-traversal": forge(kid="../../../../dev/null"),
        "expired": forge(iat=now - 7200, exp=now - 3600),
        "not-yet-valid": forge(nbf=now + 3600),
        "issued-in-the-future": forge(iat=now + 3600, exp=now + 7200),
        "wrong-audience": forge(aud="another-app-client"),
        "wrong-issuer": forge(iss="https://evil.example.com/us-east-1_local"),
        "another-pools-issuer": forge(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_anotherpool"),
        **other_pool_tokens,
        "access-token-instead-of-id-token": victim.access_token,
        "no-token-use": forge(token_use=None),
        "no-expiry": forge(exp=None),
        "no-subject": forge(sub=None),
        "empty-subject": forge(sub=""),
        "tampered-payload-of-a-real-token": f"{head}.{tampered}.{signature}",
        "real-token-without-its-signature": f"{head}.{payload}.",
    }


@pytest.mark.parametrize("route", PROTECTED, ids=[f"{r.method} {r.path}" for r in PROTECTED])
def test_forged_and_foreign_tokens_are_refused_before_any_handler(
    route: Any, api: Api, bad_tokens: dict[str, str], stack: Stack, tally: Counter[str]
) -> None:
    path = route.path.format(bookId="pride-and-prejudice", orderId="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    body = {"quantity": 1} if route.method == "PUT" else None
    passed = {}
    for name, token in {"no-header": None, "empty-bearer": "", **bad_tokens}.items():
        # When the route is called with a token that is wrong in one way
        headers = {} if token is None else {"Authorization": token if " " in token else f"Bearer {token}"}
        response = api.request(route.method, path, headers={**headers, **_key()}, json=body)
        tally[f"forged-token requests phase{stack.phase}"] += 1
        # Then the gateway answers 401 in the error shape, before any handler ran (no request id)
        if response.status_code != 401 or "x-amzn-RequestId" in response.headers:
            passed[name] = (response.status_code, response.text[:120])
        else:
            assert error_code(response) == "UNAUTHORIZED"
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert not passed, f"{route.method} {route.path} let these through: {passed}"


def test_the_well_made_control_token_passes(api: Api, forge: Callable[..., str]) -> None:
    # Given a token signed with the pool's key and every claim right (each bad token differs in one thing)
    response = api.get("/users/me", forge("control-subject"))
    # Then it passes, as the subject it names: the negatives fail for their defect, not by accident
    assert response.status_code == 200, response.text
    assert response.json()["userId"] == "control-subject"


@pytest.mark.parametrize("route", PUBLIC, ids=[f"{r.method} {r.path}" for r in PUBLIC])
def test_public_routes_ignore_tokens_and_never_see_an_identity(
    route: Any, api: Api, bad_tokens: dict[str, str], admin: User
) -> None:
    path = route.path.format(bookId="pride-and-prejudice")
    for token in (bad_tokens["wrong-key-claiming-admin"], bad_tokens["alg-none"], admin.token):
        # When a public route is read with any token, good or bad
        response = api.get(path, token)
        # Then it is answered as for anyone (API Gateway runs no authorizer there)
        assert response.status_code == 200, response.text
