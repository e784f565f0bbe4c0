"""The local API Gateway (REST, proxy integration): template routes -> function handlers.

Per request, in API Gateway's order: match a route of template.yaml (unknown path: 404;
known path, other method: 405 with ``Allow``), answer CORS preflights itself, run the
Cognito authorizer on protected routes (401 before any handler runs; 503 if the keys
can't be fetched), refuse bodies over the limit (413), build the REST proxy event,
invoke the function in one of its execution environments and turn the proxy response
back into HTTP. Errors raised here use the API's one error shape, with CORS headers,
as the template's GatewayResponses do.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from cloudshelf_dev.auth import AuthError, CognitoAuthorizer, JwksUnavailable
from cloudshelf_dev.events import match_route, proxy_event
from cloudshelf_dev.runtime import FunctionPool, InvocationError, Throttled
from cloudshelf_dev.template import FunctionSpec, load_template

NOTE_KEY = "cloudshelf.note"  # WSGI environ key: what the console log line adds about a request


@dataclass(frozen=True)
class Target:
    """Where one method of one resource goes."""

    function: str
    route_name: str
    public: bool


@dataclass
class Resource:
    """A template path (``/books/{bookId}``) and its methods."""

    path: str
    methods: dict[str, Target] = field(default_factory=dict)

    @property
    def specificity(self) -> tuple[int, int]:
        """Static segments win over parameters, as in API Gateway."""
        return (-self.path.count("{"), len(self.path))


def route_table(specs: list[FunctionSpec]) -> dict[str, Resource]:
    """Every template route, by resource path."""
    table: dict[str, Resource] = {}
    for spec in specs:
        for route in spec.routes:
            resource = table.setdefault(route.path, Resource(route.path))
            if route.method in resource.methods:
                raise ValueError(f"{route.method} {route.path} is declared twice in template.yaml")
            resource.methods[route.method] = Target(spec.logical_id, route.name, route.public)
    return table


def cors_headers(origin: str) -> dict[str, str]:
    """The API's CORS settings from template.yaml (CloudShelfApi ``Cors``), for ``origin``."""
    apis = [r for r in load_template()["Resources"].values() if r.get("Type") == "AWS::Serverless::Api"]
    cors = apis[0]["Properties"].get("Cors", {}) if apis else {}

    def value(raw: Any) -> str:
        text = raw["Fn::Sub"] if isinstance(raw, dict) else str(raw)
        return text.replace("${AllowedOrigin}", origin).strip("'")

    names = {
        "AllowOrigin": "Access-Control-Allow-Origin",
        "AllowHeaders": "Access-Control-Allow-Headers",
        "AllowMethods": "Access-Control-Allow-Methods",
        "MaxAge": "Access-Control-Max-Age",
        "AllowCredentials": "Access-Control-Allow-Credentials",
    }
    return {names[k]: value(v) for k, v in cors.items() if k in names}


