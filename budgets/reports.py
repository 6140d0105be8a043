"""Budget vs actual: what a version planned next to what the ledger booked, in one SQL statement.

Actuals come from the ledger's rollup (`ledger_periodbalance`, debit-positive, the budget
entity's functional currency), turned into natural sign from the account's nature; the budget
from the version's lines (already in natural sign). The two are aggregated to the same key
(account × cost center × period) and FULL OUTER JOINed, so an account with actuals but no
budget line shows a budget of 0 (unbudgeted spend, what a controller looks for first) and a
budget line nothing was booked against shows an actual of 0. Only revenue and expense accounts
are budgeted, so only they are reported.

The statement reads the whole fiscal year once and splits it with FILTER clauses: the figures of
the chosen window (month, quarter-to-date, year-to-date or full year, see
`variance.period_window`), the budget already elapsed and of the running month for pacing, and
the actual of the complete months and the budget still to come for the full-year projections.

Paced to the date. While the window is still running on `as_of` (the month in progress, or a
quarter or year to date that ends with it), the actual so far is compared with the budget paced
to that date (`pacing`: the window's complete months, plus the running month's budget × days
elapsed ÷ days), not with the budget of the whole window: on 2 December a line on plan reads on
plan, not 94 % under. Such a report is `paced`, its rows' variances are against the paced
budget, and their consumed % stays against the whole budget. A full-year window is never paced
(it is the year's budget, consumed so far), nor is one that has not begun. Per-type
totals come from the same statement (GROUPING SETS), so nothing but the rows shown ever reaches
Python (DESIGN §9). The arithmetic (variance, %, favourable, pacing, projections) is
`budgets.variance`, shared with the command and the alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.db import connection

from finops.errors import DomainError
from finops.ledger.actuals import ROLLUP_CELLS_SQL, natural_sql
from finops.ledger.models import AccountType
from finops.ledger.money import round_money
from finops.ledger.periods import fiscal_year_first_month
from finops.tenancy.context import tenant_context

from . import variance as v
from .effective import EFFECTIVE_LINES_SQL

GROUP_BY_CHOICES = ("entity", "account", "cost_center", "period")
REPORTED_TYPES = (AccountType.REVENUE.value, AccountType.EXPENSE.value)
ZERO = Decimal(0)

# The version's budget per account × cost center × period, in natural sign, at each line's
# EFFECTIVE amount (as budgeted plus approved transfers in minus out). A version has one line per
# cell (`budgetline_cell_unique`), so its lines are cells already and need no GROUP BY: with
# 216,000 lines, that aggregate and the one over the rollup took a third of the statement's time.
def _budget_cte(filters: str) -> str:
    return f"""
    bud AS (
        SELECT l.account_id, coalesce(l.cost_center_id, 0) AS cc_key, l.period_id, l.amount
        FROM ({EFFECTIVE_LINES_SQL}) l
        WHERE true{filters.format(t="l")}
    )"""


# Actuals of the budget's entity in its fiscal year, from the rollup, which holds one row per
# entity × account × cost center × period (`periodbalance_key`): one entity's rows are cells
# already. The cost center key is coalesced to 0 on both sides: a FULL JOIN needs a plain
# equality (no IS NOT DISTINCT FROM).
def _actual_cte(filters: str) -> str:
    return f"""
    fy AS (
        SELECT p.id FROM ledger_period p WHERE p.tenant_id = %(tenant)s AND p.fiscal_year = %(fiscal_year)s
    ),
    act AS ({ROLLUP_CELLS_SQL.format(filters=" AND pb.entity_id = %(entity)s AND pb.period_id IN (SELECT id FROM fy)"
                                               + filters.format(t="pb"))}
    )"""


_SUBTREE_CTE = """
    subtree AS (
        SELECT c.id FROM ledger_costcenter c WHERE c.tenant_id = %(tenant)s AND c.id = %(cost_center)s
        UNION
        SELECT c.id FROM ledger_costcenter c JOIN subtree s ON c.parent_id = s.id WHERE c.tenant_id = %(tenant)s
    )"""
# Filters applied to both sides before the FULL JOIN (`{t}`: the table's alias), where they cut the
# rows joined and aggregated; after it they could not be pushed down through the join's coalesce.
# The subtree is read once into an array: parallel workers scanning the rollup can then filter it
# themselves (an IN over the recursive CTE cannot run in a worker, so every row went to the leader).
_IN_SUBTREE = " AND coalesce({t}.cost_center_id, 0) = ANY(ARRAY(SELECT id FROM subtree))"
_OF_ACCOUNT = " AND {t}.account_id = %(account)s"

# Natural-sign actual of one joined row; the budget is natural already.
_NATURAL = natural_sql("a.type", "coalesce(act.amount, 0)")
_BUDGET = "coalesce(bud.amount, 0)"
_IN_WINDOW = "p.start = ANY(%(window)s::date[])"
# The months of the year up to the selected one that are over by `as_of`: what a run rate reads.
_DONE = 'p.start <= %(month)s AND p."end" < %(as_of)s'

# Grouping column → the keys it adds to the aggregate (expression, alias) — ids only, so the
# aggregate sorts or hashes narrow keys — and the labels joined to the aggregated rows afterwards
# (join, [(expression, alias)]). Entity is the budget's one entity.
_GROUP_KEYS = {
    "account": [("a.id", "account_id")],
    "cost_center": [("nullif(coalesce(act.cc_key, bud.cc_key), 0)", "cost_center_id")],
    "period": [("p.id", "period_id"), ("p.start", "period_start")],
}
_GROUP_LABELS = {
    "account": ("LEFT JOIN ledger_account ra ON ra.tenant_id = %(tenant)s AND ra.id = r.account_id",
                [("ra.code", "account_code"), ("ra.name", "account_name")]),
    "cost_center": ("LEFT JOIN ledger_costcenter rc ON rc.tenant_id = %(tenant)s AND rc.id = r.cost_center_id",
                    [("rc.code", "cost_center_code"), ("rc.name", "cost_center_name")]),
}
_ORDERED_BY = {"account": "ra.code", "cost_center": "rc.code", "period": "r.period_start"}

_MEASURES = f"""
        coalesce(sum({_NATURAL}) FILTER (WHERE {_IN_WINDOW}), 0) AS actual,
        coalesce(sum({_BUDGET}) FILTER (WHERE {_IN_WINDOW}), 0) AS budget,
        count(bud.amount) FILTER (WHERE {_IN_WINDOW}) AS budget_lines,
        coalesce(sum({_BUDGET}) FILTER (WHERE {_IN_WINDOW} AND p."end" < %(as_of)s), 0) AS budget_elapsed,
        coalesce(sum({_BUDGET}) FILTER (WHERE {_IN_WINDOW} AND %(as_of)s BETWEEN p.start AND p."end"), 0)
            AS budget_running,
        coalesce(sum({_NATURAL}) FILTER (WHERE {_DONE}), 0) AS actual_done,
        coalesce(sum({_BUDGET}) FILTER (WHERE NOT ({_DONE})), 0) AS budget_rest"""


def _label_keys(group_by: tuple[str, ...]) -> list[str]:
    """The row's attributes the grouping fills: ids, then the labels joined to them."""
    keys = [alias for g in group_by for _, alias in _GROUP_KEYS.get(g, [])]
    return keys + [alias for g in group_by for _, alias in _GROUP_LABELS.get(g, ("", []))[1]]


