"""Building a function's resolver and its Lambda entry point."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any, NoReturn

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudshelf.api.auth import parse_groups
from cloudshelf.api.errors import register_error_handlers
from cloudshelf.observability import logger, metrics, tracer
from cloudshelf.settings import get_settings

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
MAX_JSON_DEPTH = 32
"""How deeply a request body may nest arrays and objects (ours nest two levels)."""
BODY_METHODS = ("POST", "PUT", "PATCH")
# In a query string or path parameter: no C0 control character (PostgreSQL text refuses a NUL) and
# no lone surrogate (not UTF-8: no store can take it).
_UNSAFE_PARAMETER = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


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


def _early_error(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    body = json.dumps({"error": {"code": code, "message": message, "details": details}})
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
    """Refusals that come before Powertools parses anything.

    Oversized bodies (413), non-admin catalog writes (401/403), non-JSON bodies (415), control
    characters in query strings and path parameters (422), and JSON bodies Python's parser can't
    take safely (400).
    """
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
    return _unsafe_parameter(event) or _unreadable_body(event)


def _unsafe_parameter(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 422 for a query string or path parameter holding a control character (or a lone surrogate)."""
    sources = (
        ("query", event.get("multiValueQueryStringParameters")),
        ("query", event.get("queryStringParameters")),
        ("path", event.get("pathParameters")),
    )
    for where, params in sources:
        for name, raw in (params or {}).items():
            values = raw if isinstance(raw, list) else [raw]
            if any(isinstance(v, str) and _UNSAFE_PARAMETER.search(v) for v in values):
                problem = {"loc": [where, name], "msg": "control characters are not allowed", "type": "string_pattern"}
                return _early_error(422, "VALIDATION_ERROR", "the request is not valid", [problem])
    return None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def json_depth(data: Any) -> int:
    """How deeply ``data`` nests lists and dicts (iteratively: no recursion to exhaust)."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            break
        pending.extend((child, level + 1) for child in children)
    return deepest


def _unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 400 for a JSON body that would crash a parser rather than fail it.

    Python's json raises RecursionError for deep nesting and a plain ValueError for an integer
    of more than 4300 digits, and reads NaN and Infinity, which JSON does not have; Powertools
    would turn the first two into a 500. Malformed JSON is left to Powertools (a 400 with the
    position).
    """
    raw = event.get("body")
    if not raw or event.get("httpMethod") not in BODY_METHODS:
        return None
    too_deep = f"the request body nests more than {MAX_JSON_DEPTH} levels"
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8") if event.get("isBase64Encoded") else str(raw)
        problem = too_deep if json_depth(json.loads(text, parse_constant=_refuse_constant)) > MAX_JSON_DEPTH else None
    except json.JSONDecodeError:
        problem = None
    except (binascii.Error, UnicodeDecodeError):
        problem = "the request body is not valid UTF-8 JSON"
    except RecursionError:
        problem = too_deep
    except ValueError as exc:  # an integer beyond Python's digit limit, NaN, Infinity
        problem = f"the request body is not JSON the API reads: {exc}"
    return _early_error(400, "INVALID_JSON", problem) if problem else None


def add_cors(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Allow the storefront's origin (one configured origin, never ``*``)."""
    headers = event.get("headers") or {}
    origin = next((v for k, v in headers.items() if k.lower() == "origin"), None)
    allowed = get_settings().allowed_origin
    if origin and origin == allowed:
        multi = response.setdefault("multiValueHeaders", {})
        multi["Access-Control-Allow-Origin"] = [allowed]
        multi["Vary"] = ["Origin"]
        multi["Access-Control-Expose-Headers"] = ["Retry-After, ETag"]
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
