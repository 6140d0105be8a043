"""Reading request values the way every endpoint does: a row named by its code, a month as
YYYY-MM; what does not fit is a 422 with a pointer to the value (`problems.BadInput`)."""

from __future__ import annotations

from datetime import date, datetime

from .problems import BadInput


def by_code(model, code: str | None, what: str, field: str):
    """The tenant's `model` row with `code` (None for no code), else BadInput at `field`."""
    if not code:
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        raise BadInput(field, f"no {what} has the code {code!r}")
    return found


def month_param(value: str | None, field: str) -> date | None:
    """The first day of the month `value` (YYYY-MM), None for no value, else BadInput at `field`."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise BadInput(field, "is not a month (YYYY-MM)") from None
