"""One place that turns exceptions into the one JSON error shape with an honest status."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from cloudshelf import errors
from cloudshelf.observability import count, logger


class PreconditionFailed(errors.VersionConflict):
    """A VersionConflict of a write whose version came as ``If-Match``: HTTP says 412, not 409.

    Raised by routes (how the version arrived is HTTP's business, not the domain's).
    """

    def __init__(self, conflict: errors.VersionConflict) -> None:
        # The same refusal (code, message, details with the current record, version), answered as 412.
        errors.DomainError.__init__(self, conflict.message, conflict.details)
        self.version = conflict.version


# By type, first match wins: subclasses before their bases.
_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (PreconditionFailed, 412),
    (errors.PreconditionRequired, 428),
    (errors.Conflict, 409),
    (errors.LimitExceeded, 422),
    (errors.StoreUnavailable, 503),
]


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[str]:
    """A response in the one error shape."""
    body = json.dumps({"error": {"code": code, "message": message, "details": details}})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers or {})


def status_of(exc: errors.DomainError) -> int:
    """The HTTP status for a domain error, by its type (never by its message)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def _domain(exc: errors.DomainError) -> Response[str]:
    status = status_of(exc)
    if isinstance(exc, errors.OutOfStock):
        count("OrderRejectedOutOfStock")
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.StoreUnavailable) else None
    if isinstance(exc, errors.CheckoutPending):
        headers = {"Retry-After": "1"}
    if isinstance(exc, errors.VersionConflict):  # the current record's version, as GET would send it
        headers = {"ETag": f'"{exc.version}"'}
    if status >= 500:
        logger.warning("store unavailable", extra={"code": exc.code})
    return error_response(status, exc.code, exc.message, exc.details, headers)


def _validation(exc: RequestValidationError) -> Response[str]:
    problems = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
    ]
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(400, "INVALID_JSON", "the request body is not valid JSON", problems)
    return error_response(422, "VALIDATION_ERROR", "the request is not valid", problems)


def _unsupported_media_type(_: RequestUnsupportedContentType) -> Response[str]:
    return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")


def _undecodable(_: UnicodeDecodeError) -> Response[str]:
    return error_response(400, "INVALID_JSON", "the request body is not valid UTF-8 JSON")


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Install the mapping on a resolver."""
    app.exception_handler(errors.DomainError)(_domain)
    app.exception_handler(RequestValidationError)(_validation)
    # Bodies Powertools can't read (another media type; bytes that aren't UTF-8) are the caller's fault.
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_media_type)
    app.exception_handler(UnicodeDecodeError)(_undecodable)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[str]:
        return error_response(404, "NOT_FOUND", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        return error_response(status.value, "INTERNAL_ERROR", "something went wrong on our side")
