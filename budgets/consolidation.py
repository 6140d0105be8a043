"""Consolidated budget vs actual: each entity's budget in force for a fiscal year against its
actuals, together, in the organisation's reporting currency.

Each entity's figures are `reports.budget_vs_actual` of its version, by month (the same figures
as its own page, paced the same way), translated into the reporting currency: actuals at each
month's average rate (the actual rate), budgets at the fiscal year's budget rate (the rate the
budgets were set at, `FxRateKind.BUDGET`). The actual translated at the budget rate splits the
variance in two: what the business did (actual at budget rate − budget, the operational
variance) and what the rates did (actual − actual at budget rate, the FX effect); the two add up
to the variance exactly. Amounts without a rate are left out and named (`missing_rates`), as on
the dashboard, never translated at a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from finops.errors import DomainError
from finops.ledger.actuals import MissingRate, Translator
from finops.ledger.fx import RateBook
from finops.ledger.models import AccountType, FxRateKind
from finops.ledger.periods import fiscal_year_first_month
from finops.tenancy.context import tenant_context

from . import variance as v
from .models import Budget
from .reports import REPORTED_TYPES, BudgetVsActual, Compared, Windowed, budget_vs_actual
from .selectors import version_in_force

GROUP_BY_CHOICES = ("entity", "account", "cost_center")
ZERO = Decimal(0)


@dataclass(frozen=True)
class ConsolidatedRow(Compared):
    """One line (or total) in the reporting currency, natural sign. Attributes not grouped by are None."""

    account_type: str
    actual: Decimal  # at each month's actual (average) rate
    budget: Decimal  # the window's whole budget, at the budget rate
    pacing: Decimal  # the budget paced to as_of, at the budget rate
    actual_at_budget_rate: Decimal
    result: v.Variance  # against `compared_with`
    paced: bool
    has_budget: bool
    entity_code: str | None = None
    account_id: int | None = None
    account_code: str | None = None
    account_name: str | None = None
    cost_center_id: int | None = None
    cost_center_code: str | None = None  # "" for lines without a cost center, None when not grouped
    is_total: bool = False
    label: str = ""

    @property
    def operational(self) -> Decimal:
        """What the business did: the actual at the budget rate against the budget."""
        return self.actual_at_budget_rate - self.compared_with

    @property
    def fx_effect(self) -> Decimal:
        """What the rates did: the actual at actual rates against the same at the budget rate."""
        return self.actual - self.actual_at_budget_rate


@dataclass(frozen=True)
class Consolidated(Windowed):
    fiscal_year: int
    currency: str
    month: date
    basis: str
    window: list[date]
    as_of: date
    paced: bool
    group_by: tuple[str, ...]
    versions: list  # the budget versions consolidated, one per entity
    rows: list[ConsolidatedRow]
    totals: list[ConsolidatedRow]
    missing_rates: list[MissingRate] = field(default_factory=list)
    basis_words: str = ""


def consolidation_budgets(*, tenant, fiscal_year: int) -> list[Budget]:
    """The fiscal year's budgets that have a version in force, by entity then name."""
    with tenant_context(tenant):
        return list(Budget.objects.filter(fiscal_year=fiscal_year).select_related("entity")
                    .order_by("entity__code", "name"))


def consolidation_default_year(*, tenant, budgets: Iterable[Budget], today: date | None = None) -> int:
    """The fiscal year the consolidated report opens on: this one when it has budgets, else the
    latest past year that has, else the first."""
    from finops.ledger.periods import fiscal_year_label

    current = fiscal_year_label(start_month=tenant.fiscal_year_start_month, d=today or date.today())
    years = {b.fiscal_year for b in budgets}
    if current in years or not years:
        return current
    past = [y for y in years if y < current]
    return max(past) if past else min(years)


def consolidation_versions(*, tenant, fiscal_year: int, budgets: Iterable | None = None) -> list:
    """The versions in force of `budgets` (default: for each entity, its first budget in force by
    name). Two budgets of one entity would count its actuals twice: refused."""
    chosen = consolidation_budgets(tenant=tenant, fiscal_year=fiscal_year)
    if budgets is not None:
        wanted = {getattr(b, "pk", b) for b in budgets}
        unknown = wanted - {b.pk for b in chosen}
        if unknown:
            raise DomainError(f"Choose budgets of FY{fiscal_year}; {len(unknown)} of those asked for are not.")
        chosen = [b for b in chosen if b.pk in wanted]
    versions, entities = [], {}
    for budget in chosen:
        version = version_in_force(tenant=tenant, budget=budget)
        if version is None:
            if budgets is not None:
                raise DomainError(f"{budget.name} has no version in force yet (approve one first).")
            continue
        if budget.entity_id in entities:
            if budgets is not None:
                raise DomainError(f"{entities[budget.entity_id]} and {budget.name} are both budgets of "
                                  f"{budget.entity.code}: choose one, or its actuals would count twice.")
            continue
        entities[budget.entity_id] = budget.name
        versions.append(version)
    return versions


