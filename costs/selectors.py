"""Reads of costs: the cost summary (the command's, the pages' and later the API's), a page of
cost items, and the cost imports.

Sums happen in SQL, grouped by currency (items of different currencies are never added up), over
the items' full precision, and are rounded once, to 2 decimals, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Round

from finops.errors import DomainError
from finops.jobs.models import Job
from finops.jobs.records import access_job, jobs_recent
from finops.tenancy.context import tenant_context

from .importers import COSTS
from .models import CostItem

# --by … → the item's field it groups by.
SUMMARY_BY = {"provider": "provider", "service": "service_name", "cost_center": "cost_center_code",
              "account": "account_code", "month": "month"}
SUMMARY_COLUMNS = ("key", "currency", "billed_cost", "effective_cost", "items")
TOTAL_KEY = "total"  # the key of the one row per currency without --by


@dataclass(frozen=True)
class SummaryRow:
    key: str
    currency: str
    billed_cost: Decimal  # Σ BilledCost in `currency`, rounded once to 2 decimals
    effective_cost: Decimal  # Σ EffectiveCost, likewise
    items: int

    def as_tuple(self) -> tuple:
        return self.key, self.currency, self.billed_cost, self.effective_cost, self.items


def _filtered(*, date_from: date | None, date_to: date | None, job_id: int | None = None, month: date | None = None):
    if date_from and date_to and date_from > date_to:
        raise DomainError(f"The period starts after it ends ({date_from} … {date_to}).")
    query = Q()
    if date_from:
        query &= Q(charge_period_start__gte=date_from)
    if date_to:
        query &= Q(charge_period_start__lte=date_to)
    if job_id:
        query &= Q(import_job_id=job_id)
    if month:
        query &= Q(month=month.replace(day=1))
    return CostItem.objects.filter(query)


def cost_summary(*, tenant, by: str | None = None, date_from: date | None = None, date_to: date | None = None,
                 job_id: int | None = None, month: date | None = None) -> list[SummaryRow]:
    """Billed and effective cost and the number of items per key (`SUMMARY_BY`) and currency, for
    items whose charge period starts in [date_from, date_to] (and in `month`, of import `job_id`, if
    given); without `by`, one row per currency.
    A month's key is YYYY-MM; an item without the key (a FOCUS item has no cost center) has ""."""
    if by is not None and by not in SUMMARY_BY:
        raise DomainError(f"Cannot summarise by “{by}”: choose one of {', '.join(SUMMARY_BY)}.")
    with tenant_context(tenant):
        items = _filtered(date_from=date_from, date_to=date_to, job_id=job_id, month=month)
        key = F(SUMMARY_BY[by]) if by else Value(TOTAL_KEY)
        rows = (items.values(group=key, currency=F("billing_currency"))
                .annotate(billed=Round(Sum("billed_cost"), 2), effective=Round(Sum("effective_cost"), 2),
                          n=Count("id"))
                .order_by("group", "currency")
                .values_list("group", "currency", "billed", "effective", "n"))
        return [SummaryRow(f"{group:%Y-%m}" if isinstance(group, date) else group, currency, billed, effective, n)
                for group, currency, billed, effective, n in rows]


@dataclass(frozen=True)
class CostItemPage:
    items: list[CostItem]
    next_after: str | None  # the `after` token of the next (older) page


PAGE_SIZE = 100


def cost_item_page(*, tenant, job_id: int | None = None, month: date | None = None, after: str = "",
                   size: int = PAGE_SIZE) -> CostItemPage:
    """A page of cost items, newest charge first, after the `after` token of the page before
    ("2025-04-01.1234": keyset paging, so page 500 costs what page 1 does)."""
    with tenant_context(tenant):
        items = _filtered(date_from=None, date_to=None, job_id=job_id, month=month)
        if after:
            start, _, pk = after.partition(".")
            try:
                start_date, pk_value = date.fromisoformat(start), int(pk)
            except ValueError:
                raise DomainError("This page link is not valid: start from the first page.") from None
            items = items.filter(Q(charge_period_start__lt=start_date) | Q(charge_period_start=start_date, id__lt=pk_value))
        found = list(items.order_by("-charge_period_start", "-id")[:size + 1])
    more = len(found) > size
    found = found[:size]
    return CostItemPage(found, f"{found[-1].charge_period_start.isoformat()}.{found[-1].pk}" if more else None)


def cost_imports_recent(*, tenant, limit: int = 25) -> list[Job]:
    return jobs_recent(tenant=tenant, kind=COSTS, limit=limit)


def access_cost_import(*, tenant, pk: int) -> Job:
    """The tenant's cost import `pk`, or NotFound (the same for another organisation's)."""
    return access_job(tenant=tenant, kind=COSTS, pk=pk)
