"""The kernel's bounds (`finops.bounds`) and the one month arithmetic (`periods.add_months`):
the window from the settings, refused configurations, amount checks and exact translation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ImproperlyConfigured

from finops import bounds
from finops.errors import DomainError
from finops.ledger.money import round_money, translate
from finops.ledger.periods import add_months


def test_the_window_runs_from_the_minimum_to_the_end_of_the_year_so_many_years_ahead(settings):
    settings.LEDGER_DATE_MIN, settings.LEDGER_DATE_YEARS_AHEAD = date(1995, 7, 1), 3
    window = bounds.date_window(today=date(2026, 5, 17))
    assert (window.first, window.last, str(window)) == (date(1995, 7, 1), date(2029, 12, 31), "1995-07-01 … 2029-12-31")
    assert date(1995, 7, 1) in window and date(2029, 12, 31) in window
    assert date(1995, 6, 30) not in window and date(2030, 1, 1) not in window


@pytest.mark.parametrize(("first", "ahead"), [(date(1900, 6, 1), 10), (date(1990, 1, 1), 980), (date(1990, 1, 1), -1),
                                              ("1990-01-01", 10)])
def test_a_window_outside_the_databases_wall_or_malformed_is_refused(settings, first, ahead):
    settings.LEDGER_DATE_MIN, settings.LEDGER_DATE_YEARS_AHEAD = first, ahead
    with pytest.raises(ImproperlyConfigured):
        bounds.date_window(today=date(2026, 1, 1))


@pytest.mark.parametrize(("amount", "places", "problem"), [
    (D("999999999999999.99"), 2, None),
    (D("-999999999999999.99"), 2, None),
    (D("1000000000000000"), 2, "is too large (at most 15 digits before the decimal point)"),
    (D("10.001"), 2, "has more decimals than USD allows (2)"),
    (D("10.0100"), 2, None),  # trailing zeros are no decimals
    (D("5.5"), 0, "has more decimals than USD allows (0)"),
    (D("NaN"), 2, "is not a number"),
    (D("1E+1000000"), 2, "is too large (at most 15 digits before the decimal point)"),
])
def test_an_amount_fits_when_it_is_finite_below_the_limit_and_in_minor_units(amount, places, problem):
    assert bounds.amount_problem(amount, places=places, currency="USD") == problem


def test_month_arithmetic_crosses_years_both_ways_and_says_so_when_it_leaves_the_calendar():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 31), -13) == date(2024, 12, 1)
    assert add_months(date(9999, 11, 1), 1) == date(9999, 12, 1)
    with pytest.raises(DomainError) as left:
        add_months(date(9999, 12, 31), 1)
    assert left.value.message == "9999-12 + 1 months is outside the calendar."
    with pytest.raises(DomainError):
        add_months(date(1, 1, 1), -1)


def test_a_translation_is_rounded_once_from_the_exact_product():
    assert translate(D("123456789012.34"), D("1.2345678901"), "USD") == D("152415787529.49")
    assert translate(D("-200.00"), D("1.085"), "USD") == D("-217.00")
    # 31 digits: Python's default 28-digit context would round the product to …0.005000000 first
    # and then to 0.01 — a second rounding; exactly, it is 0.0049… and rounds to 0.00.
    assert translate(D("1000000000000000000.004999999995"), D("1"), "USD") == D("1000000000000000000.00")
    # Past 28 digits the default context could not even round it (quantize raises):
    assert translate(D("999999999999999.9999"), D("12345678901234.1234567890"), "KWD") == \
        D("12345678901234123455554432109.877")
    assert round_money(D("10.005"), "USD") == D("10.01")
