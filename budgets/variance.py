"""Variance arithmetic for budget vs actual: pure functions, Decimal only, no database.

The budget-vs-actual report, the `variance_report` command and the alert evaluation all call
these, so a number means the same thing on every screen, in every CSV and in every e-mail.

Natural sign
    Budgets are entered in natural sign (a revenue budget of 100 is 100, an expense budget of
    100 is 100). The ledger sums debit-positive; `finops.ledger.actuals.natural_sign`
    converts: revenue, liability and
    equity (credit-natured) are −ledger, asset and expense (debit-natured) are +ledger. A
    contra-revenue line (sales returns, discounts) is a revenue account carrying debits, so its
    natural amounts are negative, and so is its budget.

Variance (`variance`, `Variance`)
    variance      = actual − budget, rounded once to the currency's minor unit.
    variance_pct  = variance / |budget| × 100, 2 places, ROUND_HALF_UP. Dividing by |budget| keeps
                    the sign of the percentage the sign of the variance, also for a negative
                    (contra-revenue) budget. None when the budget is 0: no percentage of nothing.
                    Computed from the unrounded difference, so it is rounded once too (identical
                    whenever actual and budget are already in minor units).
    consumed_pct  = actual / budget × 100, 2 places, ROUND_HALF_UP: how much of the budget is used,
                    for "80 / 100 / 120 % of budget consumed" alert thresholds. None when the
                    budget is 0. Against the whole budget of the window (`consumed_of`) also when
                    the variance is taken against the budget paced to a date: a month's budget is
                    consumed, not its first two days.
    favourable    (`finops.ledger.actuals.favourable`) from the account's nature, never from
                  the raw sign (DESIGN §4): for a
                  credit-natured account (revenue, and the other credit-natured types) MORE than
                  budget is favourable; for a debit-natured account (expense, and assets such as
                  capital spend) LESS than budget is favourable. Exactly on budget counts as
                  favourable (nothing went wrong). With a budget of 0 the same rule gives the safe
                  answer: unbudgeted spend (expense actual > 0) is unfavourable, unbudgeted revenue
                  (> 0) is favourable, and a zero actual is on budget. (A negative actual against a
                  zero budget — a refund credited to an unbudgeted expense account — follows the
                  rule too: less cost than budget, favourable.)

Bases (`period_window`)
    The months a figure covers, as month starts: the month itself; quarter-to-date, where quarters
    are FISCAL quarters counted from the fiscal year's first month (FY from April: Q1 is
    April–June); year-to-date from the fiscal year's first month; or the full fiscal year.

Pacing (`paced_budget`)
    The share of a period's budget that "should" be used by a date: budget × days elapsed
    (including `as_of`) / days in the period (both ends included). 0 before the period starts,
    the whole budget from its last day on. Rounded once.

Run-rate projection of the full year (`run_rate_projection`)
    "linear":  actual_ytd / months_elapsed × months_in_year — the year continues at the average
               pace so far. None when no month has elapsed (no pace to extrapolate). The report
               passes the COMPLETE months only: two days of December are not a month, and a
               year extrapolated from them is not a forecast.
    "budget":  actual_ytd + remaining_budget — actuals so far, then the plan for the rest of the
               year (the controller's "latest estimate"); again complete months, then the plan
               from the month in progress on.
    Rounded once.

Rounding: every money result is rounded once, to the currency's minor unit
(`finops.ledger.money.round_money`: JPY 0 places, USD 2, KWD 3), so every function that returns
money takes `currency=` (amounts are stored with 4 places; only the currency knows the unit).
Inputs are Decimal, int or str, never float. Percentages are Decimal with 2 places, ROUND_HALF_UP.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from finops import bounds
from finops.errors import DomainError
from finops.ledger.actuals import account_type_of, favourable
from finops.ledger.money import as_decimal, round_money
from finops.ledger.periods import add_months

HUNDRED = Decimal(100)
PCT_PLACES = Decimal("0.01")
MONTHS_IN_YEAR = 12
MONTHS_IN_QUARTER = 3


class Basis(StrEnum):
    MONTH = "month"
    QTD = "qtd"
    YTD = "ytd"
    FULL_YEAR = "full_year"


class Projection(StrEnum):
    LINEAR = "linear"
    BUDGET = "budget"


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    # A large actual over a small budget is far past 28 digits (< 10^30: finops/bounds.py).
    with localcontext(bounds.EXACT):
        return (numerator * HUNDRED / denominator).quantize(PCT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Variance:
    """One line of budget vs actual; amounts in natural sign, in `currency`."""

    account_type: str
    currency: str
    actual: Decimal
    budget: Decimal
    variance: Decimal  # actual − budget, rounded once to the currency's minor unit
    variance_pct: Decimal | None  # variance / |budget| × 100; None when the budget is 0
    consumed_pct: Decimal | None  # actual / budget × 100; None when the budget is 0
    favourable: bool

    @property
    def on_budget(self) -> bool:
        return self.variance == 0

    @property
    def label(self) -> str:
        return "favourable" if self.favourable else "unfavourable"


def variance(*, account_type, actual, budget, currency: str, consumed_of=None) -> Variance:
    """`actual` against `budget`; `consumed_of` (default `budget`) is what consumed_pct divides by."""
    actual = as_decimal(actual, "actual")
    budget = as_decimal(budget, "budget")
    whole = budget if consumed_of is None else as_decimal(consumed_of, "consumed_of")
    kind = account_type_of(account_type)
    difference = actual - budget
    return Variance(
        account_type=kind.value,
        currency=currency.upper(),
        actual=actual,
        budget=budget,
        variance=round_money(difference, currency),
        variance_pct=_pct(difference, abs(budget)),
        consumed_pct=_pct(actual, whole),
        favourable=favourable(account_type=kind, actual=actual, budget=budget),
    )


# --- bases --------------------------------------------------------------------------------------


def _months_from(first: date, month: date) -> int:
    """How many months `month` lies after `first`'s month (negative: before)."""
    return (month.year - first.year) * 12 + month.month - first.month


