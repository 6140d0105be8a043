"""Budgets at a glance, for the dashboard: for each budget in force in the month's fiscal year,
how much of the year's budget the actuals have used so far, against how much of the year has
gone, and the lines furthest off plan (year to date). Everything comes from
`reports.budget_vs_actual`, so the dashboard and the report can never disagree: in a month in
progress, year to date runs through today against the budget paced to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from finops.ledger.periods import add_months, fiscal_year_first_month, fiscal_year_label
from finops.tenancy.context import tenant_context

from . import variance as v
from .alerts.selectors import alert_list
from .models import Budget, BudgetVersion, VersionStatus
from .reports import VarianceRow, budget_vs_actual

MAX_BUDGETS = 3  # the dashboard shows the first few; the budget list has them all
WATCH_LINES = 5
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Glance:
    version: BudgetVersion
    month: date
    currency: str
    revenue: VarianceRow | None  # year-to-date totals per type (None when the type has neither)
    expense: VarianceRow | None
    net: VarianceRow | None
    full_year_expense_budget: Decimal
    full_year_revenue_budget: Decimal
    year_elapsed_pct: Decimal  # share of the fiscal year's days gone by the end of `month` (or by as_of, sooner)
    watch: list[VarianceRow]  # the lines with the largest unfavourable variance, year to date
    basis_words: str = ""  # what the year-to-date figures are: "year to date through 30 November 2026"

    @property
    def budget(self) -> Budget:
        return self.version.budget

    @property
    def expense_used_pct(self) -> Decimal | None:
        """Actual expense to date as a share of the FULL-YEAR expense budget."""
        return _share(self.expense.actual if self.expense else None, self.full_year_expense_budget)

    @property
    def revenue_earned_pct(self) -> Decimal | None:
        return _share(self.revenue.actual if self.revenue else None, self.full_year_revenue_budget)

    @property
    def meters(self) -> list[tuple[str, VarianceRow, Decimal | None, Decimal, str]]:
        """(kind, year-to-date totals, % of the full year's budget, full-year budget, verb)."""
        meters = []
        if self.revenue:
            meters.append(("revenue", self.revenue, self.revenue_earned_pct, self.full_year_revenue_budget, "earned"))
        if self.expense:
            meters.append(("expense", self.expense, self.expense_used_pct, self.full_year_expense_budget, "used"))
        return meters


@dataclass(frozen=True)
class BudgetsAtAGlance:
    glances: list[Glance]
    awaiting_approval: list[BudgetVersion]  # the budgets' newest versions that are submitted
    more: int  # budgets in force not shown
    open_alerts: int


def _share(part: Decimal | None, whole: Decimal) -> Decimal | None:
    if part is None or not whole:
        return None
    return (part / whole * HUNDRED).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _totals(report) -> dict[str, VarianceRow]:
    return {row.label: row for row in report.totals}


def budgets_at_a_glance(*, tenant, month: date, entity_id: int | None = None,
                        as_of: date | None = None) -> BudgetsAtAGlance:
    """The budgets in force for the fiscal year of `month` (of `entity_id`, or of every entity)."""
    fiscal_year = fiscal_year_label(start_month=tenant.fiscal_year_start_month, d=month)
    with tenant_context(tenant):
        budgets = Budget.objects.filter(fiscal_year=fiscal_year).select_related("entity").order_by("entity__code", "name")
        if entity_id:
            budgets = budgets.filter(entity_id=entity_id)
        versions = list(BudgetVersion.objects.filter(budget__in=budgets)
                        .select_related("budget__entity").order_by("budget__entity__code", "budget__name", "-number"))
        open_alerts = alert_list(tenant=tenant, status="open").count()
    in_force: dict[int, BudgetVersion] = {}
    latest: dict[int, BudgetVersion] = {}
    for version in versions:  # newest first within a budget
        latest.setdefault(version.budget_id, version)
        if version.status in (VersionStatus.APPROVED, VersionStatus.LOCKED):
            in_force.setdefault(version.budget_id, version)
    # Only what someone must decide on: submitted versions (a first budget or a revision of one in
    # force), not drafts still being written or rejected ones.
    awaiting = [version for version in latest.values() if version.status == VersionStatus.SUBMITTED]
    chosen = list(in_force.values())[:MAX_BUDGETS]
    as_of = as_of or timezone.localdate()
    glances = [_glance(tenant=tenant, version=version, month=month, as_of=as_of) for version in chosen]
    return BudgetsAtAGlance(glances=glances, awaiting_approval=awaiting, more=len(in_force) - len(chosen),
                            open_alerts=open_alerts)


def _glance(*, tenant, version: BudgetVersion, month: date, as_of: date) -> Glance:
    ytd = budget_vs_actual(tenant=tenant, version=version, period=month, basis=v.Basis.YTD, as_of=as_of)
    full_year = budget_vs_actual(tenant=tenant, version=version, period=month, basis=v.Basis.FULL_YEAR,
                                 group_by=(), as_of=as_of)
    totals, year = _totals(ytd), _totals(full_year)
    fy_start = fiscal_year_first_month(tenant=tenant, fiscal_year=version.budget.fiscal_year)
    fy_end = v.month_bounds(add_months(fy_start, 11))[1]
    elapsed, days = v.elapsed_days(period_start=fy_start, period_end=fy_end, as_of=ytd.through)
    unfavourable = [row for row in ytd.rows if not row.favourable and row.variance]
    unfavourable.sort(key=lambda row: (-abs(row.variance), row.account_code or "", row.cost_center_code or ""))
    return Glance(
        version=version, month=month, currency=ytd.currency,
        revenue=totals.get("Revenue"), expense=totals.get("Expense"), net=totals.get("Net result"),
        full_year_expense_budget=year["Expense"].budget if "Expense" in year else Decimal(0),
        full_year_revenue_budget=year["Revenue"].budget if "Revenue" in year else Decimal(0),
        year_elapsed_pct=(Decimal(elapsed) / days * HUNDRED).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        watch=unfavourable[:WATCH_LINES], basis_words=ytd.basis_words,
    )