def _statement(*, group_by: tuple[str, ...], subtree: bool, account_type: bool, account: bool) -> str:
    keys = [c for g in GROUP_BY_CHOICES if g in group_by for c in _GROUP_KEYS.get(g, [])]
    expressions = [expr for expr, _ in keys]
    # Per-type rows, plus per-type totals when there is more to group by than the type.
    detail = ", ".join(["a.type", *expressions])
    grouping = f"GROUPING SETS (({detail}), (a.type))" if keys else "a.type"
    is_total = "GROUPING(" + ", ".join(expressions) + ") <> 0" if keys else "false"
    where = ["a.type = ANY(%(reported_types)s)", "p.fiscal_year = %(fiscal_year)s"]
    if "period" in group_by:
        where.append(_IN_WINDOW)  # one row per month of the window, not of the whole year
    if account_type:
        where.append("a.type = %(account_type)s")
    filters = (_IN_SUBTREE if subtree else "") + (_OF_ACCOUNT if account else "")
    ctes = [_actual_cte(filters), _budget_cte(filters), *([_SUBTREE_CTE] if subtree else [])]
    select = ", ".join(["a.type", *(f"{expr} AS {alias}" for expr, alias in keys), f"{is_total} AS is_total"])
    joins = [_GROUP_LABELS[g][0] for g in GROUP_BY_CHOICES if g in group_by and g in _GROUP_LABELS]
    labels = [f"{expr} AS {alias}" for g in GROUP_BY_CHOICES if g in group_by and g in _GROUP_LABELS
              for expr, alias in _GROUP_LABELS[g][1]]
    order = ["r.type DESC", "r.is_total",
             *(f"{_ORDERED_BY[g]} NULLS FIRST" for g in GROUP_BY_CHOICES if g in group_by and g in _ORDERED_BY)]
    return f"""
    WITH RECURSIVE {','.join(ctes)}
    SELECT {', '.join(['r.*', *labels])}
    FROM (
        SELECT {select},{_MEASURES}
        FROM act FULL OUTER JOIN bud
             ON bud.account_id = act.account_id AND bud.cc_key = act.cc_key AND bud.period_id = act.period_id
        JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = coalesce(act.account_id, bud.account_id)
        JOIN ledger_period p ON p.tenant_id = %(tenant)s AND p.id = coalesce(act.period_id, bud.period_id)
        WHERE {' AND '.join(where)}
        GROUP BY {grouping}
        HAVING coalesce(sum({_NATURAL}) FILTER (WHERE {_IN_WINDOW}), 0) <> 0
            OR count(bud.amount) FILTER (WHERE {_IN_WINDOW}) > 0
    ) r
    {' '.join(joins)}
    ORDER BY {', '.join(order)}
    """


