"""Write events/*.json: one real-format API Gateway REST proxy event per route of template.yaml.

The events carry the headers API Gateway and CloudFront add, and for protected routes the
claims the Cognito authorizer passes on. Use them with ``sam local invoke -e`` or in tests.
Run: ``.venv/bin/python scripts/make_events.py``.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

from cloudshelf_dev.events import claims_for, proxy_event
from cloudshelf_dev.template import ROOT, functions

BOOK_ID = "pride-and-prejudice"
ORDER_ID = "01JD0000000000000000000000"
SHOPPER = claims_for("5f1c7e52-0b7e-4c1e-9f55-3c1a2b3c4d5e", "reader@example.com")
ADMIN = claims_for("8a2d4f60-1c9b-4b8e-a7e3-7d6e5f4a3b2c", "admin@example.com", ["admin"])
BOOK = {
    "title": "The Time Machine",
    "author": "H. G. Wells",
    "category": "Science Fiction",
    "price": "9.99",
    "stock": 12,
    "description": "A Victorian inventor travels to the year 802,701.",
    "isbn": "978-0-306-40615-7",
}
BODIES: dict[str, Any] = {
    "CreateBook": BOOK,
    "ReplaceBook": {**BOOK, "price": "11.50", "stock": 7},
    "PutCartItem": {"quantity": 2},
    "PutMe": {
        "displayName": "Elizabeth",
        "address": {"line1": "1 Longbourn Lane", "city": "Meryton", "postalCode": "HP1 1AA", "country": "GB"},
    },
    "PlaceOrder": {"note": "Gift wrap, please"},
}
QUERIES = {"ListBooks": {"category": ["Fiction"], "limit": ["10"]}, "ListOrders": {"limit": ["10"]}}
HEADERS = {
    "Accept": ["application/json"],
    "Accept-Encoding": ["gzip, deflate, br"],
    "CloudFront-Forwarded-Proto": ["https"],
    "CloudFront-Viewer-Country": ["GB"],
    "Host": ["abcdef1234.execute-api.eu-west-1.amazonaws.com"],
    "User-Agent": ["Mozilla/5.0 (X11; Linux x86_64)"],
    "Via": ["2.0 0f1e2d3c4b5a69788796a5b4c3d2e1f0.cloudfront.net (CloudFront)"],
    "X-Amzn-Trace-Id": ["Root=1-674a1b2c-0123456789abcdef01234567"],
    "X-Forwarded-For": ["203.0.113.7, 198.51.100.10"],
    "X-Forwarded-Port": ["443"],
    "X-Forwarded-Proto": ["https"],
}


def snake(name: str) -> str:
    """ListBooks -> list_books."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def build(name: str, method: str, resource: str, public: bool) -> dict[str, Any]:
    """The event for one route."""
    params = {"bookId": BOOK_ID, "orderId": ORDER_ID}
    names = re.findall(r"\{(\w+)\}", resource)
    path = resource
    for param in names:
        path = path.replace("{" + param + "}", params[param])
    headers = dict(HEADERS)
    body = BODIES.get(name)
    if body is not None:
        headers["Content-Type"] = ["application/json"]
    if not public:
        headers["Authorization"] = ["Bearer eyJraWQiOiJ...the-id-token...signature"]
    if name == "PlaceOrder":
        headers["Idempotency-Key"] = ["3f0f6c1e-8d9a-4b7e-9c1d-2a3b4c5d6e7f"]
    if name == "ReplaceBook":  # the version the admin read (GET sent it as the ETag); or "version" in the body
        headers["If-Match"] = ['"1"']
    claims = None if public else (ADMIN if method in ("POST", "PUT", "DELETE") and "books" in resource else SHOPPER)
    event = proxy_event(
        method,
        resource,
        path,
        path_parameters={p: params[p] for p in names},
        query=QUERIES.get(name),
        headers=headers,
        body=json.dumps(body) if body is not None else None,
        claims=claims,
        stage="prod",
        source_ip="203.0.113.7",
    )
    event["requestContext"]["requestId"] = f"c6af9ac6-7b61-11e6-9a41-{zlib.crc32(name.encode()):012d}"
    event["requestContext"]["requestTimeEpoch"] = 1732000000000
    event["requestContext"]["requestTime"] = "19/Nov/2024:07:06:40 +0000"
    return event


def main() -> None:
    """Write one file per route."""
    out = ROOT / "events"
    out.mkdir(exist_ok=True)
    for spec in functions():
        for route in spec.routes:
            event = build(route.name, route.method, route.path, route.public)
            Path(out / f"{snake(route.name)}.json").write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
