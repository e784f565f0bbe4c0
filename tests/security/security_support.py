"""Helpers of the security suite (its fixtures are in conftest.py).

The HTTP client and users are the contract suite's, the in-process event plumbing the
handler tests'; what is here is the security suite's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from decimal import Decimal
from typing import Any

from cloudshelf_dev.events import claims_for, proxy_event
from cloudshelf_dev.handlers import handler_for
from cloudshelf_dev.template import functions
from tests.contract.contract_support import PASSWORD, Api, User, error_code, unique
from tests.integration.conftest import LambdaContext, Reply

__all__ = ["PASSWORD", "Api", "LambdaContext", "Reply", "User", "error_code", "unique"]


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
