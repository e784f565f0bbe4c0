"""The security suite: hostile input, faults and access control against the whole local stack.

Fixtures: ``stack`` (one per session and data phase, like tests/contract), ``api``, the demo
``admin``, freshly registered shoppers (``shopper_a``, ``shopper_b``, ``make_shopper``) with
real Cognito ID tokens of the stack's pool, ``new_book`` (an admin-created book) and
``forge`` (tokens signed with moto's own private key, with chosen claims). ``tally``
counts what the suite did (fuzz cases, matrix cells, injected faults) and prints it at
the end of the session.
"""

from __future__ import annotations

import gzip
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws
from security_support import PASSWORD, Api, Functions, User, book_body, reset_caches

from cloudshelf_dev import cognito
from cloudshelf_dev.server import Stack, start_stack
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="session")
def tally() -> Counter[str]:
    """Counts of what the suite did, by name (``fuzz cases phase1``, ``matrix cells``, ...)."""
    return TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY:
        terminalreporter.section("security suite figures")
        for name, value in sorted(TALLY.items()):
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session", params=["1", "2"], ids=["phase1", "phase2"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack on a free loopback port, seeded, in data phase 1 and then phase 2."""
    running = start_stack(
        port=0, seed=True, phase=request.param, log_dir=tmp_path_factory.mktemp(f"security-logs-{request.param}")
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    return Api(stack.api_url)


def _sub(token: str) -> str:
    sub: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return sub


@pytest.fixture(scope="session")
def make_shopper(stack: Stack) -> Callable[[], User]:
    """Register a brand-new shopper in the stack's pool (confirmed) and return them signed in."""

    def make() -> User:
        email = f"sec-{uuid.uuid4().hex[:10]}@example.com"
        tokens = cognito.register_user(stack.user_pool, email, PASSWORD, name=email.split("@", maxsplit=1)[0])
        return User(email, tokens.id_token, _sub(tokens.id_token), tokens.access_token)

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
    tokens = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password)
    return User(email, tokens.id_token, _sub(tokens.id_token), tokens.access_token)


@pytest.fixture(scope="session")
def new_book(api: Api, admin: User) -> Callable[..., dict[str, Any]]:
    """Create a book as the admin (fields overridable) and return it as the API shows it."""

    def create(**overrides: Any) -> dict[str, Any]:
        response = api.post("/books", admin.token, json=book_body(**overrides))
        assert response.status_code == 201, response.text
        book: dict[str, Any] = response.json()
        return book

    return create


@pytest.fixture(scope="session")
def moto_private_key() -> Any:
    """moto's Cognito signing key (public knowledge: it ships in the moto package)."""
    resource = files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz")
    return jwt.algorithms.RSAAlgorithm.from_jwk(gzip.decompress(resource.read_bytes()).decode())


@pytest.fixture(scope="session")
def forge(stack: Stack, moto_private_key: Any) -> Callable[..., str]:
    """Mint an ID token signed with the pool's own key (moto's), with chosen claims (None drops one)."""
    pool = stack.user_pool

    def mint(
        subject: str = "forged-user",
        *,
        key: Any = None,
        kid: str = "dummy",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
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
        return jwt.encode(payload, key or moto_private_key, algorithm="RS256", headers={"kid": kid, **(headers or {})})

    return mint


# ---------------------------------------------------------------- the functions in-process, on moto


@pytest.fixture
def functions_on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    """Phase 1's functions in-process on moto's in-memory DynamoDB, with the template's tables."""
    names = local_table_names("security")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    monkeypatch.setenv("CLOUDSHELF_DATA_PHASE", "1")
    monkeypatch.delenv("CLOUDSHELF_DB_DSN", raising=False)
    with mock_aws():
        reset_caches()
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), names)
        yield Functions()
    reset_caches()