class Compared:
    """What a report row says of its figures (`result`, `pacing`, `budget`, `paced`): the variance,
    its %, favourable or not, the budget it is compared with and the share consumed."""

    @property
    def variance(self) -> Decimal:
        return self.result.variance

    @property
    def variance_pct(self) -> Decimal | None:
        return self.result.variance_pct

    @property
    def favourable(self) -> bool:
        return self.result.favourable

    @property
    def compared_with(self) -> Decimal:
        """The budget the variance is taken against: paced to the date, or the whole window's."""
        return self.pacing if self.paced else self.budget

    @property
    def consumed_pct(self) -> Decimal | None:
        return self.result.consumed_pct


@dataclass(frozen=True)
class VarianceRow(Compared):
    """One line of the report (or a total), amounts in natural sign in `currency`, rounded to
    its minor unit. Attributes not grouped by are None."""

    account_type: str
    currency: str
    actual: Decimal
    budget: Decimal
    result: v.Variance  # variance, variance_pct, favourable
    has_budget: bool  # False: actuals without any budget line (unbudgeted)
    pacing: Decimal  # the budget that should be used by `as_of` at an even pace
    projection: Decimal | None  # run rate of the complete months × 12 (None when grouped by period or none is complete)
    latest_estimate: Decimal | None  # actual of the complete months + the budget of the months to come
    paced: bool = False  # `result` is against `pacing` (the window is running on as_of), not `budget`
    entity_id: int | None = None
    entity_code: str | None = None
    account_id: int | None = None
    account_code: str | None = None
    account_name: str | None = None
    cost_center_id: int | None = None  # None also for "no cost center": see `cost_center_code`
    cost_center_code: str | None = None  # "" for lines without a cost center, None when not grouped
    cost_center_name: str | None = None
    period_id: int | None = None
    period_start: date | None = None
    is_total: bool = False
    label: str = ""  # for totals: "Revenue", "Expense", "Net result"
    is_group: bool = False  # an account group's subtotal (the account is the group) when rolled up
    depth: int = 0  # levels of account groups above the row when rolled up
    measures: dict = field(default_factory=dict, compare=False, repr=False)  # unrounded: see MEASURES

