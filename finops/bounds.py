"""Bounds (DESIGN §4): the dates and the amounts the product accepts, defined once.

Every path where a date or an amount enters (the entry form and the posting service, reversals,
the GL and budget importers, the budget grid, fiscal years and periods, FX rates) asks this
module, so one typo is refused the same way everywhere, with a message that names it. What does
not fit is refused, never rounded or cut to something near it.

Dates
    A date is accepted inside the WINDOW: from `settings.LEDGER_DATE_MIN` (default 1990-01-01)
    to the last day of the year `settings.LEDGER_DATE_YEARS_AHEAD` (default 10) years after the
    current one. Fiscal periods are created only for dates inside it (the whole fiscal year of
    each, which may reach up to eleven months past an edge).
    Under the window the database holds a coarse WALL, 1900-01-01 … 2999-12-31, on periods and
    FX rates (migration ledger 0010; every entry lies inside its period): a path that forgets the
    window still cannot store a date whose month arithmetic — a fiscal year, a report's twelve
    months back or one ahead — leaves the calendar. The window must keep a year inside the wall
    on each side; settings that do not are refused when the window is first asked for.
    Inside the window, a date `settings.LEDGER_FAR_AHEAD_MONTHS` (default 2) or more months after
    the current month is accepted but FAR AHEAD (`months_ahead`, `far_ahead_warning`): the entry
    form and the GL import say so where it is posted, and the dashboard lists such months rather
    than open on them.

Amounts
    An amount that enters has at most 15 digits before the decimal point (|amount| < 10^15,
    `AMOUNT_LIMIT`) — a journal line both in its own currency and translated, a budget cell, a
    transfer, a threshold — and no more decimals than its currency's minor unit. Why these
    limits are enough (the columns are numeric(p, 4); Python's Decimal context has 28
    significant digits, i.e. 24 before the point at 4 places):

    - a line or a budget cell is stored in numeric(20, 4), < 10^16: ten times the limit, so a
      reversal, a translation's rounding or a row written before this limit still fits;
    - an entry has at most 32,767 lines (its line number is a smallint), so its debits total
      < 3.3 × 10^20, and the sums of the posting service and the importer stay exact in Python;
    - a rollup cell (`ledger_periodbalance.amount`) is numeric(28, 4), < 10^24: it holds the sum
      of 10^8 lines at the column's maximum, 10^9 at the limit. Any figure the product keeps or
      computes (a rollup cell, a report total, an alert's actual, budget and variance, what a
      budget line has available) sums rows of one tenant, and no tenant comes near 10^8 rows of
      10^16 (the 5M-line bench tenant has 5 × 10^6 rows): so every such figure is < 10^24, fits
      numeric(28, 4) (`TOTAL_DIGITS`) and is exact in Python's 28 digits;
    - a product with an FX rate (numeric(24, 10)) has up to 44 significant digits: it is computed
      in `EXACT` (60 digits) and rounded once (`finops.ledger.money.translate`);
    - a percentage of a figure (< 10^24) over a budget (≥ 0.0001, the stored precision) is
      < 10^30: computed in `EXACT`, stored in numeric(32, 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from finops.errors import DomainError

# --- dates ------------------------------------------------------------------------------------

DATE_WALL = (date(1900, 1, 1), date(2999, 12, 31))  # held by the database (migration ledger 0010)


@dataclass(frozen=True)
class DateWindow:
    first: date
    last: date

    def __contains__(self, d: date) -> bool:
        return self.first <= d <= self.last

    def __str__(self) -> str:
        return f"{self.first.isoformat()} … {self.last.isoformat()}"

    def overlaps(self, first: date, last: date) -> bool:
        return first <= self.last and last >= self.first


def date_window(*, today: date | None = None) -> DateWindow:
    """The dates accepted now (see the module docstring); configured by the settings."""
    first = settings.LEDGER_DATE_MIN
    ahead = settings.LEDGER_DATE_YEARS_AHEAD
    year = (today or timezone.localdate()).year + ahead
    if not isinstance(first, date) or not isinstance(ahead, int) or ahead < 0:
        raise ImproperlyConfigured("LEDGER_DATE_MIN must be a date and LEDGER_DATE_YEARS_AHEAD a whole number ≥ 0.")
    if first.year <= DATE_WALL[0].year or year >= DATE_WALL[1].year:
        raise ImproperlyConfigured(
            f"The date window {first} … {year}-12-31 must lie inside {DATE_WALL[0].year + 1}-01-01 … "
            f"{DATE_WALL[1].year - 1}-12-31 (a year inside the database's wall on each side).")
    return DateWindow(first, date(year, 12, 31))


def outside_window(text: str, *, what: str = "date") -> str:
    """The message for a value outside the window: "date 9999-12-31 is outside the accepted
    window 1990-01-01 … 2036-12-31." (`what` empty: the value alone)."""
    return f"{what + ' ' if what else ''}{text} is outside the accepted window {date_window()}."


def date_problem(d: date, *, what: str = "date") -> str | None:
    """Why `d` is not accepted, or None."""
    return None if d in date_window() else outside_window(d.isoformat(), what=what)


def date_require(d: date, *, what: str = "date") -> None:
    if problem := date_problem(d, what=what):
        raise DomainError(problem)


def month_problem(first: date, last: date, *, text: str, what: str = "month") -> str | None:
    """Why a span of days (a month, a fiscal year) named `text` has no day in the window, or None."""
    return None if date_window().overlaps(first, last) else outside_window(text, what=what)


def months_ahead(d: date, *, today: date | None = None) -> int:
    """How many months `d`'s month lies after the current month (negative: before)."""
    today = today or timezone.localdate()
    return (d.year - today.year) * 12 + d.month - today.month


def far_ahead_from(*, today: date | None = None) -> date:
    """The first day of the first month counted as far ahead."""
    today = today or timezone.localdate()
    index = today.year * 12 + today.month - 1 + settings.LEDGER_FAR_AHEAD_MONTHS
    return date(index // 12, index % 12 + 1, 1)


def far_ahead_warning(d: date, *, today: date | None = None) -> str | None:
    """"dated 38 months ahead (January 2030): is the year right?" for a date far ahead, else None."""
    ahead = months_ahead(d, today=today)
    if ahead < settings.LEDGER_FAR_AHEAD_MONTHS:
        return None
    return f"dated {ahead} months ahead ({d:%B %Y}): is the year right?"


# --- amounts ----------------------------------------------------------------------------------

AMOUNT_LIMIT_DIGITS = 15
AMOUNT_LIMIT = Decimal(10) ** AMOUNT_LIMIT_DIGITS  # |amount| < AMOUNT_LIMIT
TOO_LARGE = f"is too large (at most {AMOUNT_LIMIT_DIGITS} digits before the decimal point)"
MAX_LINES_PER_ENTRY = 32767  # a line's number is a smallint
# Exact for every product and quotient of the figures above (see the module docstring).
EXACT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])


def amount_problem(amount: Decimal, *, places: int | None = None, currency: str = "") -> str | None:
    """Why `amount` does not fit (finite, |amount| < 10^15, at most `places` decimals), or None.
    The message follows the amount: "is too large (…)", "has more decimals than USD allows (2)"."""
    if not amount.is_finite():
        return "is not a number"
    if amount.copy_abs() >= AMOUNT_LIMIT:  # copy_abs: no context, so 1E+1000000 cannot overflow
        return TOO_LARGE
    if places is not None and amount != amount.quantize(Decimal(1).scaleb(-places)):
        return f"has more decimals than {currency} allows ({places})" if currency else \
            f"has more than {places} decimals"
    return None
