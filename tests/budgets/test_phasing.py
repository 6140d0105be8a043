"""Phasing: the months always sum exactly to the annual amount, the remainder on one month."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets import phasing
from finops.errors import DomainError
from finops.ledger.money import quantum, round_money

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD"])
annuals = st.decimals(min_value=D("-9999999999.999"), max_value=D("9999999999.999"), places=3)
weights = st.decimals(min_value=D(0), max_value=D("100000"), places=2)
patterns = st.lists(st.decimals(min_value=D("-50000"), max_value=D("50000"), places=2), min_size=12, max_size=12)


def assert_exact_with_one_plug(months, total, ideal, currency):
    """Sum exact; every month but the plug month is its ideal share rounded; all in minor units."""
    assert sum(months, D(0)) == total
    assert all(m == m.quantize(quantum(currency)) for m in months)
    off = [i for i, (m, x) in enumerate(zip(months, ideal, strict=True)) if m != round_money(x, currency)]
    assert len(off) <= 1
    # The plug absorbs at most half a unit per month (plus its own rounding).
    if off:
        (i,) = off
        assert abs(months[i] - ideal[i]) <= 6 * quantum(currency) + quantum(currency)


@settings(max_examples=300, deadline=None)
@given(annual=annuals, currency=CURRENCIES)
def test_an_even_spread_sums_exactly_and_only_december_takes_the_remainder(annual, currency):
    months = phasing.spread_even(annual, currency=currency)
    total = round_money(annual, currency)
    assert_exact_with_one_plug(months, total, [total / 12] * 12, currency)
    assert months[:11] == [round_money(total / 12, currency)] * 11
    assert phasing.spread_even(annual, currency=currency) == months  # deterministic


@settings(max_examples=300, deadline=None)
@given(annual=annuals, raw=st.lists(weights, min_size=12, max_size=12), currency=CURRENCIES)
def test_a_profile_spread_sums_exactly_with_one_plug_month(annual, raw, currency):
    if sum(raw) == 0:
        raw = [D(1)] * 12
    # Turn arbitrary weights into a profile of percentages that add up to exactly 100.
    profile = [w * 100 / sum(raw) for w in raw]
    profile[-1] = D(100) - sum(profile[:-1])
    if profile[-1] < 0:
        return
    months = phasing.spread_profile(annual, profile=profile, currency=currency)
    total = round_money(annual, currency)
    assert_exact_with_one_plug(months, total, [total * p / 100 for p in profile], currency)


@settings(max_examples=300, deadline=None)
@given(annual=annuals, pattern=patterns, currency=CURRENCIES)
def test_a_pattern_spread_sums_exactly_and_gives_negative_months_nothing(annual, pattern, currency):
    months = phasing.spread_pattern(annual, pattern=pattern, currency=currency)
    total = round_money(annual, currency)
    usable = [max(p, D(0)) for p in pattern]
    if sum(usable) == 0:
        assert months == phasing.spread_even(annual, currency=currency)
        assert not phasing.pattern_is_usable(pattern)
        return
    assert_exact_with_one_plug(months, total, [total * w / sum(usable) for w in usable], currency)
    plug = phasing.plug_month(usable)
    assert all(months[i] == 0 for i, w in enumerate(usable) if w == 0 and i != plug)


@settings(max_examples=300, deadline=None)
@given(pattern=patterns, pct=st.decimals(min_value=D(-100), max_value=D(200), places=1), currency=CURRENCIES)
def test_copy_plus_or_minus_x_percent_sums_exactly_to_the_adjusted_total(pattern, pct, currency):
    months = phasing.copy_adjusted(pattern, pct=pct, currency=currency)
    factor = 1 + pct / 100
    total = round_money(sum(pattern) * factor, currency)
    assert_exact_with_one_plug(months, total, [p * factor for p in pattern], currency)


@given(values=st.lists(st.one_of(st.none(), weights), min_size=12, max_size=12), start=st.integers(0, 11))
def test_fill_right_copies_the_start_month_into_every_later_month(values, start):
    filled = phasing.fill_right(values, start=start)
    assert filled[:start] == values[:start] and filled[start:] == [values[start]] * (12 - start)


def test_the_remainder_goes_to_the_largest_month_ties_the_latest():
    assert phasing.spread_even(D("100"), currency="USD") == [D("8.33")] * 11 + [D("8.37")]
    assert phasing.spread_pattern(D("100"), pattern=[1, 1, 1] + [0] * 9, currency="USD") == (
        [D("33.33"), D("33.33"), D("33.34")] + [D("0.00")] * 9)
    assert phasing.spread_profile(D("1000"), profile=[D("33.33"), D("33.33"), D("33.34")] + [0] * 9,
                                  currency="JPY") == [D("333"), D("333"), D("334")] + [D("0")] * 9
    assert phasing.copy_adjusted([D("10.01")] * 12, pct=D("5"), currency="USD") == [D("10.51")] * 11 + [D("10.52")]


def test_a_zero_or_negative_pattern_falls_back_to_an_even_spread():
    assert phasing.spread_pattern(D("120"), pattern=[0] * 12, currency="USD") == [D("10.00")] * 12
    assert phasing.spread_pattern(D("120"), pattern=[-5] * 12, currency="USD") == [D("10.00")] * 12


@pytest.mark.parametrize("profile, message", [
    ([D("8.25")] * 11, "A profile has 12 monthly percentages; this one has 11."),
    ([D(-10), D(20)] + [D(9)] * 10, "A profile cannot have a negative month."),
    ([D("8.3")] * 12, "The profile adds up to 99.6 %, not 100 %."),
])
def test_a_wrong_profile_is_refused_in_words(profile, message):
    with pytest.raises(DomainError) as caught:
        phasing.spread_profile(D("100"), profile=profile, currency="USD")
    assert caught.value.message == message


def test_floats_are_refused():
    with pytest.raises(TypeError):
        phasing.spread_profile(D("100"), profile=[100 / 12] * 12, currency="USD")
