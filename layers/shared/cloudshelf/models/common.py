"""Shapes shared by every resource."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

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


# No C0 control character comes in: PostgreSQL text can't hold a NUL, and none belongs in a name,
# an address or a query. Free text (a description, a note) may have tabs and line breaks.
LINE_PATTERN = r"^[^\x00-\x1f]*$"
FILLED_LINE_PATTERN = r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSTORABLE = re.compile(r"[\x00-\x1f\ud800-\udfff]")


def line(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """One line of text (stripped; no control characters); with ``min_length``, not blank."""
    return StringConstraints(
        strip_whitespace=True,
        min_length=min_length or None,
        max_length=max_length,
        pattern=FILLED_LINE_PATTERN if min_length else LINE_PATTERN,
    )


def text(max_length: int) -> StringConstraints:
    """Free text (stripped): tabs and line breaks allowed, other control characters not."""
    return StringConstraints(strip_whitespace=True, max_length=max_length, pattern=TEXT_PATTERN)


def has_control_character(value: object) -> bool:
    """Whether a string, or any string inside lists and dicts, holds a C0 control character other than tab/LF/CR."""
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_character(k) or has_control_character(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_control_character(v) for v in value)
    return False


def without_control_characters(value: str) -> str:
    """``value`` without C0 control characters and lone surrogates (for text from elsewhere, such as token claims)."""
    return _UNSTORABLE.sub("", value)


class ApiModel(BaseModel):
    """Base of every input model: unknown fields are refused, not ignored; JSON types are strict.

    Strict: a boolean is not a number, a number is not a string, a string is not a number
    (``"stock": false`` or ``"quantity": "2"`` is a 422); an integer may be written ``3.0``
    (JSON's one number type), not ``2.5``. Every string field, in any model
    derived from this one, refuses C0 control characters other than tab, LF and CR (fields
    declared with :func:`line` refuse those too, and say so in the OpenAPI document).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_numbers_are_integers(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON has one number type: 3.0 is the integer 3 (JSON Schema's "integer" says so too); 2.5 is not.
        if isinstance(value, float) and value.is_integer() and info.field_name in cls.model_fields:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is int or int in get_args(annotation):
                return int(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if has_control_character(value):
            raise ValueError("control characters (such as NUL) are not allowed")
        return value


class ErrorBody(BaseModel):
    """The ``error`` member of every error response."""

    code: str = Field(examples=["OUT_OF_STOCK"])
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody
