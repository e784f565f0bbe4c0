"""Shapes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Timestamp = Annotated[
    datetime,
    PlainSerializer(
        lambda value: value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), return_type=str
    ),
]
"""A UTC instant, ISO 8601 with milliseconds and a ``Z`` on the wire."""


def utcnow() -> datetime:
    """The current UTC time, to the millisecond (what we store)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ApiModel(BaseModel):
    """Base of every model on the wire: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(BaseModel):
    """The ``error`` member of every error response."""

    code: str = Field(examples=["OUT_OF_STOCK"])
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody
