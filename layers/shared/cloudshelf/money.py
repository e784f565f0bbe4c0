"""Exact money: Decimal with two places, serialized as a string."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")


def to_money(value: object) -> Decimal:
    """Parse ``value`` into a Decimal with exactly two places.

    Floats are refused: they cannot carry an exact price. Strings, ints and
    Decimals with at most two decimal places are accepted.
    """
    if isinstance(value, (bool, float)):
        raise ValueError("money must be a decimal string such as '12.99', not a float")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError("money must be a decimal string such as '12.99'") from exc
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise ValueError("money has at most two decimal places")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("money amount is too large")
    return amount.quantize(CENT)


def format_money(amount: Decimal) -> str:
    """Render an amount as a two-place string."""
    return str(amount.quantize(CENT))


Money = Annotated[
    Decimal,
    BeforeValidator(to_money),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,8}\.\d{2}$", "examples": ["12.99"]}),
]
"""A money amount: exact, two places, a string on the wire."""


def line_total(price: Decimal, quantity: int) -> Decimal:
    """Price times quantity, exact."""
    return (price * quantity).quantize(CENT)