BASIS_WORDS = {v.Basis.MONTH: "month to date", v.Basis.QTD: "quarter to date", v.Basis.YTD: "year to date",
               v.Basis.FULL_YEAR: "full year"}


class Windowed:
    """A report over `window` (its months): the first and the last."""

    @property
    def start(self) -> date:
        return self.window[0]

    @property
    def end(self) -> date:
        return self.window[-1]


@dataclass(frozen=True)
class BudgetVsActual(Windowed):
    version: object
    currency: str
    month: date
    basis: str
    window: list[date]
    group_by: tuple[str, ...]
    as_of: date
    rows: list[VarianceRow]
    totals: list[VarianceRow] = field(default_factory=list)  # one per account type, then the net
    paced: bool = False  # the window runs on as_of: variances against the budget paced to it
    view: RowView | None = None  # how the lines are listed (rolled up, sorted, narrowed)

    @property
    def days(self) -> tuple[int, int]:
        """(days of the running month elapsed by as_of, days in it), for "2 of 31 days"."""
        first, last = v.month_bounds(self.as_of)
        return v.elapsed_days(period_start=first, period_end=last, as_of=self.as_of)

    @property
    def through(self) -> date:
        """The last day the actuals cover: as_of while paced, else the window's last day."""
        return self.as_of if self.paced else v.month_bounds(self.end)[1]

    @property
    def view_words(self) -> list[str]:
        """How the lines are listed, in words, when not plainly: for a title row or a caption."""
        view, words = self.view or RowView(), []
        if view.rollup and "account" in self.group_by:
            words.append("rolled up by account group")
        if view.show != "all":
            words.append(f"{view.show} lines only")
        if view.search.strip():
            words.append(f"lines matching \u201c{view.search.strip()}\u201d")
        if view.narrows:
            words.append("totals of the lines listed")
        if view.sort:
            words.append(f"sorted by {SORT_WORDS[view.sort.lstrip('-')]}"
                         + (", largest first" if view.sort.startswith("-") else ""))
        return words

    @property
    def basis_words(self) -> str:
        """What the figures are, in words: "year to date through 30 November 2026", "month to date
        through 2 December 2026 (2 of 31 days), against the budget paced to the date"."""
        basis = v.Basis(self.basis)
        if basis == v.Basis.FULL_YEAR:
            return f"full year {self.start:%b %Y} – {self.end:%b %Y}"
        if basis == v.Basis.MONTH and not self.paced:
            return f"{self.month:%B %Y}"
        words = f"{BASIS_WORDS[basis]} through {self.through.day} {self.through:%B %Y}"
        if self.paced:
            elapsed, days = self.days
            words += f" ({elapsed} of {days} days), against the budget paced to the date"
        return words


def report_default_month(*, tenant, fiscal_year: int, today: date | None = None) -> date:
    """The month a report of FY `fiscal_year` opens on: this month while the year runs, its last
    month after, its first before (the page, the consolidated page and the API alike)."""
    from finops.ledger.periods import add_months

    first = fiscal_year_first_month(tenant=tenant, fiscal_year=fiscal_year)
    return min(max((today or date.today()).replace(day=1), first), add_months(first, 11))


def _group_by(value: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(value or ()))
    unknown = [g for g in chosen if g not in GROUP_BY_CHOICES]
    if unknown:
        raise DomainError(f"Cannot group by {', '.join(unknown)}; choose among {', '.join(GROUP_BY_CHOICES)}.")
    return tuple(g for g in GROUP_BY_CHOICES if g in chosen)


