"""The documented error responses, declared once and reused by every route."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel

from cloudshelf.models.common import ErrorResponse

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "No token, or a bad one",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflicts with the current state",
    412: "If-Match names a version that is no longer current (details.current: the current record; ETag)",
    413: "Body too large",
    415: "The body is not application/json",
    422: "Invalid input",
    428: "The write must name the version it replaces (If-Match, or version in the body)",
    429: "Too many requests; see Retry-After",
    503: "A store is unavailable; see Retry-After",
}


def errors(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries for ``codes``, all with the one error shape."""
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorResponse}}}
        for code in codes
    }


ETAG: dict[str, OpenAPIResponseHeader] = {
    "ETag": {
        "description": 'The version of the record as a strong entity tag, `"<version>"`: send it back as If-Match',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}


def ok(
    status: int = 200,
    description: str = "Success",
    model: type[BaseModel] | None = None,
    headers: dict[str, OpenAPIResponseHeader] | None = None,
) -> dict[int, OpenAPIResponse]:
    """The success response, which Powertools leaves out as soon as a route declares ``responses``.

    Its body is the route's return model, or ``model`` for a route that returns ``(model, status)``;
    a 204 has no body. ``headers``: the response headers it documents (e.g. ``ETAG``).
    """
    response: OpenAPIResponse = {"description": description}
    if status == 204:
        response["content"] = {}
    elif model is not None:
        response["content"] = {"application/json": {"model": model}}
    if headers:
        response["headers"] = headers
    return {status: response}


# 429: API Gateway's stage throttling (and the local gateway's busy functions) can answer any route.
PUBLIC = errors(400, 422, 429, 503)
SIGNED_IN = errors(400, 401, 422, 429, 503)
