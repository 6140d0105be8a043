"""Variance arithmetic: safe zero budgets, bases, pacing, run rate.

Pure functions: no database, so no `db` fixture anywhere in this module.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budgets.variance import (
    Basis,
    fiscal_quarter,
    month_bounds,
    paced_budget,
    period_window,
    run_rate_projection,
    variance,
)
from finops.errors import DomainError
from finops.ledger.models import AccountType
from finops.ledger.money import round_money

amounts = st.decimals(min_value=D("-1000000000"), max_value=D("1000000000"), places=4)


def months(*pairs: tuple[int, int]) -> list[date]:
    return [date(y, m, 1) for y, m in pairs]


# --- variance, revenue and expense ------------------------------------------------------------


def test_revenue_above_budget_is_a_favourable_positive_variance():
    v = variance(account_type="revenue", actual=D("1200.00"), budget=D("1000.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("200.00"), D("20.00"), D("120.00"), True)
    assert v.label == "favourable"


def test_revenue_below_budget_is_unfavourable():
    v = variance(account_type="revenue", actual=D("850.00"), budget=D("1000.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("-150.00"), D("-15.00"), D("85.00"), False)
    assert v.label == "unfavourable"


def test_revenue_exactly_on_budget_counts_as_favourable():
    v = variance(account_type="revenue", actual=D("1000.00"), budget=D("1000.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("0.00"), D("0.00"), D("100.00"), True)
    assert v.on_budget


def test_expense_above_budget_is_unfavourable():
    v = variance(account_type="expense", actual=D("1234.56"), budget=D("1000.00"), currency="USD")
    # 234.56 / 1000 × 100 = 23.456 → 23.46 (half up); consumed 123.456 → 123.46.
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("234.56"), D("23.46"), D("123.46"), False)


def test_expense_below_budget_is_favourable_and_percentages_round_half_away_from_zero():
    v = variance(account_type="expense", actual=D("987.65"), budget=D("1000.00"), currency="USD")
    # −12.35 / 1000 × 100 = −1.235 → −1.24; consumed 98.765 → 98.77.
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("-12.35"), D("-1.24"), D("98.77"), True)


def test_expense_exactly_on_budget_counts_as_favourable():
    v = variance(account_type="expense", actual=D("1000.00"), budget=D("1000.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.favourable, v.on_budget) == (D("0.00"), D("0.00"), True, True)


def test_variance_keeps_the_inputs_and_names_the_account_type_and_currency():
    v = variance(account_type=AccountType.EXPENSE, actual="10", budget=4, currency="usd")
    assert (v.account_type, v.currency, v.actual, v.budget, v.variance) == ("expense", "USD", D(10), D(4), D("6.00"))


# --- zero budget: the safe answer ---------------------------------------------------------------


def test_unbudgeted_expense_is_unfavourable_with_no_percentage():
    v = variance(account_type="expense", actual=D("50.00"), budget=D("0"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("50.00"), None, None, False)


def test_unbudgeted_revenue_is_favourable_with_no_percentage():
    v = variance(account_type="revenue", actual=D("50.00"), budget=D("0"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("50.00"), None, None, True)


@pytest.mark.parametrize("account_type", ["revenue", "expense"])
def test_zero_actual_against_zero_budget_is_on_budget(account_type):
    v = variance(account_type=account_type, actual=D("0.0000"), budget=D("0.0000"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("0.00"), None, None, True)


def test_a_refund_on_an_unbudgeted_expense_account_is_less_cost_than_planned_so_favourable():
    v = variance(account_type="expense", actual=D("-20.00"), budget=D("0"), currency="USD")
    assert (v.variance, v.variance_pct, v.favourable) == (D("-20.00"), None, True)


# --- negative budgets: a contra-revenue line ----------------------------------------------------


def test_more_returns_than_budgeted_on_a_contra_revenue_line_is_unfavourable():
    v = variance(account_type="revenue", actual=D("-1200.00"), budget=D("-1000.00"), currency="USD")
    # Divided by |budget|, the percentage keeps the variance's sign; 120 % of the returns budget used.
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("-200.00"), D("-20.00"), D("120.00"), False)


def test_fewer_returns_than_budgeted_on_a_contra_revenue_line_is_favourable():
    v = variance(account_type="revenue", actual=D("-800.00"), budget=D("-1000.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("200.00"), D("20.00"), D("80.00"), True)


def test_a_negative_expense_budget_overrun_toward_zero_is_unfavourable():
    # An expense line budgeted as a net recovery of 500 that only recovered 300: 200 more cost.
    v = variance(account_type="expense", actual=D("-300.00"), budget=D("-500.00"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct, v.favourable) == (D("200.00"), D("40.00"), D("60.00"), False)


# --- rounding -----------------------------------------------------------------------------------


def test_yen_variance_rounds_once_to_whole_yen():
    v = variance(account_type="expense", actual=D("12345.5000"), budget=D("10000.0000"), currency="JPY")
    # 2345.5 → 2346 (half up, once); the percentage from the unrounded difference: 23.455 → 23.46.
    assert (v.variance, v.variance_pct, v.consumed_pct) == (D("2346"), D("23.46"), D("123.46"))


def test_dollar_variance_rounds_once_to_cents():
    v = variance(account_type="revenue", actual=D("1000.1250"), budget=D("1000.0000"), currency="USD")
    assert (v.variance, v.variance_pct, v.consumed_pct) == (D("0.13"), D("0.01"), D("100.01"))


def test_dinar_variance_keeps_three_places():
    v = variance(account_type="revenue", actual=D("10.0005"), budget=D("10.0000"), currency="KWD")
    assert v.variance == D("0.001")


@given(actual=amounts, budget=amounts, currency=st.sampled_from(["USD", "JPY", "KWD"]))
def test_variance_is_actual_minus_budget_rounded_once_and_the_percentage_shares_its_sign(actual, budget, currency):
    v = variance(account_type="expense", actual=actual, budget=budget, currency=currency)
    assert v.variance == round_money(actual - budget, currency)
    if budget == 0:
        assert v.variance_pct is None and v.consumed_pct is None
    else:
        assert v.variance_pct == (D(100) * (actual - budget) / abs(budget)).quantize(D("0.01"), ROUND_HALF_UP)
        if v.variance_pct != 0:
            assert (v.variance_pct > 0) == (actual > budget)


# --- bases: month, fiscal quarter-to-date, year-to-date, full year --------------------------------

APRIL_FY = date(2026, 4, 1)  # FY2027: April 2026 – March 2027
JANUARY_FY = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("month", "basis", "expected"),
    [
        (date(2026, 8, 1), "month", months((2026, 8))),
        (date(2026, 4, 1), "qtd", months((2026, 4))),
        (date(2026, 8, 1), "qtd", months((2026, 7), (2026, 8))),  # fiscal Q2 is July – September
        (date(2026, 9, 1), "qtd", months((2026, 7), (2026, 8), (2026, 9))),
        (date(2026, 12, 1), "qtd", months((2026, 10), (2026, 11), (2026, 12))),
        (date(2027, 2, 1), "qtd", months((2027, 1), (2027, 2))),  # fiscal Q4 crosses the calendar year
        (date(2026, 6, 1), "ytd", months((2026, 4), (2026, 5), (2026, 6))),
        (date(2027, 2, 1), "ytd", [date(2026, m, 1) for m in range(4, 13)] + months((2027, 1), (2027, 2))),
        (date(2026, 5, 1), "full_year", [date(2026, m, 1) for m in range(4, 13)] + months((2027, 1), (2027, 2), (2027, 3))),
    ],
)
def test_windows_for_a_fiscal_year_starting_in_april(month, basis, expected):
    assert period_window(fiscal_year_start=APRIL_FY, month=month, basis=basis) == expected


@pytest.mark.parametrize(
    ("month", "basis", "expected"),
    [
        (date(2026, 1, 1), "qtd", months((2026, 1))),
        (date(2026, 3, 1), "qtd", months((2026, 1), (2026, 2), (2026, 3))),
        (date(2026, 5, 1), "qtd", months((2026, 4), (2026, 5))),
        (date(2026, 11, 1), "qtd", months((2026, 10), (2026, 11))),
        (date(2026, 5, 1), "ytd", [date(2026, m, 1) for m in range(1, 6)]),
        (date(2026, 12, 1), "ytd", [date(2026, m, 1) for m in range(1, 13)]),
        (date(2026, 2, 1), Basis.FULL_YEAR, [date(2026, m, 1) for m in range(1, 13)]),
    ],
)
def test_windows_for_a_calendar_fiscal_year(month, basis, expected):
    assert period_window(fiscal_year_start=JANUARY_FY, month=month, basis=basis) == expected


def test_a_window_accepts_any_day_of_the_month():
    assert period_window(fiscal_year_start=APRIL_FY, month=date(2026, 8, 17), basis="qtd") == months((2026, 7), (2026, 8))


@pytest.mark.parametrize("month", [date(2026, 3, 31), date(2027, 4, 1)])
def test_a_month_outside_the_fiscal_year_is_refused_in_words(month):
    with pytest.raises(DomainError, match=f"{month:%Y-%m} is not in the fiscal year 2026-04 to 2027-03"):
        period_window(fiscal_year_start=APRIL_FY, month=month, basis="month")


def test_an_unknown_basis_is_refused_in_words():
    with pytest.raises(DomainError, match="Unknown basis 'mtd'; choose one of month, qtd, ytd, full_year"):
        period_window(fiscal_year_start=APRIL_FY, month=APRIL_FY, basis="mtd")


@pytest.mark.parametrize(
    ("fy_start", "month", "quarter"),
    [(APRIL_FY, date(2026, 4, 1), 1), (APRIL_FY, date(2026, 7, 1), 2), (APRIL_FY, date(2027, 3, 1), 4),
     (JANUARY_FY, date(2026, 3, 1), 1), (JANUARY_FY, date(2026, 10, 1), 4)],
)
def test_fiscal_quarter_counts_from_the_fiscal_year_start(fy_start, month, quarter):
    assert fiscal_quarter(fiscal_year_start=fy_start, month=month) == quarter


# --- pacing -------------------------------------------------------------------------------------

MARCH = month_bounds(date(2026, 3, 10))  # 31 days


def test_month_bounds_are_the_first_and_last_day():
    assert MARCH == (date(2026, 3, 1), date(2026, 3, 31))
    assert month_bounds(date(2028, 2, 5)) == (date(2028, 2, 1), date(2028, 2, 29))


@pytest.mark.parametrize(
    ("as_of", "paced"),
    [
        (date(2026, 2, 28), D("0.00")),  # before the period
        (date(2026, 3, 1), D("32.26")),  # 1/31 × 1000 = 32.258…
        (date(2026, 3, 15), D("483.87")),  # mid-month: 15/31 × 1000 = 483.870…
        (date(2026, 3, 16), D("516.13")),  # 16/31 × 1000 = 516.129…
        (date(2026, 3, 31), D("1000.00")),  # month end: all of it
        (date(2026, 4, 5), D("1000.00")),  # after the period
    ],
)
def test_pacing_a_march_budget_by_elapsed_days(as_of, paced):
    start, end = MARCH
    assert paced_budget(budget_for_period=D("1000.00"), period_start=start, period_end=end, as_of=as_of,
                        currency="USD") == paced


def test_pacing_rounds_once_to_whole_yen():
    start, end = MARCH
    assert paced_budget(budget_for_period=D("100000"), period_start=start, period_end=end,
                        as_of=date(2026, 3, 16), currency="JPY") == D("51613")  # 51612.903…


def test_pacing_mid_february_is_exactly_half():
    start, end = month_bounds(date(2026, 2, 1))
    assert paced_budget(budget_for_period=D("1000.00"), period_start=start, period_end=end,
                        as_of=date(2026, 2, 14), currency="USD") == D("500.00")


def test_pacing_a_fiscal_quarter_counts_days_across_its_months():
    # April 1 – June 30 is 91 days; May 15 is day 45: 45/91 × 9100 = 4500.
    assert paced_budget(budget_for_period=D("9100.00"), period_start=date(2026, 4, 1), period_end=date(2026, 6, 30),
                        as_of=date(2026, 5, 15), currency="USD") == D("4500.00")


def test_pacing_a_negative_budget_keeps_its_sign():
    start, end = MARCH
    assert paced_budget(budget_for_period=D("-1000.00"), period_start=start, period_end=end,
                        as_of=date(2026, 3, 15), currency="USD") == D("-483.87")


def test_pacing_refuses_a_period_that_ends_before_it_starts():
    with pytest.raises(ValueError, match="before period_start"):
        paced_budget(budget_for_period=D("1"), period_start=date(2026, 3, 31), period_end=date(2026, 3, 1),
                     as_of=date(2026, 3, 15), currency="USD")


# --- run-rate projection ------------------------------------------------------------------------


def test_linear_run_rate_extrapolates_the_average_month():
    assert run_rate_projection(actual_ytd=D("30000.00"), months_elapsed=3, currency="USD") == D("120000.00")
    # 10000 / 7 × 12 = 17142.857… → 17142.86
    assert run_rate_projection(actual_ytd=D("10000.00"), months_elapsed=7, currency="USD") == D("17142.86")
    assert run_rate_projection(actual_ytd=D("10000"), months_elapsed=7, currency="JPY") == D("17143")


def test_linear_run_rate_at_year_end_is_the_actual():
    assert run_rate_projection(actual_ytd=D("98765.43"), months_elapsed=12, currency="USD") == D("98765.43")


def test_linear_run_rate_takes_part_months_and_other_year_lengths():
    assert run_rate_projection(actual_ytd=D("1500.00"), months_elapsed=D("1.5"), currency="USD") == D("12000.00")
    assert run_rate_projection(actual_ytd=D("2600.00"), months_elapsed=2, months_in_year=13,
                               currency="USD") == D("16900.00")


def test_linear_run_rate_before_any_month_has_no_answer():
    assert run_rate_projection(actual_ytd=D("0"), months_elapsed=0, currency="USD") is None


def test_budget_run_rate_is_actual_plus_the_remaining_budget():
    assert run_rate_projection(actual_ytd=D("30000.00"), months_elapsed=3, remaining_budget=D("95000.00"),
                               method="budget", currency="USD") == D("125000.00")
    assert run_rate_projection(actual_ytd=D("0"), months_elapsed=0, remaining_budget=D("120000.00"),
                               method="budget", currency="USD") == D("120000.00")


def test_run_rate_refuses_impossible_inputs():
    with pytest.raises(ValueError, match="needs remaining_budget"):
        run_rate_projection(actual_ytd=D("1"), months_elapsed=1, method="budget", currency="USD")
    with pytest.raises(ValueError, match="between 0 and 12, not 13"):
        run_rate_projection(actual_ytd=D("1"), months_elapsed=13, currency="USD")
    with pytest.raises(ValueError, match="Unknown projection method 'average'"):
        run_rate_projection(actual_ytd=D("1"), months_elapsed=1, method="average", currency="USD")
    with pytest.raises(TypeError, match="never a float"):
        run_rate_projection(actual_ytd=1.0, months_elapsed=1, currency="USD")
