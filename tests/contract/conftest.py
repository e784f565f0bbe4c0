"""The API contract over HTTP, against the whole local stack (what `cloudshelf dev` runs), in-process.

Fixtures: ``stack`` (one per session and data phase), ``api`` (an HTTP client of the API),
``admin`` and freshly signed-up shoppers (``shopper_a``, ``shopper_b``, ``make_shopper``)
with real Cognito ID tokens of the stack's user pool, ``new_book`` (an admin-created book
in a category of its own) and ``forge`` (tokens signed with the pool's own key but with
chosen claims, for the authorizer tests).
"""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any

import jwt
import pytest
from contract_support import PASSWORD, Api, User, book_body

from cloudshelf_dev import cognito
from cloudshelf_dev.server import Stack, start_stack


@pytest.fixture(scope="session", params=["1", "2"], ids=["phase1", "phase2"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack on a free loopback port, seeded, in data phase 1 and then phase 2."""
    running = start_stack(port=0, seed=True, phase=request.param, log_dir=tmp_path_factory.mktemp("function-logs"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    return Api(stack.api_url)


def _subject(token: str) -> str:
    sub: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return sub


def sign_up_via_storefront_endpoint(stack: Stack, email: str) -> User:
    """Sign up, confirm with the e-mailed code and sign in, through the stack's ``cognitoEndpoint``."""
    endpoint = stack.config["cognitoEndpoint"]
    client_id = stack.user_pool.client_id
    cognito.sign_up(endpoint, client_id, email, PASSWORD, name=email.split("@", maxsplit=1)[0])
    code = stack.proxy.mailbox.latest_code(email)
    assert code is not None
    cognito.confirm_sign_up(endpoint, client_id, email, code)
    token = cognito.sign_in(endpoint, client_id, email, PASSWORD).id_token
    return User(email, token, _subject(token))


@pytest.fixture(scope="session")
def make_shopper(stack: Stack) -> Callable[[], User]:
    """Sign a brand-new shopper up (as the storefront does) and return them signed in."""

    def make() -> User:
        return sign_up_via_storefront_endpoint(stack, f"reader-{uuid.uuid4().hex[:10]}@example.com")

    return make


@pytest.fixture
def shopper_a(make_shopper: Callable[[], User]) -> User:
    return make_shopper()


@pytest.fixture
def shopper_b(make_shopper: Callable[[], User]) -> User:
    return make_shopper()


@pytest.fixture(scope="session")
def admin(stack: Stack) -> User:
    """The demo admin (group ``admin``), signed in."""
    email, password = stack.admin
    token = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password).id_token
    return User(email, token, _subject(token))


@pytest.fixture
def new_book(api: Api, admin: User) -> Callable[..., dict[str, Any]]:
    """Create a book as the admin (fields overridable) and return it as the API shows it."""

    def create(**overrides: Any) -> dict[str, Any]:
        response = api.post("/books", admin.token, json=book_body(**overrides))
        assert response.status_code == 201, response.text
        book: dict[str, Any] = response.json()
        return book

    return create


@pytest.fixture(scope="session")
def forge(stack: Stack) -> Callable[..., str]:
    """Mint an ID token signed with the pool's own key (moto's), with chosen claims (None drops one)."""
    resource = files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz")
    private_key = jwt.algorithms.RSAAlgorithm.from_jwk(gzip.decompress(resource.read_bytes()).decode())
    pool = stack.user_pool

    def mint(subject: str = "forged-user", *, key: Any = None, kid: str = "dummy", **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": subject,
            "iss": pool.issuer,
            "aud": pool.client_id,
            "token_use": "id",
            "iat": now,
            "exp": now + 3600,
            "email": f"{subject}@example.com",
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or private_key, algorithm="RS256", headers={"kid": kid})

    return mint
