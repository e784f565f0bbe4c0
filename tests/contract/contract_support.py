"""Helpers of the contract suite (its fixtures are in conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

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
    return f"test-{uuid.uuid4().hex}"


def book_body(**overrides: Any) -> dict[str, Any]:
    """A valid admin book body: a unique title, in a category of its own."""
    body: dict[str, Any] = {
        "title": unique("Test Book"),
        "author": "Test Author",
        "category": unique("Cat"),
        "price": "12.50",
        "stock": 5,
        "description": "A book made by a contract test.",
        "isbn": "978-0-306-40615-7",
    }
    body.update(overrides)
    return body


def if_match(book: dict[str, Any]) -> dict[str, str]:
    """The precondition of a write by someone who read ``book``: ``If-Match`` with its version (its ETag)."""
    return {"If-Match": f'"{book["version"]}"'}


def error_code(response: requests.Response) -> str:
    """The ``error.code`` of an error answer, asserting the API's one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    code: str = body["error"]["code"]
    return code
