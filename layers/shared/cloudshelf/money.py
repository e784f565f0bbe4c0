"""Exact money: Decimal with two places, serialized as a string."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,64}(?:\.[0-9]{1,64})?")


def to_money(value: object) -> Decimal:
    """Parse ``value`` into a Decimal with exactly two places.

    Floats are refused: they cannot carry an exact price. Strings, ints and
    Decimals with at most two decimal places are accepted.
    """
    if isinstance(value, (bool, float)):
        raise ValueError("money must be a decimal string such as '12.99', not a float")
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value):
        # Plain notation only: no exponent, NaN, Infinity, underscores or padding ("1e30", "1_000", " 5").
        raise ValueError("money must be a decimal string such as '12.99'")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:  # ValueError: an int beyond str()'s digit limit
        raise ValueError("money must be a decimal string such as '12.99'") from exc
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    # The range first: quantizing an amount beyond the context's precision raises InvalidOperation (a 500).
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"money amount is too large (at most {MAX_AMOUNT})")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise ValueError("money has at most two decimal places")
    return amount.quantize(CENT)


def format_money(amount: Decimal) -> str:
    """Render an amount as a two-place string."""
    return str(amount.quantize(CENT))


Money = Annotated[
    Decimal,
    BeforeValidator(to_money),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,8}\.\d{2}$", "maxLength": 12, "examples": ["12.99"]}),
]
"""A money amount: exact, two places, a string on the wire."""


def line_total(price: Decimal, quantity: int) -> Decimal:
    """Price times quantity, exact; LimitExceeded (never a crash) beyond what money can hold."""
    return checked_total([price * quantity])


def checked_total(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of ``amounts``; LimitExceeded (never a crash) if it is beyond what money can hold."""
    from cloudshelf.errors import LimitExceeded

    total = sum(amounts, Decimal("0.00"))
    if abs(total) > MAX_AMOUNT:
        raise LimitExceeded(
            f"the total may be at most {format_money(MAX_AMOUNT)}", {"maxAmount": format_money(MAX_AMOUNT)}
        )
    return total.quantize(CENT)
