"""Reads of budgets for pages, exports and reports.

The grid (`version_lines`) is pivoted in SQL — one row per account × cost center with its 12
months and total — so a 300-row page reads 300 rows, not 3,600 cells; the same holds for the
version diff (`version_diff`). The grid's cost-center tree and its
subtotals (`grid_tree`) are computed in Python from those rows and one read of the cost centers
(`cost_center_nodes`), so the page costs the same few queries at 30 or 3,000 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from budgets.models import FINAL_STATUSES, Budget, BudgetVersion
from finops.errors import DomainError, NotFound, found
from finops.ledger.models import Account, CostCenter, Period
from finops.tenancy.context import tenant_context


def budget_list(*, tenant, fiscal_year: int | None = None, entity=None) -> QuerySet[Budget]:
    """Budgets, newest fiscal year first, each annotated with its latest version's number,
    kind and status (`latest_number`, `latest_kind`, `latest_status`) and the version in force,
    the newest approved or locked (`in_force_id`, `in_force_number`, `in_force_status`; None
    before any approval). Evaluate the queryset
    inside `tenant_context(tenant)`."""
    latest = BudgetVersion.objects.unscoped().filter(  # unscoped: correlated to a budget already scoped
        budget_id=OuterRef("pk")).order_by("-number")
    in_force = latest.filter(status__in=FINAL_STATUSES)
    qs = (Budget.objects.select_related("entity")
          .annotate(latest_number=Subquery(latest.values("number")[:1]),
                    latest_kind=Subquery(latest.values("kind")[:1]),
                    latest_status=Subquery(latest.values("status")[:1]),
                    in_force_id=Subquery(in_force.values("pk")[:1]),
                    in_force_number=Subquery(in_force.values("number")[:1]),
                    in_force_status=Subquery(in_force.values("status")[:1])))
    if fiscal_year is not None:
        qs = qs.filter(fiscal_year=fiscal_year)
    if entity is not None:
        qs = qs.filter(entity_id=getattr(entity, "pk", entity))
    return qs.order_by("-fiscal_year", "name")


def access_budget(*, tenant, pk) -> Budget:
    """The budget, or NotFound (the same for "missing" and "another organisation's")."""
    with tenant_context(tenant):
        return found(Budget.objects.select_related("entity").filter(pk=pk).first(), "budget")


def budget_by_name(*, tenant, name: str) -> Budget | None:
    with tenant_context(tenant):
        return Budget.objects.select_related("entity").filter(name__iexact=(name or "").strip()).first()


def access_version(*, tenant, pk) -> BudgetVersion:
    """The version with its budget and entity, or NotFound."""
    with tenant_context(tenant):
        return found(BudgetVersion.objects.select_related(
            "budget__entity", "parent", "created_by", "submitted_by", "approved_by").filter(pk=pk).first(),
            "budget version")


def version_list(*, tenant, budget) -> list[BudgetVersion]:
    with tenant_context(tenant):
        return list(BudgetVersion.objects.filter(budget_id=getattr(budget, "pk", budget))
                    .select_related("parent", "created_by", "approved_by").order_by("number"))


def version_latest(*, tenant, budget) -> BudgetVersion | None:
    """The budget's newest version, whatever its status: the one being worked on."""
    with tenant_context(tenant):
        return (BudgetVersion.objects.filter(budget_id=getattr(budget, "pk", budget))
                .select_related("budget__entity").order_by("-number").first())


def version_in_force(*, tenant, budget) -> BudgetVersion | None:
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


_MONTH_COLUMNS = ",\n".join(f"sum(l.amount) FILTER (WHERE p.number = {n}) AS m{n}" for n in range(1, 13))


# Aggregate the cells first (by the two ids), then label the ~300 rows: grouping 3,600 cells by
# codes and names, or joining names onto every cell, costs 5× more, and far more while the
# table's statistics are fresh (a nested loop per cell).
PIVOT = f"""
    WITH cells AS (
        SELECT l.account_id, l.cost_center_id,
               {_MONTH_COLUMNS},
               sum(l.amount) AS total
        FROM budgets_budgetline l
        JOIN ledger_period p ON p.tenant_id = l.tenant_id AND p.id = l.period_id
        WHERE l.tenant_id = %(tenant)s AND l.version_id = %(version)s
        GROUP BY l.account_id, l.cost_center_id
    )
    SELECT c.account_id, a.code, a.name, a.type,
           c.cost_center_id, coalesce(cc.code, ''), coalesce(cc.name, ''), cc.parent_id,
           {", ".join(f"c.m{n}" for n in range(1, 13))},
           c.total
    FROM cells c
    JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = c.account_id
    LEFT JOIN ledger_costcenter cc ON cc.tenant_id = %(tenant)s AND cc.id = c.cost_center_id
    ORDER BY cc.code NULLS FIRST, a.code
"""


