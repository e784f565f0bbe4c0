"""Optimistic writes over HTTP: versions as ETags, ``If-Match``, and how a refusal is answered.

A record's version goes out as a strong entity tag, ``ETag: "<version>"``. A write names the
version it replaces as ``If-Match: "<version>"`` (exactly one strong tag, as GET sent it) or
as ``version`` in the body. The domain refuses a stale version with VersionConflict; the
route answers 412 when the version came as If-Match (HTTP's precondition), 409 otherwise.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import WithJsonSchema

from cloudshelf.api.errors import PreconditionFailed
from cloudshelf.errors import InvalidInput, VersionConflict
from cloudshelf.models.books import Book

# One strong entity tag of a version (1 to 2147483647, no leading zero), or "*".
IF_MATCH_PATTERN = r'^(\*|"[1-9][0-9]{0,9}")$'

IfMatch = Annotated[
    str | None,
    # Optional, never null: without this the document says `anyOf: [string, null]`, and a client
    # (schemathesis) sends the header as "null".
    WithJsonSchema({"type": "string", "pattern": IF_MATCH_PATTERN}),
    Header(
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='The ETag of the version you read, `"<version>"` (412 with the current record if it is '
        "no longer current). `*` names no version.",
    ),
]


def etag(version: int) -> str:
    """The strong entity tag of a version."""
    return f'"{version}"'


def if_match_version(value: str | None) -> int | None:
    """The version an If-Match header names (None: no header, or ``*``). The pattern was checked already."""
    if value is None or value == "*":
        return None
    return int(value.strip('"'))


class Expected:
    """The version a write names, and whether it came as If-Match (412 on a conflict) or in the body (409)."""

    def __init__(self, if_match: str | None, body_version: int | None) -> None:
        header = if_match_version(if_match)
        if header is not None and body_version is not None and header != body_version:
            raise InvalidInput(
                "If-Match and the body's version name different versions; send one, or the same in both",
                {"ifMatch": header, "version": body_version},
            )
        self.version = header if header is not None else body_version
        self.via_if_match = header is not None

    def refusal(self, conflict: VersionConflict) -> VersionConflict:
        """The error to raise for ``conflict``: 412 if the version came as If-Match, else 409 as is."""
        return PreconditionFailed(conflict) if self.via_if_match else conflict


def book_response(book: Book, status: int = 200) -> Response[Book]:
    """``book`` as the body, with its version as the ETag."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=book,
        headers={"ETag": etag(book.version)},
    )
