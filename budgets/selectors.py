"""Reads of budgets for pages, exports and reports.

The grid (`version_lines`) is pivoted in SQL — one row per account × cost center with its 12
months and total — so a 300-row page reads 300 rows, not 3,600 cells; the same holds for the
version diff (`services.version_diff`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from finops.tenancy.context import tenant_context

from .models import FINAL_STATUSES, Budget, BudgetVersion
from .services import DiffRow, budget_periods, version_diff  # noqa: F401  (reads kept beside their writes)


def budget_list(*, tenant, fiscal_year: int | None = None, entity=None) -> QuerySet[Budget]:
    """Budgets, newest fiscal year first, each annotated with its latest version's number,
    kind and status (`latest_number`, `latest_kind`, `latest_status`). Evaluate the queryset
    inside `tenant_context(tenant)`."""
    latest = BudgetVersion.objects.unscoped().filter(  # unscoped: correlated to a budget already scoped
        budget_id=OuterRef("pk")).order_by("-number")
    qs = (Budget.objects.select_related("entity")
          .annotate(latest_number=Subquery(latest.values("number")[:1]),
                    latest_kind=Subquery(latest.values("kind")[:1]),
                    latest_status=Subquery(latest.values("status")[:1])))
    if fiscal_year is not None:
        qs = qs.filter(fiscal_year=fiscal_year)
    if entity is not None:
        qs = qs.filter(entity_id=getattr(entity, "pk", entity))
    return qs.order_by("-fiscal_year", "name")


def budget_get(*, tenant, pk) -> Budget:
    """The budget, or 404 (the same for "missing" and "another organisation's")."""
    with tenant_context(tenant):
        return get_object_or_404(Budget.objects.select_related("entity"), pk=pk)


def budget_by_name(*, tenant, name: str) -> Budget | None:
    with tenant_context(tenant):
        return Budget.objects.select_related("entity").filter(name__iexact=(name or "").strip()).first()


def version_get(*, tenant, pk) -> BudgetVersion:
    """The version with its budget and entity, or 404."""
    with tenant_context(tenant):
        return get_object_or_404(BudgetVersion.objects.select_related("budget__entity", "parent"), pk=pk)


def version_list(*, tenant, budget) -> list[BudgetVersion]:
    with tenant_context(tenant):
        return list(BudgetVersion.objects.filter(budget_id=getattr(budget, "pk", budget))
                    .select_related("parent", "created_by", "approved_by").order_by("number"))


def version_latest(*, tenant, budget) -> BudgetVersion | None:
    """The budget's newest version, whatever its status: the one being worked on."""
    with tenant_context(tenant):
        return (BudgetVersion.objects.filter(budget_id=getattr(budget, "pk", budget))
                .select_related("budget__entity").order_by("-number").first())


def version_current(*, tenant, budget) -> BudgetVersion | None:
    """The budget in force: its newest approved or locked version (None before any approval).
    Budget vs actual compares actuals with this one."""
    with tenant_context(tenant):
        return (BudgetVersion.objects.filter(budget_id=getattr(budget, "pk", budget), status__in=FINAL_STATUSES)
                .select_related("budget__entity").order_by("-number").first())


@dataclass(frozen=True)
class GridRow:
    account_id: int
    account_code: str
    account_name: str
    account_type: str
    cost_center_id: int | None
    cost_center_code: str  # "" for lines without a cost center
    cost_center_name: str
    cost_center_parent_id: int | None
    months: tuple[Decimal | None, ...]  # 12, by period number; None where the version has no line
    total: Decimal


_MONTH_COLUMNS = ",\n".join(f"sum(l.amount) FILTER (WHERE p.number = {n})" for n in range(1, 13))
PIVOT = f"""
    SELECT l.account_id, a.code, a.name, a.type,
           l.cost_center_id, coalesce(cc.code, ''), coalesce(cc.name, ''), cc.parent_id,
           {_MONTH_COLUMNS},
           sum(l.amount)
    FROM budgets_budgetline l
    JOIN ledger_period p ON p.tenant_id = l.tenant_id AND p.id = l.period_id
    JOIN ledger_account a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
    LEFT JOIN ledger_costcenter cc ON cc.tenant_id = l.tenant_id AND cc.id = l.cost_center_id
    WHERE l.tenant_id = %s AND l.version_id = %s
    GROUP BY l.account_id, a.code, a.name, a.type, l.cost_center_id, cc.code, cc.name, cc.parent_id
    ORDER BY cc.code NULLS FIRST, a.code
"""


def version_lines(*, tenant, version) -> list[GridRow]:
    """The version as grid rows (cost center, then account: lines without a cost center first),
    each with its 12 months and total, pivoted in SQL. Amounts in natural sign, in the budget
    entity's functional currency."""
    with tenant_context(tenant) as tenant_id, connection.cursor() as cursor:
        cursor.execute(PIVOT, [tenant_id, getattr(version, "pk", version)])
        return [GridRow(*row[:8], months=tuple(row[8:20]), total=row[20]) for row in cursor.fetchall()]


@dataclass(frozen=True)
class GridTotal:
    label: str
    rows: int
    months: list[Decimal]  # 12; empty months count as 0
    total: Decimal


def grid_totals(rows: list[GridRow]) -> list[GridTotal]:
    """Column totals per account type, revenue first, then expenses, and, when both are budgeted,
    the net result (revenue − expenses). Amounts are in natural sign, so a revenue line and an
    expense line are never simply added together."""
    totals: list[GridTotal] = []
    for kind, label in (("revenue", "Total revenue"), ("expense", "Total expenses")):
        of_kind = [r for r in rows if r.account_type == kind]
        if of_kind:
            months = [sum((r.months[i] or Decimal(0) for r in of_kind), Decimal(0)) for i in range(12)]
            totals.append(GridTotal(label, len(of_kind), months, sum(months, Decimal(0))))
    if len(totals) == 2:
        revenue, expenses = totals
        months = [a - b for a, b in zip(revenue.months, expenses.months, strict=True)]
        totals.append(GridTotal("Net result", len(rows), months, revenue.total - expenses.total))
    return totals