def budget_vs_actual(*, tenant, version, period: date, basis: str = v.Basis.MONTH,
                     group_by: Iterable[str] = ("account", "cost_center"), cost_center=None,
                     account_type: str | None = None, account=None, as_of: date | None = None,
                     view: RowView | None = None) -> BudgetVsActual:
    """The version against the ledger for `period` (any day of the month) on `basis`, one row per
    combination of `group_by`, filtered to a cost-center subtree (`cost_center` and everything
    under it), an account type and/or an account. `as_of` (default today) drives pacing. `view`
    rolls the lines up by account group, sorts them and narrows them (`RowView`)."""
    group_by = _group_by(group_by)
    if account_type and account_type not in REPORTED_TYPES:
        raise DomainError(f"Budget vs actual covers revenue and expense accounts, not {account_type!r}.")
    budget = version.budget
    currency = budget.entity.functional_currency
    fy_start = fiscal_year_first_month(tenant=tenant, fiscal_year=budget.fiscal_year)
    month = period.replace(day=1)
    window = v.period_window(fiscal_year_start=fy_start, month=month, basis=basis)
    as_of = as_of or date.today()
    months_elapsed = (month.year - fy_start.year) * 12 + month.month - fy_start.month + 1
    # Complete months of the year by as_of, up to the selected month: what a run rate may read.
    months_done = min(max((as_of.year - fy_start.year) * 12 + as_of.month - fy_start.month, 0), months_elapsed)
    paced = basis != v.Basis.FULL_YEAR and window[0] <= as_of < v.month_bounds(window[-1])[1]
    params = {
        "tenant": tenant.pk, "version": version.pk, "entity": budget.entity_id, "fiscal_year": budget.fiscal_year,
        "window": window, "month": month, "as_of": as_of,
        "reported_types": list(REPORTED_TYPES), "account_type": account_type or None,
        "cost_center": getattr(cost_center, "pk", cost_center), "account": getattr(account, "pk", account),
    }
    sql = _statement(group_by=group_by, subtree=cost_center is not None, account_type=bool(account_type),
                     account=account is not None)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        raw = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    figures = _Figures(currency=currency, as_of=as_of, paced=paced, months_done=months_done,
                       projections="period" not in group_by)
    rows, by_type = [], {}
    label_keys = _label_keys(group_by)
    for r in raw:
        if r["is_total"]:
            by_type[r["type"]] = figures.row(r, is_total=True, label=AccountType(r["type"]).label)
            continue
        labels = {key: r[key] for key in label_keys}
        if "entity" in group_by:
            labels.update(entity_id=budget.entity_id, entity_code=budget.entity.code)
        if "cost_center" in group_by:
            labels.update(cost_center_code=labels["cost_center_code"] or "",
                          cost_center_name=labels["cost_center_name"] or "")
        rows.append(figures.row(r, **labels))
        if not any(g != "entity" for g in group_by):  # rows per type are the totals themselves
            by_type[r["type"]] = figures.row(r, is_total=True, label=AccountType(r["type"]).label)
    totals = [by_type[t] for t in REPORTED_TYPES if t in by_type]
    shown = view or RowView()
    rows = [r for r in rows if shown.keeps(r)]
    if shown.narrows:  # the totals are those of the lines listed
        totals = figures.totals_of(rows)
    if shown.rollup and "account" in group_by:
        rows = _rolled_up(rows, figures=figures, tenant=tenant, sort=shown.sort)
    else:
        rows = _sorted(rows, shown.sort)
    if totals:
        totals.append(_net(totals, currency=currency, paced=paced))
    return BudgetVsActual(version=version, currency=currency, month=month, basis=str(v.Basis(basis)),
                          window=window, group_by=group_by, as_of=as_of, rows=rows, totals=totals, paced=paced,
                          view=shown)


# The additive measures of a row, unrounded: what a subtotal sums before it rounds once.
MEASURES = ("actual", "budget", "budget_lines", "budget_elapsed", "budget_running", "actual_done", "budget_rest")


