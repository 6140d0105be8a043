"""Money arithmetic: Decimal only, rounded once to the currency's minor unit, split exactly.

`split_exact` is the one way to divide a total into parts (allocation, phasing, recognition,
attribution): parts are rounded down to the minor unit and the remainder goes, unit by unit,
to the parts with the largest rounding loss (ties: the earliest part), so the parts always sum
to the total and the same input always gives the same split.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import lru_cache

from babel.numbers import get_currency_precision

from finops import bounds


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    return get_currency_precision(currency.upper())


@lru_cache(maxsize=512)
def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def as_decimal(value, name: str) -> Decimal:
    """`value` (Decimal, int or str) as a Decimal; a float (inexact) or anything else is refused."""
    if isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal, int or str, never a float")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    return Decimal(value)


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def translate(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """`amount` × `rate` in `currency`, computed exactly (up to 44 digits: `bounds.EXACT`) and
    rounded once to the minor unit — never rounded to 28 digits first."""
    with localcontext(bounds.EXACT):
        return (amount * rate).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def is_valid_currency(code: str) -> bool:
    """Any ISO 4217 code, historic ones included (DEM for a 1999 entry): what stored rows and files
    may carry. What new entities and organisations are offered is `active_currencies`."""
    from moneyed import CURRENCIES

    return isinstance(code, str) and code.upper() in CURRENCIES and len(code) == 3


@lru_cache(maxsize=4)
def active_currencies(on: date | None = None) -> tuple[str, ...]:
    """The ISO 4217 codes in circulation on `on` (today): legal tender of some territory on that
    day in the Unicode CLDR data Babel ships, and known to py-moneyed (so django-money takes them).
    Not historic codes (DEM, FRF), funds codes (BOV, CLF, USN), metals (XAU), SDRs (XDR) or the
    test and "no currency" codes (XTS, XXX)."""
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    on = on or date.today()
    found: set[str] = set()
    for territory in get_global("territory_currencies"):
        found.update(get_territory_currencies(territory, start_date=on, end_date=on, tender=True))
    return tuple(sorted(code for code in found if is_valid_currency(code)))


def is_active_currency(code: str) -> bool:
    return isinstance(code, str) and code.upper() in active_currencies(date.today())


def currency_choices(*, keep: str = "") -> list[tuple[str, str]]:
    """(code, "USD — US Dollar") for every active currency, plus `keep` — the code a row already
    has — when it is no longer in circulation, so an existing row stays valid."""
    from moneyed import CURRENCIES

    codes = set(active_currencies(date.today()))
    if keep and is_valid_currency(keep):
        codes.add(keep.upper())
    return [(code, f"{code} — {CURRENCIES[code].name}") for code in sorted(codes)]


def active_currency_problem(code: str, *, keep: str = "") -> str:
    """Why `code` cannot be given to a new row ("" when it can): unknown, or not in circulation.
    `keep` (the row's current code) stays acceptable."""
    code = (code or "").upper()
    if not is_valid_currency(code):
        return f"{code} is not an ISO 4217 currency code."
    if code != (keep or "").upper() and not is_active_currency(code):
        return f"{code} is not a currency in circulation today; pick a current ISO 4217 code."
    return ""


def split_exact(total: Decimal, weights: Sequence[Decimal | int], currency: str) -> list[Decimal]:
    """Split `total` (already in minor units of `currency`) in proportion to `weights`."""
    if not weights:
        raise ValueError("split_exact needs at least one weight")
    weights = [Decimal(w) for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    step = quantum(currency)
    total = round_money(total, currency)
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    try:
        raw = [magnitude * w / weight_sum for w in weights]
    except InvalidOperation as exc:  # pragma: no cover - only for absurd magnitudes
        raise ValueError("cannot split this amount") from exc
    parts = [r.quantize(step, rounding=ROUND_FLOOR) for r in raw]
    remainder_units = int((magnitude - sum(parts)) / step)
    order = sorted(range(len(parts)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:remainder_units]:
        parts[i] += step
    return [sign * p for p in parts]


def round_parts(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Round exact, signed `amounts` (costs with fractions of a cent) to `currency`'s minor unit
    so that the parts sum to their exact total rounded once (half up): each part is rounded to
    the nearest unit, then the few units the part-by-part rounding gained or lost are given
    back, one each, by the parts it moved furthest (ties: the earliest part). So a month's cost
    lines sum to the month's cost, to the cent, whatever the number of lines."""
    step = quantum(currency)
    exact = [Decimal(a) for a in amounts]
    parts = [round_money(a, currency) for a in exact]
    with localcontext(bounds.EXACT):  # a sum of numeric(27, 12) costs outgrows 28 digits
        total = round_money(sum(exact, Decimal(0)), currency)
    units = int((total - sum(parts, Decimal(0))) / step)  # > 0: parts fell short; < 0: overshot
    if units:
        direction = 1 if units > 0 else -1
        # The parts whose rounding went most against `direction` move back first.
        loss = [(a - p) * direction for a, p in zip(exact, parts, strict=True)]
        order = sorted(range(len(parts)), key=lambda i: (-loss[i], i))
        for i in order[:abs(units)]:
            parts[i] += direction * step
    return parts
