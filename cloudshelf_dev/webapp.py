"""Everything the local stack serves besides the API: config, covers, docs, Cognito proxy, storefront.

- ``/config.json``: what the storefront reads at start (in AWS written from stack outputs);
- ``/covers/<bookId>.svg``: generated covers (the book is read through the API itself);
- ``/openapi.json`` and ``/docs`` (Swagger UI from the files Powertools ships: no CDN);
- ``/cognito/``: the same-origin Cognito endpoint (:mod:`cloudshelf_dev.cognito_proxy`);
- ``/_dev/mailbox``: the e-mails the local user pool "sent" (confirmation codes);
- ``/_dev/stack.json``: where moto is and what is in it (for ``cloudshelf seed`` and ``cloudshelf migrate``);
- ``/_dev/settings`` (POST): new migration settings for every function, like a redeploy;
- ``/``: the storefront from ``frontend/``, or a landing page until it exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from cloudshelf_dev.cognito_proxy import CognitoProxy
from cloudshelf_dev.covers import cover_svg
from cloudshelf_dev.gateway import Gateway
from cloudshelf_dev.template import ROOT

FRONTEND = ROOT / "frontend"
SWAGGER_ASSETS = {"swagger-ui-bundle.js": "swagger-ui-bundle.min.js", "swagger-ui.css": "swagger-ui.min.css"}
_BOOK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

DOCS_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CloudShelf API docs</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: true, validatorUrl: null, layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis]});
</script></body></html>
"""

LANDING_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CloudShelf (local)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#f2f2f2;padding:0 .25rem}}</style></head>
<body><h1>CloudShelf local stack</h1>
<p>The storefront is not built yet (<code>frontend/index.html</code> does not exist), so this page
lists what is running.</p>
<ul>
<li>API: <a href="{base}/api/books">{base}/api/books</a> (every route of template.yaml)</li>
<li>API docs: <a href="{base}/docs">{base}/docs</a> and <a href="{base}/openapi.json">{base}/openapi.json</a></li>
<li>Storefront config: <a href="{base}/config.json">{base}/config.json</a></li>
<li>Sign-up e-mails (confirmation codes): <a href="{base}/_dev/mailbox">{base}/_dev/mailbox</a></li>
</ul></body></html>
"""


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, indent=2), status=status, content_type="application/json")


def _not_found(message: str) -> Response:
    return _json({"error": {"code": "NOT_FOUND", "message": message, "details": None}}, 404)


class WebApp:
    """The non-API part of the local stack, a WSGI application."""

    def __init__(
        self,
        *,
        base_url: str,
        config: Callable[[str], dict[str, str]],
        dev_info: dict[str, Any],
        gateway: Gateway,
        proxy: CognitoProxy,
        openapi_document: str,
    ) -> None:
        self.base_url = base_url
        self.config = config
        self.dev_info = dev_info
        self.gateway = gateway
        self.proxy = proxy
        self.openapi = openapi_document.encode("utf-8")
        self._covers: dict[str, str] = {}
        self.redeploy: Callable[[dict[str, str]], dict[str, str]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def base_for(self, request: Request) -> str:
        """The origin the caller used (so localhost and 127.0.0.1 both work), else the configured one."""
        host = request.headers.get("Host", "")
        return f"http://{host}" if _HOST.match(host) else self.base_url

    def handle(self, request: Request) -> Response:
        """Route one request."""
        path = request.path
        exact: dict[str, Callable[[Request], Response]] = {
            "/config.json": self.config_json,
            "/cognito": self.cognito,
            "/cognito/": self.cognito,
            "/openapi.json": lambda _: Response(self.openapi, content_type="application/json"),
            "/docs": lambda _: Response(DOCS_HTML, content_type="text/html; charset=utf-8"),
            "/docs/": lambda _: Response(DOCS_HTML, content_type="text/html; charset=utf-8"),
            "/_dev/mailbox": lambda r: _json({"messages": self.proxy.mailbox.messages(r.args.get("to"))}),
            "/_dev/stack.json": lambda _: _json(self.dev_info),
            "/_dev/settings": self.settings,
        }
        if path in exact:
            return exact[path](request)
        if path.startswith("/covers/") and path.endswith(".svg"):
            return self.cover(path.removeprefix("/covers/").removesuffix(".svg"), request)
        if path.startswith("/docs/") and path.removeprefix("/docs/") in SWAGGER_ASSETS:
            return self.swagger_asset(path.removeprefix("/docs/"), request)
        return self.storefront(request)

    def settings(self, request: Request) -> Response:
        """``POST /_dev/settings`` ``{"CLOUDSHELF_BOOKS_STORE": "dual-write"}``: redeploy with new settings."""
        if request.method != "POST":
            return Response(status=405, headers={"Allow": "POST"})
        body = request.get_json(silent=True)
        if self.redeploy is None or not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            return _json({"error": {"code": "INVALID_INPUT", "message": "send a JSON object of strings"}}, 400)
        try:
            return _json({"settings": self.redeploy(body)})
        except ValueError as exc:
            return _json({"error": {"code": "INVALID_INPUT", "message": str(exc)}}, 400)

    def config_json(self, request: Request) -> Response:
        response = _json(self.config(self.base_for(request)))
        response.headers["Cache-Control"] = "no-store"
        return response

    def cognito(self, request: Request) -> Response:
        if request.method != "POST":
            return Response("POST the Cognito user pool API here", status=405, headers={"Allow": "POST"})
        status, headers, body = self.proxy.handle(request.headers.get("X-Amz-Target", ""), request.get_data())
        return Response(body, status=status, headers=headers)

    def cover(self, book_id: str, request: Request) -> Response:
        if not _BOOK_ID.match(book_id):
            return _not_found("no such cover")
        answer = self.gateway.call("GET", f"/books/{book_id}")
        if answer.status_code != 200:
            return _not_found("no such book") if answer.status_code == 404 else answer
        book = json.loads(answer.get_data())
        key = f"{book['title']}\x00{book['author']}\x00{book['category']}"
        svg = self._covers.get(key)
        if svg is None:
            svg = self._covers[key] = cover_svg(book["title"], book["author"], book["category"])
        etag = hashlib.sha256(svg.encode()).hexdigest()[:32]
        headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=300"}
        if etag in request.if_none_match:
            return Response(status=304, headers=headers)
        return Response(svg, content_type="image/svg+xml; charset=utf-8", headers=headers)

    def swagger_asset(self, name: str, request: Request) -> Response:
        from aws_lambda_powertools.event_handler.openapi import swagger_ui

        folder = Path(swagger_ui.__file__).parent
        return send_from_directory(folder, SWAGGER_ASSETS[name], request.environ, max_age=3600)

    def storefront(self, request: Request) -> Response:
        if not (FRONTEND / "index.html").is_file():
            if request.path in ("/", "/index.html"):
                html = LANDING_HTML.format(base=escape(self.base_for(request)))
                return Response(html, content_type="text/html; charset=utf-8")
            return _not_found("no such page")
        name = request.path.lstrip("/") or "index.html"
        if name.endswith("/"):
            name += "index.html"
        try:
            response = send_from_directory(FRONTEND, name, request.environ, max_age=0)
        except NotFound:
            return _not_found("no such page")
        response.headers["Cache-Control"] = "no-cache"
        return response
