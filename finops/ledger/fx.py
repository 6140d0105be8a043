"""Exchange rates: which rate translates what.

Transactions in a foreign currency are translated into the entity's functional currency at the
monthly average rate of the transaction's month (IAS 21.22's practical expedient); the same
rates translate P&L flows for consolidation. A missing direct rate is taken as the inverse of
the opposite pair when that exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from finops.tenancy.context import tenant_context

from .models import FxRate, FxRateKind

RATE_PLACES = Decimal("1e-10")


class RateBook:
    """All rates of one kind for a tenant, loaded once; lookups are dictionary reads."""

    def __init__(self, rates: Iterable[tuple[date, str, str, Decimal]]):
        # Keyed by (year, month): one rate of a kind per pair and month.
        self._rates: dict[tuple[int, int, str, str], Decimal] = {}
        for d, src, dst, rate in rates:
            self._rates[(d.year, d.month, src, dst)] = rate
        for (y, m, src, dst), rate in list(self._rates.items()):
            self._rates.setdefault((y, m, dst, src), (Decimal(1) / rate).quantize(RATE_PLACES))

    @classmethod
    def load(cls, *, tenant, kind: str = FxRateKind.AVERAGE) -> RateBook:
        with tenant_context(tenant):
            rows = FxRate.objects.filter(kind=kind).values_list("date", "from_currency", "to_currency", "rate")
            return cls(list(rows))

    def rate(self, *, src: str, dst: str, month: date) -> Decimal | None:
        if src == dst:
            return Decimal(1)
        return self._rates.get((month.year, month.month, src, dst))
