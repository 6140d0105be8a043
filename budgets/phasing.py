"""Phasing: turning an annual budget into 12 monthly amounts, exactly.

Pure functions (no database), Decimal only. Every spread returns months that sum EXACTLY to the
annual amount, rounded to the currency's minor unit: each month is its share rounded to the
nearest unit, and the rounding difference goes, whole, to ONE deterministic month — the month
with the largest share (ties: the latest such month; for an even spread, the last month of the
year, where a controller expects the true-up). Putting the plug on the largest month keeps its
relative distortion the smallest, and the same input always phases the same way.

Why not `finops.ledger.money.split_exact`: it hands the remainder out unit by unit to several
parts (8.34, 8.34, 8.34, 8.34, 8.33, … for 100.00), while the budget issue asks for the remainder
on one month (8.33 × 11 and 8.37), which is what a controller types into a spreadsheet too.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from finops.errors import DomainError
from finops.ledger.money import round_money

MONTHS = 12
HUNDRED = Decimal(100)


def _decimal(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("phasing takes Decimal or int, never float")
    return Decimal(value)


def plug_month(weights: Sequence[Decimal]) -> int:
    """The month (0-based) that takes the rounding difference: the largest |weight|, ties the latest."""
    return max(range(len(weights)), key=lambda i: (abs(weights[i]), i))


def _spread(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    total = round_money(_decimal(total), currency)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise ValueError("weights must not sum to zero")
    months = [round_money(total * w / weight_sum, currency) for w in weights]
    plug = plug_month(weights)
    months[plug] += total - sum(months, Decimal(0))
    return months


def spread_even(annual: Decimal, *, currency: str, months: int = MONTHS) -> list[Decimal]:
    """The annual amount in equal months; the rounding difference on the last month."""
    return _spread(annual, [Decimal(1)] * months, currency)


def spread_profile(annual: Decimal, *, profile: Sequence[Decimal], currency: str) -> list[Decimal]:
    """The annual amount by a % profile of 12 percentages that sum to 100 (e.g. a seasonality
    curve). Refuses, in words, a profile of the wrong length, with a negative month, or whose
    percentages do not add up to 100 — a profile summing to 96 % is a typo, not a request."""
    profile = [_decimal(p) for p in profile]
    if len(profile) != MONTHS:
        raise DomainError(f"A profile has {MONTHS} monthly percentages; this one has {len(profile)}.")
    if any(p < 0 for p in profile):
        raise DomainError("A profile cannot have a negative month.")
    total = sum(profile, Decimal(0))
    if total != HUNDRED:
        raise DomainError(f"The profile adds up to {total.normalize():f} %, not 100 %.")
    return _spread(annual, profile, currency)


def pattern_is_usable(pattern: Sequence[Decimal]) -> bool:
    """Whether `spread_pattern` follows the pattern (else it spreads evenly)."""
    return len(pattern) == MONTHS and sum((max(_decimal(p), Decimal(0)) for p in pattern), Decimal(0)) > 0


def spread_pattern(annual: Decimal, *, pattern: Sequence[Decimal], currency: str) -> list[Decimal]:
    """The annual amount in proportion to a monthly pattern, e.g. last year's actuals (natural sign).

    A negative month of the pattern (a refund, a reversal) counts as zero: it gets no budget
    rather than a budget of the opposite sign. If nothing positive is left — a pattern of zeros,
    all negative, or not 12 months — the amount is spread EVENLY instead; `pattern_is_usable`
    tells the caller so it can say which happened.
    """
    if not pattern_is_usable(pattern):
        return spread_even(annual, currency=currency)
    return _spread(annual, [max(_decimal(p), Decimal(0)) for p in pattern], currency)


def fill_right(months: Sequence[Decimal | None], *, start: int) -> list[Decimal | None]:
    """The spreadsheet's fill right: month `start` (0-based) copied into every later month;
    earlier months unchanged. The total is whatever results (12 − start copies of the value)."""
    if not 0 <= start < len(months):
        raise DomainError(f"Fill right starts at a month from 1 to {len(months)}.")
    value = months[start]
    return [*months[:start], *([value] * (len(months) - start))]


def copy_adjusted(pattern: Sequence[Decimal], *, pct: Decimal, currency: str) -> list[Decimal]:
    """Copy a monthly pattern (e.g. last year's actuals) changed by `pct` % (+5 or −10).

    The annual total is the pattern's total × (1 + pct/100), rounded once; each month is its own
    amount × (1 + pct/100) rounded, and the rounding difference goes to the plug month, so the
    months sum exactly to the adjusted total. Months keep their sign (a refund month stays one).
    """
    pattern = [_decimal(p) for p in pattern]
    if len(pattern) != MONTHS:
        raise DomainError(f"Copying needs {MONTHS} months; got {len(pattern)}.")
    factor = 1 + _decimal(pct) / HUNDRED
    total = round_money(sum(pattern, Decimal(0)) * factor, currency)
    months = [round_money(p * factor, currency) for p in pattern]
    months[plug_month(pattern)] += total - sum(months, Decimal(0))
    return months
