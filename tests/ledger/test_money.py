from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finops.ledger.money import round_money, split_exact


@given(
    total=st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2),
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40),
)
def test_a_split_always_sums_exactly_to_the_total(total, weights):
    parts = split_exact(total, weights, "USD")
    assert sum(parts) == total
    assert all(p == round_money(p, "USD") for p in parts)


def test_the_remainder_goes_to_the_largest_rounding_loss_then_the_earliest_part():
    assert split_exact(Decimal("100.00"), [1, 1, 1], "USD") == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert split_exact(Decimal("-10.00"), [1, 2], "USD") == [Decimal("-3.33"), Decimal("-6.67")]
    assert split_exact(Decimal("1000"), [1, 1, 1], "JPY") == [Decimal("334"), Decimal("333"), Decimal("333")]


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.675", "USD", "2.68"), ("2.5", "JPY", "3"), ("1.2345", "KWD", "1.235"), ("-2.675", "USD", "-2.68"),
])
def test_rounding_follows_the_currency_minor_unit_half_up(amount, currency, expected):
    assert round_money(Decimal(amount), currency) == Decimal(expected)
