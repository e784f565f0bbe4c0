"""The documented error responses, declared once and reused by every route."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from cloudshelf.models.common import ErrorResponse

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "No token, or a bad one",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests; see Retry-After",
    503: "A store is unavailable; see Retry-After",
}


def errors(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries for ``codes``, all with the one error shape."""
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorResponse}}}
        for code in codes
    }


PUBLIC = errors(400, 422, 503)
SIGNED_IN = errors(400, 401, 422, 503)
