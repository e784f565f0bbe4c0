"""Building a function's resolver and its Lambda entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudshelf.api.auth import parse_groups
from cloudshelf.api.errors import register_error_handlers
from cloudshelf.observability import logger, metrics, tracer
from cloudshelf.settings import get_settings

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def new_router() -> Router:
    """A router for one resource's routes."""
    return Router()


def create_app(*routers: Any) -> APIGatewayRestResolver:
    """A REST resolver with request validation and our error mapping, holding ``routers``."""
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    for router in routers:
        app.include_router(router)
    return app


def _early_error(status: int, code: str, message: str) -> dict[str, Any]:
    body = json.dumps({"error": {"code": code, "message": message, "details": None}})
    return {
        "statusCode": status,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": body,
        "isBase64Encoded": False,
    }


def body_bytes(event: dict[str, Any]) -> int:
    """The size of the request body in bytes (not characters; base64 bodies by their decoded size)."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(raw) * 3 // 4 - raw[-2:].count("=")
    return len(raw.encode("utf-8", "surrogatepass"))


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (no Content-Type counts as JSON, as Powertools reads it)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("", "application/json")


def precheck(event: dict[str, Any], *, admin_writes: bool) -> dict[str, Any] | None:
    """Refusals that come before any parsing: oversized bodies, non-admin catalog writes, non-JSON bodies."""
    limit = get_settings().max_body_bytes
    if body_bytes(event) > limit:
        return _early_error(413, "PAYLOAD_TOO_LARGE", f"the body may be at most {limit} bytes")
    if admin_writes and event.get("httpMethod") not in ("GET", "HEAD", "OPTIONS"):
        claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
        if not claims.get("sub"):
            return _early_error(401, "UNAUTHORIZED", "sign in first")
        if "admin" not in parse_groups(claims.get("cognito:groups")):
            return _early_error(403, "FORBIDDEN", "only admins may change the catalog")
    # The API speaks JSON only: never hand form or multipart bodies to Powertools' parsers.
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), None)
    if event.get("body") and not is_json_media_type(content_type):
        return _early_error(415, "UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")
    return None


def add_cors(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Allow the storefront's origin (one configured origin, never ``*``)."""
    headers = event.get("headers") or {}
    origin = next((v for k, v in headers.items() if k.lower() == "origin"), None)
    allowed = get_settings().allowed_origin
    if origin and origin == allowed:
        multi = response.setdefault("multiValueHeaders", {})
        multi["Access-Control-Allow-Origin"] = [allowed]
        multi["Vary"] = ["Origin"]
        multi["Access-Control-Expose-Headers"] = ["Retry-After"]
    return response


def lambda_entry(app: APIGatewayRestResolver, *, admin_writes: bool = False) -> LambdaHandler:
    """The Lambda handler for ``app``: correlation id in logs, tracing, metrics flushed.

    ``admin_writes``: every non-GET route of this function needs the ``admin`` group.
    """

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        response = precheck(event, admin_writes=admin_writes) or app.resolve(event, context)
        return add_cors(event, response)

    return handler


def no_content() -> Response[str]:
    """A 204 with an empty body."""
    return Response(status_code=204, body="")