def version_lines(*, tenant, version) -> list[GridRow]:
    """The version as grid rows (cost center, then account: lines without a cost center first),
    each with its 12 months and total, pivoted in SQL. Amounts in natural sign, in the budget
    entity's functional currency."""
    with tenant_context(tenant) as tenant_id, connection.cursor() as cursor:
        cursor.execute(PIVOT, {"tenant": tenant_id, "version": getattr(version, "pk", version)})
        return [GridRow(*row[:8], months=tuple(row[8:20]), total=row[20]) for row in cursor.fetchall()]


def grid_row_empty(*, tenant, account_id: int, cc_id: int | None) -> GridRow | None:
    """A row the version has no line for yet (just added, or every month cleared)."""
    with tenant_context(tenant):
        account = Account.objects.filter(pk=account_id).values_list("code", "name", "type").first()
        cc = CostCenter.objects.filter(pk=cc_id).values_list("code", "name", "parent_id").first() if cc_id else None
    if account is None or (cc_id and cc is None):
        return None
    return GridRow(account_id, *account, cc_id, *(cc or ("", "", None)), months=(None,) * 12, total=Decimal(0))


def grid_row_labels(*, tenant, keys) -> dict[tuple[int, int | None], str]:
    """(account id, cost center id) → "4000 / CC-10", for naming pasted cells; unknown keys left out."""
    account_ids = {a for a, _ in keys}
    cc_ids = {c for _, c in keys if c}
    with tenant_context(tenant):
        accounts = dict(Account.objects.filter(pk__in=account_ids).values_list("id", "code"))
        ccs = dict(CostCenter.objects.filter(pk__in=cc_ids).values_list("id", "code"))
    return {(a, c): f"{accounts[a]}{' / ' + ccs[c] if c else ''}" for a, c in keys
            if a in accounts and (not c or c in ccs)}


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


@dataclass(frozen=True)
class CostCenterNode:
    id: int
    code: str
    name: str
    parent_id: int | None


def cost_center_nodes(*, tenant) -> dict[int, CostCenterNode]:
    """Every cost center of the tenant (id, code, name, parent), by id: one query, whatever the depth."""
    with tenant_context(tenant):
        return {pk: CostCenterNode(pk, code, name, parent_id) for pk, code, name, parent_id
                in CostCenter.objects.values_list("id", "code", "name", "parent_id")}


def cost_center_ancestors(nodes: dict[int, CostCenterNode], cc_id: int | None) -> tuple[int, ...]:
    """The ids above `cc_id`, root first (not `cc_id` itself). A parent missing from `nodes` ends
    the chain, and a cycle (which the ledger should never hold) is cut where it repeats."""
    chain: list[int] = []
    seen = {cc_id}
    parent = nodes[cc_id].parent_id if cc_id in nodes else None
    while parent is not None and parent in nodes and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = nodes[parent].parent_id
    return tuple(reversed(chain))


ZERO = Decimal(0)


@dataclass
class GridGroup:
    """One cost center of the grid: its own rows, and the subtotal of its whole subtree (itself
    and every cost center under it). `cc_id` None is the group of rows without a cost center.

    The subtotal never adds a revenue line to an expense line (amounts are in natural sign):
    a subtree with only expense lines shows their sum, one with only revenue lines theirs, and
    a mixed one shows its NET RESULT, revenue − expenses, like the grid's footer; `revenue` and
    `expenses` keep both sides so the page can say what the net is made of."""

    cc_id: int | None
    code: str
    name: str
    depth: int
    ancestors: tuple[int, ...]  # root first
    rows: list[GridRow]
    subtree_rows: int = 0
    revenue: list[Decimal] | None = None  # 12, None when the subtree has no revenue line
    expenses: list[Decimal] | None = None  # 12, None when the subtree has no expense line

    @property
    def key(self) -> int:
        return self.cc_id or 0

    @property
    def kind(self) -> str:
        """"revenue", "expense", "net" (both), or "" (no lines yet)."""
        if self.revenue is not None and self.expenses is not None:
            return "net"
        return "revenue" if self.revenue is not None else "expense" if self.expenses is not None else ""

    @property
    def months(self) -> list[Decimal]:
        if self.kind == "net":
            return [r - e for r, e in zip(self.revenue, self.expenses, strict=True)]
        return list(self.revenue or self.expenses or [ZERO] * 12)

    @property
    def total(self) -> Decimal:
        return sum(self.months, ZERO)

    @property
    def revenue_total(self) -> Decimal:
        return sum(self.revenue or (), ZERO)

    @property
    def expenses_total(self) -> Decimal:
        return sum(self.expenses or (), ZERO)


def _add(into: list[Decimal] | None, months) -> list[Decimal]:
    into = into if into is not None else [ZERO] * 12
    for i, amount in enumerate(months):
        if amount is not None:
            into[i] += amount
    return into