@dataclass(frozen=True)
class _Figures:
    """Turns a row's unrounded measures into its reported figures, rounded once: the same for a
    line of the statement, an account group's subtotal and the totals of the lines listed."""

    currency: str
    as_of: date
    paced: bool
    months_done: int
    projections: bool

    def __post_init__(self):
        object.__setattr__(self, "_running", v.month_bounds(self.as_of))

    def row(self, measures: dict, **labels) -> VarianceRow:
        currency, as_of = self.currency, self.as_of
        running_start, running_end = self._running
        actual, planned = round_money(measures["actual"], currency), round_money(measures["budget"], currency)
        pacing = round_money(measures["budget_elapsed"], currency) + v.paced_budget(
            budget_for_period=measures["budget_running"], period_start=running_start, period_end=running_end,
            as_of=as_of, currency=currency)
        projection = estimate = None
        if self.projections:
            projection = v.run_rate_projection(actual_ytd=measures["actual_done"], months_elapsed=self.months_done,
                                               currency=currency)
            estimate = v.run_rate_projection(actual_ytd=measures["actual_done"], months_elapsed=self.months_done,
                                             remaining_budget=measures["budget_rest"], method="budget",
                                             currency=currency)
        account_type = labels.pop("account_type", None) or measures["type"]
        return VarianceRow(
            account_type=account_type, currency=currency, actual=actual, budget=planned,
            result=v.variance(account_type=account_type, actual=actual, budget=pacing if self.paced else planned,
                              consumed_of=planned, currency=currency),
            has_budget=measures["budget_lines"] > 0, pacing=pacing, projection=projection, latest_estimate=estimate,
            paced=self.paced, measures=measures, **labels)  # the row's own dict: MEASURES are read from it

    def sum(self, rows: Iterable[VarianceRow], **labels) -> VarianceRow:
        rows = list(rows)
        measures = {k: sum((r.measures[k] for r in rows), ZERO) for k in MEASURES}
        return self.row({**measures, "type": rows[0].account_type}, **labels)

    def totals_of(self, rows: list[VarianceRow]) -> list[VarianceRow]:
        return [self.sum([r for r in rows if r.account_type == t], is_total=True, label=AccountType(t).label)
                for t in REPORTED_TYPES if any(r.account_type == t for r in rows)]


SORTS = {
    "account": lambda r: (r.account_code or "", r.cost_center_code or "", r.period_start or date.min),
    "cost_center": lambda r: (r.cost_center_code or "", r.account_code or "", r.period_start or date.min),
    "actual": lambda r: r.actual,
    "budget": lambda r: r.compared_with,
    "variance": lambda r: r.variance,
    "variance_pct": lambda r: (r.variance_pct is not None, r.variance_pct or ZERO),
    "consumed_pct": lambda r: (r.consumed_pct is not None, r.consumed_pct or ZERO),
}
SORT_WORDS = {"account": "account", "cost_center": "cost center", "actual": "actual", "budget": "budget",
              "variance": "variance", "variance_pct": "variance %", "consumed_pct": "consumed %"}
SHOW_CHOICES = ("all", "unfavourable", "favourable", "unbudgeted")


@dataclass(frozen=True)
class RowView:
    """How the lines are listed: rolled up by account group, sorted by a column ("-" first for
    descending), only some of them (`show`, `search` in codes and names). Narrowing the lines
    makes the totals those of the lines listed."""

    rollup: bool = False
    sort: str = ""
    show: str = "all"
    search: str = ""

    def __post_init__(self):
        if self.sort and self.sort.lstrip("-") not in SORTS:
            raise DomainError(f"Cannot sort by {self.sort.lstrip('-')!r}; choose among {', '.join(SORTS)}.")
        if self.show not in SHOW_CHOICES:
            raise DomainError(f"Cannot show {self.show!r} lines; choose among {', '.join(SHOW_CHOICES)}.")

    @property
    def narrows(self) -> bool:
        return self.show != "all" or bool(self.search.strip())

    def keeps(self, row: VarianceRow) -> bool:
        if self.show == "unfavourable" and row.favourable or self.show == "favourable" and not row.favourable:
            return False
        if self.show == "unbudgeted" and row.has_budget:
            return False
        needle = self.search.strip().casefold()
        labels = (row.account_code, row.account_name, row.cost_center_code, row.cost_center_name, row.entity_code)
        return not needle or any(needle in (label or "").casefold() for label in labels)


