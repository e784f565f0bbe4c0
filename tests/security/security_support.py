"""Helpers of the security suite (its fixtures are in conftest.py).

Kept apart from the contract suite's helpers on purpose: this suite must keep working
(and keep failing loudly) whatever happens to the others.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from cloudshelf_dev.events import claims_for, proxy_event
from cloudshelf_dev.handlers import handler_for
from cloudshelf_dev.template import functions

PASSWORD = "Reader-Pass-1234"


class Api:
    """requests.Session with the API's base URL; ``token`` adds ``Authorization: Bearer <token>``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.calls = 0

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 30)
        self.calls += 1
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, token, **kwargs)

    def put(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, token, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, token, **kwargs)


@dataclass(frozen=True)
class User:
    """A signed-in user of the stack's pool."""

    email: str
    token: str
    sub: str
    access_token: str = field(default="", repr=False)


def unique(prefix: str) -> str:
    """``prefix`` plus a random suffix, so that tests never share data."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def idempotency_key() -> str:
    """A fresh Idempotency-Key."""
    return f"sec-{uuid.uuid4().hex}"


def book_body(**overrides: Any) -> dict[str, Any]:
    """A valid admin book body: a unique title, in a category of its own."""
    body: dict[str, Any] = {
        "title": unique("Security Book"),
        "author": "Sec Author",
        "category": unique("Sec"),
        "price": "12.50",
        "stock": 50,
        "description": "A book made by the security suite.",
        "isbn": "978-0-306-40615-7",
    }
    body.update(overrides)
    return body


def error_code(response: requests.Response) -> str:
    """The ``error.code`` of an error answer, asserting the API's one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    code: str = body["error"]["code"]
    return code


def money(value: str) -> Decimal:
    """A money string of the API as an exact Decimal (two places, never a float)."""
    assert isinstance(value, str), value
    amount = Decimal(value)
    assert amount.as_tuple().exponent == -2, value
    return amount


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A JWT put together by hand: no signature, or HMAC-SHA256 with ``secret``."""
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = b64url(hmac.new(secret, head.encode(), hashlib.sha256).digest()) if secret else ""
    return f"{head}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def snapshot(api: Api, user: User) -> dict[str, Any]:
    """What a user owns, as the API shows it to them: cart lines, orders, profile."""
    cart = api.get("/cart", user.token)
    orders = api.get("/orders", user.token, params={"limit": 100})
    profile = api.get("/users/me", user.token)
    assert cart.status_code == orders.status_code == profile.status_code == 200, (cart.text, orders.text)
    return {
        "cart": [(line["bookId"], line["quantity"]) for line in cart.json()["items"]],
        "orders": orders.json()["items"],
        "profile": {k: v for k, v in profile.json().items() if k != "updatedAt"},
    }


# ---------------------------------------------------------------- the functions in-process


@dataclass
class LambdaContext:
    """The parts of the Lambda context that Powertools reads."""

    function_name: str = "cloudshelf-security"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-security"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class Reply:
    """A handler's answer, decoded."""

    status: int
    body: Any
    headers: dict[str, list[str]] = field(default_factory=dict)


class Functions:
    """Call the template's functions in-process with real REST proxy events (what API Gateway sends)."""

    def __init__(self) -> None:
        self.function_of = {(r.method, r.path): spec.logical_id for spec in functions() for r in spec.routes}

    def __call__(
        self,
        method: str,
        resource: str,
        *,
        claims: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **path: str,
    ) -> Reply:
        params = {k: v for k, v in path.items() if "{" + k + "}" in resource}
        event = proxy_event(
            method,
            resource,
            resource.format(**params),
            path_parameters=params or None,
            headers={"Content-Type": ["application/json"], **{k: [v] for k, v in (headers or {}).items()}},
            body=None if body is None else json.dumps(body),
            claims=claims,
        )
        result = handler_for(self.function_of[method, resource])(event, LambdaContext())
        text = result.get("body") or ""
        return Reply(result["statusCode"], json.loads(text) if text else None, result.get("multiValueHeaders") or {})


def reset_caches() -> None:
    """Forget every cached client, repository and setting."""
    from cloudshelf.api import deps, idempotency
    from cloudshelf.repositories.factory import clear_caches

    clear_caches()
    idempotency.clear_cache()
    deps.cart_rules.cache_clear()


ADMIN_CLAIMS = claims_for("security-admin", "admin@example.com", ["admin"])
SHOPPER_CLAIMS = claims_for("security-shopper-a", "ann@example.com")
OTHER_CLAIMS = claims_for("security-shopper-b", "ben@example.com")