def grid_tree(rows: list[GridRow], nodes: dict[int, CostCenterNode], *,
              include: tuple[int | None, ...] = ()) -> list[GridGroup]:
    """The grid's groups in tree order: rows without a cost center first, then each root cost
    center by code, followed by its own rows (in the order given: account code) and its children's
    groups, depth first. A cost center appears when it or a cost center under it has a row, or
    when it is in `include` (e.g. the row just cleared, so its header can show the new subtotal).
    Subtotals are exact Decimal sums of the rows' months; see `GridGroup`."""
    groups: dict[int | None, GridGroup] = {}

    def group(cc_id: int | None, fallback: GridRow | None = None) -> GridGroup:
        if cc_id not in groups:
            node = nodes.get(cc_id) if cc_id is not None else None
            code, name = (node.code, node.name) if node else (
                (fallback.cost_center_code, fallback.cost_center_name) if fallback else ("", ""))
            ancestors = cost_center_ancestors(nodes, cc_id) if cc_id is not None else ()
            groups[cc_id] = GridGroup(cc_id, code, name, len(ancestors), ancestors, [])
            for parent in ancestors:
                group(parent)
        return groups[cc_id]

    for cc_id in include:
        if cc_id is None or cc_id in nodes:
            group(cc_id)
    for row in rows:
        own = group(row.cost_center_id, row)
        own.rows.append(row)
        for target in (own, *(groups[a] for a in own.ancestors)):
            target.subtree_rows += 1
            if row.account_type == "revenue":
                target.revenue = _add(target.revenue, row.months)
            elif row.account_type == "expense":
                target.expenses = _add(target.expenses, row.months)

    children: dict[int | None, list[GridGroup]] = {}
    for g in groups.values():
        if g.cc_id is not None:
            children.setdefault(g.ancestors[-1] if g.ancestors else None, []).append(g)
    ordered: list[GridGroup] = [groups[None]] if None in groups else []

    def walk(parent: int | None) -> None:
        for g in sorted(children.get(parent, ()), key=lambda g: g.code):
            ordered.append(g)
            walk(g.cc_id)

    walk(None)
    if len(ordered) < len(groups):  # a cycle in the parents (never expected): show those groups too
        shown = {g.cc_id for g in ordered}
        ordered += sorted((g for g in groups.values() if g.cc_id not in shown), key=lambda g: g.code)
    return ordered


def pk_of(value) -> int | None:
    """The id of a model instance or of an id; None for None."""
    return None if value is None else int(getattr(value, "pk", value))


def budget_periods(*, tenant, budget: Budget) -> list[Period]:
    """The 12 periods of the budget's fiscal year, in order."""
    with tenant_context(tenant):
        return list(Period.objects.filter(fiscal_year=budget.fiscal_year).order_by("number"))


@dataclass(frozen=True)
class DiffRow:
    account_id: int
    account_code: str
    account_name: str
    cost_center_id: int | None
    cost_center_code: str  # "" when the line has no cost center
    period_id: int
    period: date  # the month's first day
    old: Decimal  # 0 where the old version has no line
    new: Decimal
    change: Decimal  # new − old


DIFF = """
    WITH o AS (SELECT account_id, cost_center_id, period_id, amount FROM budgets_budgetline
               WHERE tenant_id = %(tenant)s AND version_id = %(old)s),
         n AS (SELECT account_id, cost_center_id, period_id, amount FROM budgets_budgetline
               WHERE tenant_id = %(tenant)s AND version_id = %(new)s),
         d AS (
            SELECT coalesce(o.account_id, n.account_id) AS account_id,
                   coalesce(o.cost_center_id, n.cost_center_id) AS cost_center_id,
                   coalesce(o.period_id, n.period_id) AS period_id,
                   coalesce(o.amount, 0) AS old, coalesce(n.amount, 0) AS new
            FROM o FULL JOIN n
              ON n.account_id = o.account_id AND n.period_id = o.period_id
             AND coalesce(n.cost_center_id, 0) = coalesce(o.cost_center_id, 0)
            WHERE coalesce(o.amount, 0) <> coalesce(n.amount, 0))
    SELECT d.account_id, a.code, a.name, d.cost_center_id, coalesce(cc.code, ''), d.period_id, p.start,
           d.old, d.new, d.new - d.old
    FROM d
    JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = d.account_id
    JOIN ledger_period p ON p.tenant_id = %(tenant)s AND p.id = d.period_id
    LEFT JOIN ledger_costcenter cc ON cc.tenant_id = %(tenant)s AND cc.id = d.cost_center_id
    ORDER BY a.code, cc.code NULLS FIRST, p.start
"""


def version_diff(*, tenant, old, new) -> list[DiffRow]:
    """Every cell whose amount differs between two versions of one budget (a missing cell
    counts as 0), ordered by account, cost center, month."""
    with tenant_context(tenant):
        versions = {v.pk: v for v in BudgetVersion.objects.filter(pk__in=[pk_of(old), pk_of(new)])}
        if pk_of(old) not in versions or pk_of(new) not in versions:
            raise NotFound("This budget version does not exist.")
        if versions[pk_of(old)].budget_id != versions[pk_of(new)].budget_id:
            raise DomainError("Only versions of the same budget can be compared.")
        with connection.cursor() as cursor:
            cursor.execute(DIFF, {"tenant": tenant.pk, "old": pk_of(old), "new": pk_of(new)})
            return [DiffRow(*row) for row in cursor.fetchall()]