class Gateway:
    """A WSGI application serving the API (mount it at the API's base path)."""

    def __init__(
        self,
        specs: list[FunctionSpec],
        pools: dict[str, FunctionPool],
        authorizer: CognitoAuthorizer,
        *,
        allowed_origin: str,
        max_body_bytes: int,
        stage: str = "local",
    ) -> None:
        self.resources = sorted(route_table(specs).values(), key=lambda r: r.specificity, reverse=True)
        self.pools = pools
        self.authorizer = authorizer
        self.max_body_bytes = max_body_bytes
        self.stage = stage
        self.cors = cors_headers(allowed_origin)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def call(self, method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        """Serve a request without HTTP (the stack uses it for covers)."""
        return self.handle(
            Request(EnvironBuilder(path=path, method=method, headers=list((headers or {}).items())).get_environ())
        )

    def match(self, path: str) -> tuple[Resource, dict[str, str]] | None:
        """The most specific resource matching ``path``, with its path parameters."""
        for resource in self.resources:
            params = match_route(resource.path, path)
            if params is not None:
                return resource, params
        return None

    def handle(self, request: Request) -> Response:
        """One request, start to end."""
        routed = self._route(request)
        if isinstance(routed, Response):
            return routed
        resource, params, target = routed
        claims: dict[str, str] | None = None
        if not target.public:
            verified = self._authorize(request)
            if isinstance(verified, Response):
                return verified
            claims = verified
        body = self._body(request)
        if body is None:
            return self.error(413, "PAYLOAD_TOO_LARGE", f"the body may be at most {self.max_body_bytes} bytes")
        event = proxy_event(
            request.method.upper(),
            resource.path,
            request.path,
            path_parameters=params,
            query={k: list(v) for k, v in request.args.lists()},
            headers=self._headers(request),
            body=body,
            claims=claims,
            stage=self.stage,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        return self._invoke(request, target, event)

    def _route(self, request: Request) -> tuple[Resource, dict[str, str], Target] | Response:
        """The route of the request, or the gateway's own answer (404, preflight, 405)."""
        found = self.match(request.path)
        if found is None:
            return self.error(404, "NOT_FOUND", "No such route")
        resource, params = found
        method = request.method.upper()
        target = resource.methods.get(method)
        if method == "OPTIONS":
            return Response(status=200, headers=self.cors, content_type="application/json")
        if target is None:
            allow = ", ".join([*sorted(resource.methods), "OPTIONS"])
            return self.error(
                405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {resource.path}", {"Allow": allow}
            )
        return resource, params, target

    def _authorize(self, request: Request) -> dict[str, str] | Response:
        """The verified claims, or 401 (no or bad token) / 503 (the pool's keys are unreachable)."""
        try:
            return self.authorizer.claims_for_header(request.headers.get("Authorization"))
        except AuthError as exc:
            return self.error(401, "UNAUTHORIZED", str(exc), {"WWW-Authenticate": "Bearer"})
        except JwksUnavailable as exc:
            return self.error(503, "SERVICE_UNAVAILABLE", str(exc), {"Retry-After": "5"})

    def _invoke(self, request: Request, target: Target, event: dict[str, Any]) -> Response:
        """Run the function on a free execution environment and turn its answer into HTTP."""
        request_id = str(event["requestContext"]["requestId"])
        note = target.function
        try:
            invocation = self.pools[target.function].invoke(event, request_id)
        except Throttled as exc:
            return self.error(429, "THROTTLED", str(exc), {"Retry-After": "1"})
        except InvocationError as exc:
            request.environ[NOTE_KEY] = f"{note}: {exc}"
            return self.error(502, "INTEGRATION_FAILURE", f"Internal server error: {exc}")
        if invocation.cold_start_ms is not None:
            note += f", cold start {invocation.cold_start_ms:.0f} ms"
        request.environ[NOTE_KEY] = f"{note}, handler {invocation.ms:.1f} ms"
        response = self.to_http(invocation.response)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _body(self, request: Request) -> bytes | None:
        """The body, or None when it is over the limit (read no more than limit + 1 bytes)."""
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            return None
        data = request.stream.read(self.max_body_bytes + 1)
        return None if len(data) > self.max_body_bytes else data

    def _headers(self, request: Request) -> dict[str, list[str]]:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name, []).append(value)
        headers.setdefault("X-Forwarded-For", [request.remote_addr or "127.0.0.1"])
        headers.setdefault("X-Forwarded-Proto", [request.scheme])
        return headers

    def to_http(self, proxy: Any) -> Response:
        """A Lambda proxy response as HTTP (502 when it is malformed, as API Gateway does)."""
        if not isinstance(proxy, dict) or not isinstance(proxy.get("statusCode"), int):
            return self.error(502, "INTEGRATION_FAILURE", "Malformed Lambda proxy response")
        headers = Headers()
        multi = {k.lower(): (k, v) for k, v in (proxy.get("multiValueHeaders") or {}).items()}
        for name, value in (proxy.get("headers") or {}).items():
            if name.lower() not in multi:
                headers.add(name, str(value))
        for name, values in multi.values():
            for value in values or []:
                headers.add(name, str(value))
        raw = proxy.get("body") or ""
        try:
            data = base64.b64decode(raw, validate=True) if proxy.get("isBase64Encoded") else str(raw).encode("utf-8")
        except ValueError:
            return self.error(502, "INTEGRATION_FAILURE", "Malformed Lambda proxy response")
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        return Response(data, status=proxy["statusCode"], headers=headers)

    def error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
        """An error raised by the gateway itself, in the API's error shape, with CORS headers."""
        body = json.dumps({"error": {"code": code, "message": message, "details": None}})
        cors = {
            k: v for k, v in self.cors.items() if k in ("Access-Control-Allow-Origin", "Access-Control-Allow-Headers")
        }
        return Response(body, status=status, headers={**cors, **(headers or {})}, content_type="application/json")