def consolidated_budget_vs_actual(*, tenant, fiscal_year: int, period: date, basis: str = v.Basis.MONTH,
                                  group_by: Sequence[str] = ("account",), budgets: Iterable | None = None,
                                  as_of: date | None = None) -> Consolidated:
    """The entities' budgets in force for `fiscal_year` against their actuals, in the
    organisation's reporting currency, for `period`'s month on `basis` (see the module)."""
    unknown = [g for g in group_by if g not in GROUP_BY_CHOICES]
    if unknown:
        raise DomainError(f"Cannot group by {', '.join(unknown)}; choose among {', '.join(GROUP_BY_CHOICES)}.")
    group_by = tuple(g for g in GROUP_BY_CHOICES if g in group_by)
    as_of = as_of or date.today()
    currency = str(tenant.reporting_currency)
    versions = consolidation_versions(tenant=tenant, fiscal_year=fiscal_year, budgets=budgets)
    fy_start = fiscal_year_first_month(tenant=tenant, fiscal_year=fiscal_year)
    rates = {kind: RateBook.load(tenant=tenant, kind=kind) for kind in (FxRateKind.AVERAGE, FxRateKind.BUDGET)}
    translate = Translator(currency=currency, entities={ver.budget.entity_id: ver.budget.entity for ver in versions},
                           rates=rates)
    inner = tuple(g for g in ("account", "cost_center") if g in group_by) + ("period",)
    sums: dict[tuple, dict] = {}
    report: BudgetVsActual | None = None
    for version in versions:
        entity = version.budget.entity
        report = budget_vs_actual(tenant=tenant, version=version, period=period, basis=basis, group_by=inner,
                                  as_of=as_of)
        for r in report.rows:
            key = (r.account_type, entity.code if "entity" in group_by else None, r.account_id, r.cost_center_id,
                   r.cost_center_code)
            at = sums.setdefault(key, {"actual": ZERO, "budget": ZERO, "pacing": ZERO, "at_budget": ZERO,
                                       "has_budget": False, "labels": {
                                           "entity_code": entity.code if "entity" in group_by else None,
                                           "account_id": r.account_id, "account_code": r.account_code,
                                           "account_name": r.account_name, "cost_center_id": r.cost_center_id,
                                           "cost_center_code": r.cost_center_code}})
            at["actual"] += translate(entity.pk, r.period_start, r.actual, kind=FxRateKind.AVERAGE) or ZERO
            for name, amount in (("budget", r.budget), ("pacing", r.pacing), ("at_budget", r.actual)):
                at[name] += translate(entity.pk, fy_start, amount, kind=FxRateKind.BUDGET) or ZERO
            at["has_budget"] |= r.has_budget
    if report is None:
        raise DomainError(f"No budget of FY{fiscal_year} is in force yet: approve one to consolidate it.")
    paced = report.paced

    def make(account_type, figures, **labels) -> ConsolidatedRow:
        compared = figures["pacing"] if paced else figures["budget"]
        return ConsolidatedRow(
            account_type=account_type, actual=figures["actual"], budget=figures["budget"], pacing=figures["pacing"],
            actual_at_budget_rate=figures["at_budget"], paced=paced, has_budget=figures["has_budget"],
            result=v.variance(account_type=account_type, actual=figures["actual"], budget=compared,
                              consumed_of=figures["budget"], currency=currency), **labels)

    # Revenue, then expense; by entity, account code and cost center code within each.
    order = sorted(sums, key=lambda k: (REPORTED_TYPES.index(k[0]), k[1] or "",
                                        sums[k]["labels"]["account_code"] or "", k[4] or ""))
    rows = [make(k[0], sums[k], **sums[k]["labels"]) for k in order]
    totals = []
    for account_type in REPORTED_TYPES:
        mine = [sums[k] for k in order if k[0] == account_type]
        if mine:
            added = {n: sum((m[n] for m in mine), ZERO) for n in ("actual", "budget", "pacing", "at_budget")}
            totals.append(make(account_type, {**added, "has_budget": any(m["has_budget"] for m in mine)},
                               is_total=True, label=AccountType(account_type).label))
    if totals:
        sign = {AccountType.REVENUE.value: 1, AccountType.EXPENSE.value: -1}
        net = {n: sum((sign[t.account_type] * getattr(t, attr) for t in totals), ZERO)
               for n, attr in (("actual", "actual"), ("budget", "budget"), ("pacing", "pacing"),
                               ("at_budget", "actual_at_budget_rate"))}
        totals.append(make(AccountType.REVENUE.value, {**net, "has_budget": any(t.has_budget for t in totals)},
                           is_total=True, label="Net result"))
    return Consolidated(fiscal_year=fiscal_year, currency=currency, month=report.month, basis=report.basis,
                        window=report.window, as_of=as_of, paced=paced, group_by=group_by, versions=versions,
                        rows=rows, totals=totals, missing_rates=translate.missing_rates(), basis_words=report.basis_words)

