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
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Round

from finops.errors import DomainError, found
from finops.jobs.models import Job
from finops.jobs.records import access_job, jobs_recent
from finops.ledger.derived import derived_postings
from finops.ledger.models import DerivedPosting
from finops.ledger.money import round_money
from finops.tenancy.context import tenant_context

from .importers import COSTS
from .mapping import CostGroup, GroupKey, Mapper
from .models import CostItem, MappingRule

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


_GROUP_FIELDS = {"month": "month", "currency": "billing_currency", "provider": "provider", "service": "service_name",
                 "category": "charge_category", "sub_account_id": "sub_account_id",
                 "sub_account_name": "sub_account_name", "cost_center_code": "cost_center_code",
                 "account_code": "account_code"}


def cost_groups(*, tenant, mapper: Mapper, months: list[date] | None = None, date_from: date | None = None,
                date_to: date | None = None) -> list[CostGroup]:
    """The tenant's cost items (of `months`, or whose month lies in [date_from, date_to]) grouped
    by what mapping reads: one group per distinct key, with its exact sums. Tags count only for
    the keys some rule reads, so the groups stay few however the resources are labelled."""
    with tenant_context(tenant):
        items = CostItem.objects.all()
        if months is not None:
            items = items.filter(month__in=sorted({m.replace(day=1) for m in months}))
        if date_from:
            items = items.filter(month__gte=date_from.replace(day=1))
        if date_to:
            items = items.filter(month__lte=date_to)
        tag_keys = mapper.tag_keys
        tags = {f"tag_{n}": KeyTextTransform(key, "tags") for n, key in enumerate(tag_keys)}
        rows = (items.values(*_GROUP_FIELDS.values(), **tags)
                .annotate(billed=Coalesce(Sum("billed_cost"), Decimal(0)),
                          effective=Coalesce(Sum("effective_cost"), Decimal(0)), n=Count("id"))
                .order_by())
        groups = []
        for row in rows:
            key = GroupKey(**{name: row[field] for name, field in _GROUP_FIELDS.items()},
                           tags=tuple((key, row[f"tag_{n}"]) for n, key in enumerate(tag_keys)))
            groups.append(CostGroup(key, row["billed"], row["effective"], row["n"]))
        return groups


@dataclass(frozen=True)
class UnallocatedRow:
    """Cost no rule maps (fully): what it is, what it lacks, how much, in which currency."""

    provider: str
    service: str
    category: str
    sub_account: str
    currency: str
    missing: str  # "cost center", "account" or "cost center and account"
    amount: Decimal  # Σ cost on the basis, rounded once
    items: int
    first_month: date
    last_month: date


@dataclass(frozen=True)
class RuleUse:
    amount_by_currency: dict[str, Decimal]  # Σ cost the rule decided (its cost center or its account)
    items: int


def mapping_overview(*, tenant, mapper: Mapper, basis: str, date_from: date | None = None,
                     date_to: date | None = None) -> tuple[list[UnallocatedRow], dict[int, RuleUse]]:
    """The unallocated bucket (largest first) and what each rule maps, over [date_from, date_to]."""
    bucket: dict[tuple, list] = {}
    uses: dict[int, list] = {}
    for group in cost_groups(tenant=tenant, mapper=mapper, date_from=date_from, date_to=date_to):
        k, mapped, cost = group.key, mapper.map(group.key), group.cost(basis)
        for rule_id in {mapped.cost_center_rule_id, mapped.account_rule_id} - {None}:
            use = uses.setdefault(rule_id, [{}, 0])
            use[0][k.currency] = use[0].get(k.currency, Decimal(0)) + cost
            use[1] += group.items
        if mapped.allocated:
            continue
        missing = " and ".join(what for what, lacks in (("cost center", mapped.cost_center_id is None),
                                                       ("account", mapped.account_id is None)) if lacks)
        row = bucket.setdefault((k.provider, k.service, k.category, k.sub_account_name or k.sub_account_id,
                                 k.currency, missing), [Decimal(0), 0, k.month, k.month])
        row[0] += cost
        row[1] += group.items
        row[2], row[3] = min(row[2], k.month), max(row[3], k.month)
    rows = [UnallocatedRow(*key, amount=round_money(v[0], key[4]), items=v[1], first_month=v[2], last_month=v[3])
            for key, v in bucket.items()]
    rows.sort(key=lambda r: (-abs(r.amount), r.provider, r.service, r.currency))
    return rows, {pk: RuleUse({c: round_money(a, c) for c, a in v[0].items()}, v[1]) for pk, v in uses.items()}


def cost_postings(*, tenant, limit: int = 36) -> list[DerivedPosting]:
    """The latest months' cost postings (newest first), with their entries."""
    return derived_postings(tenant=tenant, kind="costs", limit=limit)


def mapping_rule_list(*, tenant) -> list:
    with tenant_context(tenant):
        return list(MappingRule.objects.select_related("cost_center", "account").order_by("priority", "id"))


def access_mapping_rule(*, tenant, pk: int):
    """The tenant's mapping rule `pk`, or NotFound (the same for another organisation's)."""
    with tenant_context(tenant):
        return found(MappingRule.objects.select_related("cost_center", "account").filter(pk=pk).first(), "mapping rule")
