"""Money is exact: Decimal with two places, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cloudshelf.money import Money, format_money, line_total, to_money


class Priced(BaseModel):
    price: Money


@pytest.mark.parametrize(("raw", "expected"), [("12.99", "12.99"), ("5", "5.00"), (7, "7.00"), ("0.10", "0.10")])
def test_accepts_exact_amounts(raw: object, expected: str) -> None:
    # Given an amount as a string or int / When parsed / Then it has two places
    assert format_money(to_money(raw)) == expected


@pytest.mark.parametrize("raw", [12.99, True, "1.999", "abc", "NaN", "Infinity", "1e9", "100000000.00"])
def test_refuses_inexact_or_absurd_amounts(raw: object) -> None:
    # Given a float, a third decimal, text or a huge amount / When parsed / Then it is refused
    with pytest.raises(ValueError, match="money"):
        to_money(raw)


def test_serializes_as_a_string() -> None:
    # Given a model with money / When dumped to JSON / Then the amount is a two-place string
    assert Priced(price="3.5").model_dump_json() == '{"price":"3.50"}'
    with pytest.raises(ValidationError):
        Priced(price=3.5)


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=99_999), st.integers(min_value=1, max_value=20)),
        min_size=1,
        max_size=50,
    )
)
def test_cart_totals_are_exact_for_any_cart(lines: list[tuple[int, int]]) -> None:
    # Given any cart of prices (in cents) and quantities
    prices = [(Decimal(cents) / 100, qty) for cents, qty in lines]
    # When totalled the way the domain does
    total = sum((line_total(price, qty) for price, qty in prices), Decimal("0.00"))
    # Then it equals the integer-cent sum exactly, with two places
    assert total == Decimal(sum(cents * qty for cents, qty in lines)) / 100
    assert total.as_tuple().exponent == -2