def _sorted(rows: list[VarianceRow], sort: str) -> list[VarianceRow]:
    """Revenue before expense, then by the column asked for (the statement's order without one)."""
    if not sort:
        return rows
    key, descending = SORTS[sort.lstrip("-")], sort.startswith("-")
    by_type = {t: sorted((r for r in rows if r.account_type == t), key=key, reverse=descending)
               for t in REPORTED_TYPES}
    return [r for t in REPORTED_TYPES for r in by_type[t]]


def _rolled_up(rows: list[VarianceRow], *, figures: _Figures, tenant, sort: str) -> list[VarianceRow]:
    """The lines under the chart's account groups: each group (an account with children) is a
    row of its own, the subtotal of every line below it at any depth, followed by its members,
    siblings sorted by `sort` (by code without one). Groups are per account type."""
    from finops.ledger.models import Account

    with tenant_context(tenant):
        chart = {a["id"]: a for a in Account.objects.values("id", "code", "name", "parent_id")}

    def ancestors(account_id):
        seen, parent = [], chart.get(account_id, {}).get("parent_id")
        while parent is not None and parent in chart and parent not in seen:
            seen.append(parent)
            parent = chart[parent]["parent_id"]
        return seen[::-1]  # the top group first

    children: dict[tuple, list] = {}  # (type, group id or None) → its members: group keys and lines
    members: dict[tuple, list[VarianceRow]] = {}  # (type, group id) → every line below it
    for row in rows:
        chain = ancestors(row.account_id)
        for depth, group in enumerate(chain):
            key, parent_key = (row.account_type, group), (row.account_type, chain[depth - 1] if depth else None)
            if key not in members:
                members[key] = []
                children.setdefault(parent_key, []).append(("group", key, depth))
            members[key].append(row)
        children.setdefault((row.account_type, chain[-1] if chain else None), []).append(("line", row, len(chain)))

    subtotal = {key: figures.sum(lines, account_id=key[1], account_code=chart[key[1]]["code"],
                                 account_name=chart[key[1]]["name"], account_type=key[0], is_group=True)
                for key, lines in members.items()}
    key_of, descending = SORTS[(sort or "account").lstrip("-")], sort.startswith("-")
    out: list[VarianceRow] = []

    def walk(parent_key):
        entries = children.get(parent_key, [])
        if sort:
            entries = sorted(entries, key=lambda e: key_of(subtotal[e[1]] if e[0] == "group" else e[1]),
                             reverse=descending)
        for kind, item, depth in entries:
            if kind == "group":
                out.append(replace(subtotal[item], depth=depth))
                walk(item)
            else:
                out.append(replace(item, depth=depth))

    for account_type in REPORTED_TYPES:
        walk((account_type, None))
    return out


def _net(totals: list[VarianceRow], *, currency: str, paced: bool) -> VarianceRow:
    """Revenue − expense: the result, favourable when at or above its budget (credit-natured)."""
    sign = {AccountType.REVENUE.value: 1, AccountType.EXPENSE.value: -1}

    def net(attr):
        values = [getattr(t, attr) for t in totals]
        if any(x is None for x in values):
            return None
        return sum((sign[t.account_type] * getattr(t, attr) for t in totals), ZERO)

    actual, planned, pacing = net("actual"), net("budget"), net("pacing")
    return VarianceRow(
        account_type=AccountType.REVENUE.value, currency=currency, actual=actual, budget=planned,
        result=v.variance(account_type=AccountType.REVENUE, actual=actual, budget=pacing if paced else planned,
                          consumed_of=planned, currency=currency),
        has_budget=any(t.has_budget for t in totals), pacing=pacing, projection=net("projection"),
        latest_estimate=net("latest_estimate"), paced=paced, is_total=True, label="Net result")
