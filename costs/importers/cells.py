"""Reading one cell of a cost file: what is empty, a date, a cost, a currency, tags.

Each reader takes the cell's text (stripped, not empty) and returns the value, or a `Problem`
whose text follows the column's name and the cell ("BilledCost “abc” is not a number …").
They are pure (no database) and cheap: the row loop (`rows.py`) calls them a few dozen times a
row, caching dates, which repeat.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from finops import bounds
from finops.imports import parse_export_amount
from finops.ledger.money import is_valid_currency

from ..models import COST_DIGITS, ChargeCategory, ChargeClass

COST_PLACES = COST_DIGITS["decimal_places"]


class Problem(str):
    """What is wrong with a cell, as words that follow the cell: `is not a date: …`."""


def is_null(text: str) -> bool:
    """Empty, or the literal NULL (in any case) that many exports write for a missing value."""
    return not text or (len(text) == 4 and text.upper() == "NULL")


# --- dates -------------------------------------------------------------------------------------

# 2025-04-01, 2025-04-01T00:00:00Z, 2025-04-01 00:00:00.000+02:00, …
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?"
                  r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")  # month/day/year: 4/1/25, 04/01/2025
DATE_HINT = "is not a date: write 2025-04-01, 2025-04-01T00:00:00Z or 4/1/25 (month/day/year)"


def read_date(text: str, window: bounds.DateWindow) -> date | Problem:
    """The UTC day a FOCUS timestamp or date falls on. An hour past 23 is carried into the next
    day (the FOCUS samples write 2023-02-01T30:00:00Z for 30 hours into 1 February)."""
    value = _read_date(text)
    if value is None:
        return Problem(DATE_HINT)
    if value not in window:
        return Problem(f"is outside the accepted window {window}")
    return value


def _read_date(text: str) -> date | None:
    match = _ISO.fullmatch(text)
    if match is not None:
        year, month, day, hour, minute, second, zone = match.groups()
        try:
            moment = datetime(int(year), int(month), int(day))
        except ValueError:
            return None
        if hour is None:
            return moment.date() if zone is None else None
        if int(minute) > 59 or int(second or 0) > 60:
            return None
        moment += timedelta(hours=int(hour), minutes=int(minute), seconds=int(second or 0))
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        return moment.date()
    match = _US.fullmatch(text)
    if match is not None:
        month, day, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year += 2000 if year < 69 else 1900  # as strptime's %y reads two digits
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


# --- numbers -----------------------------------------------------------------------------------

def read_cost(text: str) -> Decimal | Problem:
    """A cost or a quantity, exactly: at most 15 digits before the point and 12 after."""
    value = parse_export_amount(text, COST_PLACES)
    if value is None:
        return Problem(f"has more than {COST_PLACES} decimals: costs are kept to {COST_PLACES} decimals, "
                       "never rounded")
    if isinstance(value, str):
        return Problem(value)
    return value


def number_text(value: Decimal) -> str:
    """A number as COPY and the row's fingerprint take it: the same value always gives the same
    text ("1.50" and "1.5" are one cost)."""
    if not value:
        return "0"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- codes and labels ---------------------------------------------------------------------------

def read_currency(text: str) -> str | Problem:
    code = text.upper()
    return code if is_valid_currency(code) else Problem("is not an ISO 4217 currency code (USD, EUR, …)")


def _choices(values) -> dict[str, str]:
    return {v.lower(): v for v in values if v}


_CATEGORIES = _choices(ChargeCategory.values)
_CLASSES = _choices(ChargeClass.values)
_STATUSES = _choices(["Used", "Unused"])
_DISCOUNT_CATEGORIES = _choices(["Spend", "Usage"])


def _one_of(choices: dict[str, str]):
    allowed = ", ".join(choices.values())

    def read(text: str) -> str | Problem:
        value = choices.get(text.lower())
        return value if value is not None else Problem(f"is not one of {allowed}")

    return read


read_charge_category = _one_of(_CATEGORIES)
read_charge_class = _one_of(_CLASSES)
read_discount_status = _one_of(_STATUSES)
read_discount_category = _one_of(_DISCOUNT_CATEGORIES)


# --- tags ---------------------------------------------------------------------------------------

def read_tags(text: str) -> dict | Problem:
    """FOCUS `Tags`: a JSON object of labels ({"team": "web"})."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(f"is not valid JSON ({exc.msg} at character {exc.pos + 1}): write a JSON object such as "
                       '{"team": "web"}')
    if not isinstance(value, dict):
        return Problem('is not a JSON object: write tags as {"team": "web"}')
    if "\\u0000" in text:  # JSON may escape a NUL character, which PostgreSQL cannot store in jsonb
        return Problem("holds a NUL character (\\u0000), which cannot be stored")
    return value


_PAIR = re.compile(r"\s*([^=:;,]+?)\s*[=:]\s*([^;,]*?)\s*")


def read_loose_tags(text: str) -> dict | Problem:
    """A generic file's tags: a JSON object, or pairs as people type them (`team=web; env=prod`)."""
    if text.startswith("{"):
        return read_tags(text)
    tags = {}
    for part in re.split(r"[;,]", text):
        if not part.strip():
            continue
        match = _PAIR.fullmatch(part)
        if match is None:
            return Problem('is not a list of tags: write team=web; env=prod, or a JSON object {"team": "web"}')
        tags[match.group(1)] = match.group(2)
    return tags


def tags_text(tags: dict) -> str:
    """Tags as stored and fingerprinted: the same labels always give the same text."""
    return json.dumps(tags, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