def period_window(*, fiscal_year_start: date, month: date, basis) -> list[date]:
    """The month starts a figure for `month` covers on `basis`, within the fiscal year that starts
    on `fiscal_year_start` (only its month counts). `month` may be any day of the month."""
    try:
        basis = Basis(basis)
    except ValueError:
        choices = ", ".join(b.value for b in Basis)
        raise DomainError(f"Unknown basis {basis!r}; choose one of {choices}.") from None
    first = fiscal_year_start.replace(day=1)
    offset = _months_from(first, month)
    if not 0 <= offset < MONTHS_IN_YEAR:
        last = add_months(first, MONTHS_IN_YEAR - 1)
        raise DomainError(
            f"{month:%Y-%m} is not in the fiscal year {fiscal_year_start:%Y-%m} to {last:%Y-%m}."
        )
    if basis == Basis.MONTH:
        start, end = offset, offset
    elif basis == Basis.QTD:
        start, end = offset // MONTHS_IN_QUARTER * MONTHS_IN_QUARTER, offset
    elif basis == Basis.YTD:
        start, end = 0, offset
    else:
        start, end = 0, MONTHS_IN_YEAR - 1
    return [add_months(first, i) for i in range(start, end + 1)]


def fiscal_quarter(*, fiscal_year_start: date, month: date) -> int:
    """1 to 4: the fiscal quarter `month` falls in."""
    offset = _months_from(fiscal_year_start, month)
    if not 0 <= offset < MONTHS_IN_YEAR:
        raise DomainError(f"{month:%Y-%m} is not in the fiscal year starting {fiscal_year_start:%Y-%m}.")
    return offset // MONTHS_IN_QUARTER + 1


# --- pacing and projection ----------------------------------------------------------------------


def elapsed_days(*, period_start: date, period_end: date, as_of: date) -> tuple[int, int]:
    """(days elapsed including `as_of`, days in the period with both ends included), the elapsed
    days clamped to 0 before the period and to all of it from its last day on."""
    if period_end < period_start:
        raise ValueError(f"period_end {period_end} is before period_start {period_start}")
    days = (period_end - period_start).days + 1
    elapsed = min(max((as_of - period_start).days + 1, 0), days)
    return elapsed, days


def paced_budget(*, budget_for_period, period_start: date, period_end: date, as_of: date,
                 currency: str) -> Decimal:
    """The part of the period's budget that should be used by `as_of` at an even pace."""
    budget = as_decimal(budget_for_period, "budget_for_period")
    elapsed, days = elapsed_days(period_start=period_start, period_end=period_end, as_of=as_of)
    # budget × elapsed / days: multiplied first, rounded once.
    return round_money(budget * elapsed / days, currency)


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the month `month` falls in (the period pacing uses for a month)."""
    return month.replace(day=1), month.replace(day=calendar.monthrange(month.year, month.month)[1])


def run_rate_projection(*, actual_ytd, months_elapsed, months_in_year: int = MONTHS_IN_YEAR,
                        remaining_budget=None, method="linear", currency: str) -> Decimal | None:
    """The full year's projected actual (see the module docstring for the two methods)."""
    actual = as_decimal(actual_ytd, "actual_ytd")
    elapsed = as_decimal(months_elapsed, "months_elapsed")
    if months_in_year <= 0:
        raise ValueError("months_in_year must be positive")
    if not 0 <= elapsed <= months_in_year:
        raise ValueError(f"months_elapsed must be between 0 and {months_in_year}, not {months_elapsed}")
    try:
        method = Projection(method)
    except ValueError:
        raise ValueError(f"Unknown projection method {method!r}; use 'linear' or 'budget'.") from None
    if method == Projection.BUDGET:
        if remaining_budget is None:
            raise ValueError("the 'budget' projection needs remaining_budget")
        return round_money(actual + as_decimal(remaining_budget, "remaining_budget"), currency)
    if elapsed == 0:
        return None
    return round_money(actual * months_in_year / elapsed, currency)
