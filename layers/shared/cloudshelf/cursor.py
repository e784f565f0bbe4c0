"""Opaque pagination cursors.

A cursor carries only the sort-key values needed to resume; the repository rebuilds
the full start key from the caller's own, trusted partition. A cursor from another
user or another query therefore cannot reach data outside the caller's query.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from cloudshelf.errors import InvalidInput

MAX_CURSOR_LENGTH = 1024
MAX_OFFSET = 1_000_000  # a search cursor's offset: never negative, never beyond what a database can take
MAX_INT = 2**53  # any other int in a cursor: what JSON and every store hold exactly
# What no resume value the server issues holds: C0 control characters (PostgreSQL text refuses a NUL)
# and lone surrogates (not encodable as UTF-8, so no store can take them either).
_UNSAFE = re.compile(r"[\x00-\x1f\ud800-\udfff]")


def encode_cursor(kind: str, values: dict[str, str | int]) -> str:
    """Pack resume values for query ``kind`` into an opaque string."""
    raw = json.dumps({"k": kind, "v": values}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> dict[str, str | int]:
    """Unpack a cursor made by :func:`encode_cursor` for the same ``kind``.

    Raises :class:`InvalidInput` for anything else.
    """
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput("cursor is not valid", {"field": "cursor"})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput("cursor is not valid", {"field": "cursor"}) from exc
    values = data.get("v") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("k") != kind or not isinstance(values, dict):
        raise InvalidInput("cursor is not valid for this query", {"field": "cursor"})
    if not all(isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in values.items()):
        raise InvalidInput("cursor is not valid", {"field": "cursor"})
    # Only values the server issues: resume keys are non-empty strings (DynamoDB refuses empty key
    # values), a search offset a small non-negative int (PostgreSQL refuses a negative OFFSET).
    if any(isinstance(v, str) and not v for v in values.values()):
        raise InvalidInput("cursor is not valid", {"field": "cursor"})
    # Nothing a store can't take: no control characters or lone surrogates, no int beyond 2**53.
    if any(
        _UNSAFE.search(v) if isinstance(v, str) else abs(v) > MAX_INT
        for v in (*values.values(), *values.keys())
        if isinstance(v, (str, int))
    ):
        raise InvalidInput("cursor is not valid", {"field": "cursor"})
    offset = values.get("o", 0)
    if kind == "search" and not (isinstance(offset, int) and 0 <= offset <= MAX_OFFSET):
        raise InvalidInput("cursor is not valid", {"field": "cursor"})
    return values
