"""Identifiers that sort by creation time (ULID layout: 48-bit ms time, 80 random bits)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_sortable_id(now_ms: int | None = None) -> str:
    """A 26-character id; ids made later sort after ids made earlier (to the millisecond)."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_book_id() -> str:
    """A new book id (random, URL-safe)."""
    return "bk-" + secrets.token_hex(8)
