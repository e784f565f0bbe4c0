"""The Cognito authorizer on every protected route of template.yaml: what passes and what doesn't."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from contract_support import Api, User, error_code
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudshelf_dev import cognito
from cloudshelf_dev.auth import CognitoAuthorizer
from cloudshelf_dev.gateway import Gateway
from cloudshelf_dev.server import Stack
from cloudshelf_dev.template import functions

PARAMS = {"bookId": "pride-and-prejudice", "orderId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}
PROTECTED = sorted(
    (route.method, route.path.format(**PARAMS)) for spec in functions() for route in spec.routes if not route.public
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A JWT put together by hand: no signature, or HMAC-SHA256 with ``secret``."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = b64(hmac.new(secret, head.encode(), hashlib.sha256).digest()) if secret else ""
    return f"{head}.{signature}"


def bad_tokens(stack: Stack, forge: Callable[..., str]) -> dict[str, str]:
    """One token per way of being wrong."""
    now = int(time.time())
    good_claims = json.loads(base64.urlsafe_b64decode(forge().split(".")[1] + "=="))
    jwks = requests.get(stack.user_pool.jwks_url, timeout=10).content
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "garbage": "not.a.jwt",
        "alg-none": unsigned_token({"alg": "none", "typ": "JWT", "kid": "dummy"}, good_claims),
        "hs256-with-public-key": unsigned_token({"alg": "HS256", "kid": "dummy"}, good_claims, jwks),
        "wrong-key": forge(key=other_key),
        "unknown-kid": forge(kid="another-key"),
        "expired": forge(iat=now - 7200, exp=now - 3600),
        "issued-in-the-future": forge(iat=now + 3600, exp=now + 7200),
        "wrong-audience": forge(aud="another-app-client"),
        "another-pool": forge(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_anotherpool"),
        "access-token": forge(token_use="access", aud=None, client_id=stack.user_pool.client_id),
        "no-token-use": forge(token_use=None),
        "no-expiry": forge(exp=None),
        "no-subject": forge(sub=None),
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_refuse_missing_and_bad_tokens(
    api: Api, stack: Stack, forge: Callable[..., str], method: str, path: str
) -> None:
    # Given a protected route and requests without a token or with a bad one
    cases: dict[str, dict[str, str]] = {"no-header": {}, "empty-bearer": {"Authorization": "Bearer "}}
    cases.update({name: {"Authorization": f"Bearer {t}"} for name, t in bad_tokens(stack, forge).items()})
    for name, headers in cases.items():
        # When each is sent
        response = api.request(method, path, headers=headers, json={"quantity": 1} if method == "PUT" else None)
        # Then the gateway answers 401 in the error shape, before any handler ran
        assert response.status_code == 401, (name, response.text)
        assert error_code(response) == "UNAUTHORIZED", name
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "x-amzn-RequestId" not in response.headers, name


def test_a_well_made_token_passes_raw_or_as_bearer(api: Api, forge: Callable[..., str]) -> None:
    # Given a token signed with the pool's key and every claim right (the negatives differ in one thing)
    token = forge("forged-but-valid")
    # When it is sent as "Bearer <jwt>" and as the raw JWT
    as_bearer = api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    raw = api.get("/users/me", headers={"Authorization": token})
    # Then both pass the authorizer, and the caller is the token's subject
    assert as_bearer.status_code == raw.status_code == 200
    assert as_bearer.json()["userId"] == "forged-but-valid"


def test_real_access_tokens_are_refused(api: Api, stack: Stack) -> None:
    # Given the admin's real access token from Cognito (REST methods without OAuth scopes take ID tokens)
    email, password = stack.admin
    tokens = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password)
    # When it is used
    response = api.get("/users/me", tokens.access_token)
    # Then 401, while the ID token of the same sign-in works
    assert response.status_code == 401
    assert api.get("/users/me", tokens.id_token).status_code == 200


def test_claims_reach_the_handler_as_the_rest_authorizer_passes_them(api: Api, admin: User) -> None:
    # Given the admin's ID token (group admin)
    # When the admin creates a book (the handler checks "cognito:groups" from the claims)
    response = api.post(
        "/books",
        admin.token,
        json={
            "title": "Claims",
            "author": "A",
            "category": "Claims Check",
            "price": "1.00",
            "stock": 0,
            "isbn": "9780306406157",
        },
    )
    # Then the handler saw the group: 201
    assert response.status_code == 201, response.text
    assert api.delete(f"/books/{response.json()['bookId']}", admin.token).status_code == 204


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_keys_are_503_never_a_pass(stack: Stack, forge: Callable[..., str]) -> None:
    # Given a gateway whose authorizer can't reach the pool's JWKS
    pool = stack.user_pool
    url = f"http://127.0.0.1:{closed_port()}/{pool.pool_id}/.well-known/jwks.json"
    authorizer = CognitoAuthorizer(url, pool.issuer, [pool.client_id], timeout=2)
    gateway = Gateway(functions(), {}, authorizer, allowed_origin="http://127.0.0.1:3000", max_body_bytes=65536)
    # When a well-made token is presented to a protected route
    response = gateway.call("GET", "/cart", headers={"Authorization": f"Bearer {forge()}"})
    # Then 503 with Retry-After, and no function was invoked (the gateway has none)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert json.loads(response.get_data())["error"]["code"] == "SERVICE_UNAVAILABLE"
