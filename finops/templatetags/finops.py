"""Template filters for money and numbers: one place decides how an amount looks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

from finops.ledger.money import minor_units

register = template.Library()


def _format(value, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    number = Decimal(value).quantize(quantum)
    text = f"{abs(number):,.{places}f}"
    return f"({text})" if number < 0 else text


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5 → "1,234.50"; negatives in parentheses; places from the currency (JPY 0)."""
    if value is None or value == "":
        return ""
    try:
        return _format(value, minor_units(currency) if currency else 2)
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


@register.filter
def signed_money(value, currency: str = ""):
    """Like `money`, wrapped in a span whose class says the sign (for colouring)."""
    if value is None or value == "":
        return ""
    css = "neg" if Decimal(value) < 0 else "pos"
    return format_html('<span class="num {}">{}</span>', css, money(value, currency))


@register.filter
def pct(value, places: int = 1) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):.{int(places)}f} %"


@register.simple_tag(takes_context=True)
def ledger_stamp(context) -> int:
    """The organisation's ledger stamp (`ledger.selectors.ledger_stamp`), for the live poller."""
    from finops.ledger.selectors import ledger_stamp as stamp

    return stamp(tenant=context["request"].org)
