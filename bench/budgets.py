"""Budget vs actual and the budget grid at scale, against hand-written SQL reading the same data.

The tenant: 300 revenue and expense accounts (a 336-account chart from `bench.tenant_create`) ×
60 cost centers, N journal lines (default 5,000,000) over the 12 months of the last complete
fiscal year, and two budgets of that year:

- "Bench budget": 60 × 300 × 12 = 216,000 lines, submitted and approved through the services,
  with a few approved transfers (and one pending, one rejected) so budget vs actual reads the
  EFFECTIVE amounts;
- "Bench grid": one cost center's 300 accounts × 12 months, left a draft, for the grid page.

The journal lines are written by SQL (`INSERT … SELECT` from `generate_series`, five lines an
entry: four revenue or expense lines and a balancing balance-sheet line), in chunks of whole
entries. Those INSERTs go through the ledger's statement triggers like every posting path
(entities, periods, accounts and cost centers checked, every entry balanced, the period-balance
rollup upserted), so the rollup the reports read is the ledger's own; the build checks it
equals a GROUP BY of the lines. Python never sees a line: 5,000,000 through `gl_import` would
take minutes more for nothing this benchmark measures. 2 % of the lines have no cost center
(unbudgeted actuals) and three expense accounts get no lines (budgets nothing was booked
against), so both sides of budget vs actual's full join are exercised.

A tenant is built once and found again by its name on later runs (same line count and build
number), so the figures can be re-timed without rebuilding; `--bva-tenant bench-<n>` names one.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from . import BENCH_EMAIL, LEDGER_TABLES, Figure, _get, log, median_seconds, tenant_create, vacuum_analyze

BUILD = 1  # bump when the shape of the generated data changes: older tenants are then not reused
BUDGET_NAME = "Bench budget"
GRID_BUDGET_NAME = "Bench grid"
CHART_ACCOUNTS = 336  # wide_org_create's mix: 36 balance-sheet, 30 revenue and 270 expense accounts
COST_CENTERS = 60
PL_LINES_PER_ENTRY = 4  # + 1 balancing line
CHUNK_ENTRIES = 100_000  # 500,000 lines a statement
UNPOSTED_ACCOUNTS = 3  # the last expense accounts: budget only
NO_COST_CENTER_ONE_IN = 50
MIN_LINES = 20  # four entries of five lines, so any remainder finds entries to take one more line


def tenant_name(lines: int) -> str:
    return f"Bench budgets · {lines:,} lines · build {BUILD}"


# --- checks ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    same: bool
    rows: int  # rows on the service's side
    detail: str = ""  # the first difference when not the same

    def line(self, label: str) -> str:
        if self.same:
            return f"{label}: {self.rows:,} rows, identical (Decimal-exact) to the hand-written query"
        return f"{label}: NOT the same — {self.detail}"


def _sortable(value) -> tuple:
    return (0, "") if value is None else (1, value)


def same_rows(service: list[tuple], limit: list[tuple], *, key_length: int = 4) -> Check:
    """Whether two result sets hold the same rows, in any order: same count, equal values (Decimal
    compared by value, so 1.10 equals 1.1000), no float anywhere. Rows are matched on their first
    `key_length` fields."""
    for side, rows in (("service", service), ("limit", limit)):
        for row in rows:
            if any(isinstance(value, float) for value in row):
                return Check(False, len(service), f"a float in the {side}'s row {row}")
    if len(service) != len(limit):
        return Check(False, len(service), f"{len(service):,} rows from the service, {len(limit):,} from the limit")

    def order(row):
        return tuple(_sortable(v) for v in row[:key_length])

    for a, b in zip(sorted(service, key=order), sorted(limit, key=order), strict=True):
        if tuple(a) != tuple(b):
            return Check(False, len(service), f"first difference: service {tuple(a)} ≠ limit {tuple(b)}")
    return Check(True, len(service))


# --- the tenant ----------------------------------------------------------------------------------------

@dataclass
class BvaTenant:
    org: object
    version: object  # the approved 216,000-line version
    grid_version: object  # the 300-row draft
    fiscal_year: int
    months: list[date]  # the fiscal year's 12 month starts
    lines: int
    cost_center: object  # the grid's cost center; also the one the filtered report page shows


def tenant_find(*, lines: int | None = None, slug: str | None = None) -> BvaTenant | None:
    """A complete bench tenant: the one named `slug`, else the newest built for `lines` lines."""
    from finops.tenancy.models import Organization

    orgs = Organization.objects.filter(slug=slug) if slug else \
        Organization.objects.filter(name=tenant_name(lines)).order_by("-pk")
    for org in orgs:
        found = _load(org)
        if found is not None:
            return found
    return None


def _load(org) -> BvaTenant | None:
    from budgets.models import Budget, BudgetVersion
    from finops.ledger.models import CostCenter, Period
    from finops.tenancy.context import tenant_context

    match = re.search(r"· ([\d,]+) lines ·", org.name)
    with tenant_context(org):
        budgets = {b.name: b for b in Budget.objects.filter(name__in=[BUDGET_NAME, GRID_BUDGET_NAME])}
        if len(budgets) < 2:  # the grid budget is made last: without it the build did not finish
            return None
        versions = {v.budget_id: v for v in BudgetVersion.objects.select_related("budget__entity")
                    .filter(budget__in=budgets.values(), number=1)}
        fiscal_year = budgets[BUDGET_NAME].fiscal_year
        months = list(Period.objects.filter(fiscal_year=fiscal_year).order_by("number").values_list("start", flat=True))
        grid = versions[budgets[GRID_BUDGET_NAME].pk]
        center = CostCenter.objects.get(pk=grid.lines.values_list("cost_center_id", flat=True).first())
    return BvaTenant(org, versions[budgets[BUDGET_NAME].pk], grid, fiscal_year, months,
                     int(match.group(1).replace(",", "")) if match else 0, center)


ENTRIES_SQL = """
CREATE TEMP TABLE bench_entries ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) AS id, g.n,
       (%(periods)s::bigint[])[1 + m.i] AS period_id,
       (%(starts)s::date[])[1 + m.i] + ((hashint8(g.n * 64 + 2)::bigint + 2147483648) %% (%(days)s::int[])[1 + m.i])::int
           AS date,
       (hashint8(g.n * 64 + 3)::bigint + 2147483648) %% 10 = 0 AS revenue,
       %(pl_lines)s + (g.n < %(extra)s)::int AS pl_lines
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(n)
CROSS JOIN LATERAL (SELECT ((hashint8(g.n * 64 + 1)::bigint + 2147483648) %% 12)::int AS i) m
"""

POST_ENTRIES_SQL = """
INSERT INTO ledger_journalentry (id, tenant_id, entity_id, period_id, date, memo, reference, source,
                                 idempotency_key, posted_at)
SELECT id, %(tenant)s, %(entity)s, period_id, date, 'Synthetic activity', '', 'system', 'bench:bva:' || n, now()
FROM bench_entries
"""

# A line's pseudo-random draw k of stream s: a hash of (entry, stream, line), 0 … 2^32 − 1.
_H = "(hashint8((e.n * 64 + {s}) * 8 + k)::bigint + 2147483648)"
POST_LINES_SQL = f"""
INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date, account_id,
                                cost_center_id, amount, txn_amount, txn_currency, rate, memo)
WITH pl AS MATERIALIZED (
    SELECT e.id, e.period_id, e.date, k AS line_no,
           CASE WHEN e.revenue THEN (%(revenue)s::bigint[])[1 + {_H.format(s=4)} %% %(n_revenue)s]
                ELSE (%(expense)s::bigint[])[1 + {_H.format(s=4)} %% %(n_expense)s] END AS account_id,
           CASE WHEN {_H.format(s=5)} %% {NO_COST_CENTER_ONE_IN} = 0 THEN NULL
                ELSE (%(centers)s::bigint[])[1 + {_H.format(s=6)} %% %(n_centers)s] END AS cost_center_id,
           (1000 + {_H.format(s=7)} %% 2499000) * CASE WHEN e.revenue THEN -0.01 ELSE 0.01 END AS amount
    FROM bench_entries e CROSS JOIN LATERAL generate_series(1, e.pl_lines) AS k
)
SELECT %(tenant)s, id, line_no, %(entity)s, period_id, date, account_id, cost_center_id, amount, amount,
       %(currency)s, 1, ''
FROM pl
UNION ALL
SELECT %(tenant)s, id, max(line_no) + 1, %(entity)s, period_id, date, (%(balance)s::bigint[])[1 + id %% %(n_balance)s],
       NULL, -sum(amount), -sum(amount), %(currency)s, 1, ''
FROM pl GROUP BY id, period_id, date
"""

# Rollup rows that differ from a GROUP BY of the tenant's lines (0 when the rollup is right).
ROLLUP_CHECK_SQL = """
WITH l AS (
    SELECT entity_id, account_id, coalesce(cost_center_id, 0) AS cc, period_id, sum(amount) AS amount,
           count(*) AS n
    FROM ledger_journalline WHERE tenant_id = %(tenant)s GROUP BY 1, 2, 3, 4
), b AS (
    SELECT entity_id, account_id, coalesce(cost_center_id, 0) AS cc, period_id, amount, line_count AS n
    FROM ledger_periodbalance WHERE tenant_id = %(tenant)s
)
SELECT count(*) FILTER (WHERE l.amount IS DISTINCT FROM b.amount OR l.n IS DISTINCT FROM b.n),
       count(b.n), coalesce(sum(l.n), 0)
FROM l FULL JOIN b USING (entity_id, account_id, cc, period_id)
"""


def tenant_build(*, lines: int, today: date) -> BvaTenant:
    """A new bench tenant with `lines` journal lines and both budgets (see the module docstring)."""
    from finops.ledger.models import Account, AccountType, CostCenter, Entity
    from finops.ledger.periods import fiscal_year_label, fiscal_year_start, periods_ensure
    from finops.tenancy.context import tenant_context

    started = time.perf_counter()
    org = tenant_create(accounts=CHART_ACCOUNTS, cost_centers=COST_CENTERS, role="finance", name=tenant_name(lines))
    this_year = fiscal_year_start(start_month=org.fiscal_year_start_month, d=today)
    fy_start = this_year.replace(year=this_year.year - 1)
    months = [date(fy_start.year + (fy_start.month - 1 + i) // 12, (fy_start.month - 1 + i) % 12 + 1, 1)
              for i in range(12)]
    periods = periods_ensure(tenant=org, dates=months)
    with tenant_context(org):
        entity = Entity.objects.get()
        parents = set(CostCenter.objects.exclude(parent=None).values_list("parent_id", flat=True))
        centers = [c for c in CostCenter.objects.order_by("code") if c.pk not in parents]
        revenue = list(Account.objects.filter(type=AccountType.REVENUE).order_by("code"))
        expense = list(Account.objects.filter(type=AccountType.EXPENSE).order_by("code"))
        balance = list(Account.objects.filter(type__in=[AccountType.ASSET, AccountType.LIABILITY])
                       .order_by("code").values_list("pk", flat=True))
    log(f"tenant {org.slug}: {len(revenue) + len(expense)} revenue and expense accounts × {len(centers)} cost "
        f"centers, FY{fiscal_year_label(start_month=org.fiscal_year_start_month, d=fy_start)} "
        f"({months[0]:%Y-%m} to {months[-1]:%Y-%m})")

    entries, extra = divmod(lines, PL_LINES_PER_ENTRY + 1)  # the first `extra` entries get one more line
    if entries < extra or lines < MIN_LINES:
        raise ValueError(f"a budget bench tenant needs at least {MIN_LINES} journal lines")
    params = {
        "tenant": org.pk, "entity": entity.pk, "currency": str(entity.functional_currency),
        "periods": [periods[m].pk for m in months], "starts": months,
        "days": [((m.replace(day=28) + timedelta(days=4)).replace(day=1) - m).days for m in months],
        "pl_lines": PL_LINES_PER_ENTRY, "extra": extra,
        "revenue": [a.pk for a in revenue], "n_revenue": len(revenue),
        "expense": [a.pk for a in expense[:-UNPOSTED_ACCOUNTS]], "n_expense": len(expense) - UNPOSTED_ACCOUNTS,
        "centers": [c.pk for c in centers], "n_centers": len(centers), "balance": balance, "n_balance": len(balance),
    }
    posting = time.perf_counter()
    for first in range(0, entries, CHUNK_ENTRIES):
        with tenant_context(org), connection.cursor() as cursor:
            # The statement triggers keep every new line in a transition table: in memory, please.
            cursor.execute("SELECT set_config('work_mem', '256MB', true)")
            # From its 6th call in a session, PL/pgSQL may plan the trigger's queries generically, and
            # `entry_id = ANY(ids)` over a parameter array is then a linear search per journal line:
            # the 6th chunk of 500,000 lines ran for minutes instead of a minute (see the report).
            cursor.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
            cursor.execute(ENTRIES_SQL, {**params, "first": first, "last": min(first + CHUNK_ENTRIES, entries) - 1})
            cursor.execute(POST_ENTRIES_SQL, params)
            cursor.execute(POST_LINES_SQL, params)
        done = min(first + CHUNK_ENTRIES, entries)
        log(f"  {done * (PL_LINES_PER_ENTRY + 1) + min(extra, done):,} lines posted "
            f"({time.perf_counter() - posting:.0f} s)")
    posted = time.perf_counter() - posting
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(ROLLUP_CHECK_SQL, {"tenant": org.pk})
        wrong, balances, counted = cursor.fetchone()
    if wrong or counted != lines:
        raise RuntimeError(f"the period-balance rollup of {org.slug} does not match its lines: {wrong} balances "
                           f"differ, {counted:,} lines counted for {lines:,} asked")
    log(f"posted {lines:,} lines in {posted:.1f} s ({lines / posted / 1000:,.0f}k lines/s, ledger triggers and "
        f"rollup included); rollup check: its {balances:,} balances equal a GROUP BY of the lines")

    budgeting = time.perf_counter()
    version, grid_version = _budgets_create(org=org, fiscal_year=fiscal_year_label(
        start_month=org.fiscal_year_start_month, d=fy_start), entity=entity, accounts=revenue + expense,
        centers=centers, periods=[periods[m] for m in months], lines=lines)
    log(f"budgets written, approved and transferred through the services in {time.perf_counter() - budgeting:.1f} s")
    analyze()
    log(f"built {org.slug} in {time.perf_counter() - started:.0f} s")
    return _load(org) or BvaTenant(org, version, grid_version, version.budget.fiscal_year, months, lines, centers[0])


def _budgets_create(*, org, fiscal_year, entity, accounts, centers, periods, lines):
    from budgets.models import BudgetLine
    from budgets.services.budgets import budget_create
    from budgets.services.cells import Cell, budget_lines_set
    from budgets.services.versions import version_approve, version_submit
    from budgets.transfers.requests import transfer_approve, transfer_reject, transfer_request
    from finops.tenancy.context import tenant_context
    from finops.tenancy.services import user_get_or_create

    actor = user_get_or_create(email=BENCH_EMAIL)
    rng = random.Random(f"bench:bva:{org.slug}")
    # About what a cell's lines add up to, ±15 %: variances both ways.
    per_cell = lines * PL_LINES_PER_ENTRY / (PL_LINES_PER_ENTRY + 1) / (len(accounts) * len(centers) * 12)
    cents = max(100, round(per_cell * 12_504))  # the mean line is 125.04
    budget = budget_create(tenant=org, actor=actor, entity=entity, fiscal_year=fiscal_year, name=BUDGET_NAME)
    version = _first_version(org, budget)
    for center in centers:  # one service call (and one audit row) per cost center, as a team would
        budget_lines_set(tenant=org, actor=actor, version=version, cells=[
            Cell(a.pk, center.pk, p.pk, Decimal(rng.randrange(cents * 85 // 100, cents * 115 // 100)).scaleb(-2))
            for a in accounts for p in periods])
    version_submit(tenant=org, actor=actor, version=version)
    version_approve(tenant=org, actor=actor, version=version)
    with tenant_context(org):
        cell = {(line.account_id, line.cost_center_id, line.period_id): line
                for line in BudgetLine.objects.filter(version=version, cost_center__in=centers[:2],
                                                      account__in=[a.pk for a in accounts[-40:]])}
    expense, (c1, c2), p = accounts[-40:], centers[:2], periods
    moves = [  # (source, destination, amount): months, cost centers and accounts apart
        ((expense[0], c1, p[0]), (expense[0], c1, p[6]), "150.00"),
        ((expense[1], c1, p[2]), (expense[1], c2, p[2]), "275.50"),
        ((expense[2], c2, p[8]), (expense[5], c2, p[8]), "99.99"),
        ((expense[3], c2, p[11]), (expense[3], c1, p[3]), "1000.00"),
        ((expense[4], c1, p[5]), (expense[6], c2, p[9]), "12.34"),
    ]
    reason = "Benchmark: reallocation exercised by budget vs actual"
    for source, destination, amount in moves:
        transfer = transfer_request(
            tenant=org, actor=actor, version=version, amount=Decimal(amount), reason=reason,
            source=cell[source[0].pk, source[1].pk, source[2].pk],
            destination=cell[destination[0].pk, destination[1].pk, destination[2].pk], override_reason="benchmark")
        transfer_approve(tenant=org, actor=actor, transfer=transfer)
    pending = [transfer_request(tenant=org, actor=actor, version=version, amount=Decimal("500.00"), reason=reason,
                                source=cell[expense[7].pk, c1.pk, p[1].pk],
                                destination=cell[expense[7].pk, c1.pk, p[2].pk], override_reason="benchmark")
               for _ in range(2)]
    transfer_reject(tenant=org, actor=actor, transfer=pending[1], comment="Benchmark: a rejected move counts nothing")

    grid = budget_create(tenant=org, actor=actor, entity=entity, fiscal_year=fiscal_year, name=GRID_BUDGET_NAME)
    grid_version = _first_version(org, grid)
    budget_lines_set(tenant=org, actor=actor, version=grid_version, cells=[
        Cell(a.pk, centers[0].pk, p.pk, Decimal(rng.randrange(cents * 85 // 100, cents * 115 // 100)).scaleb(-2))
        for a in accounts for p in periods])
    return version, grid_version


def _first_version(org, budget):
    from budgets.models import BudgetVersion
    from finops.tenancy.context import tenant_context

    with tenant_context(org):
        return BudgetVersion.objects.select_related("budget__entity").get(budget=budget, number=1)


def analyze() -> None:
    """Vacuumed tables with fresh statistics, as autovacuum would leave them (the development
    server runs without it): each chunk's upsert leaves a dead version of most rollup rows."""
    vacuum_analyze(*LEDGER_TABLES, "budgets_budget", "budgets_budgetversion", "budgets_budgetline",
                   "budgets_transferrequest")


# --- budget vs actual: the service against one hand-written query ------------------------------------

# Actuals per account × cost center × month of the budget's entity and year, from the rollup or,
# for comparison, straight from the journal lines.
ACTUALS_FROM_ROLLUP = """
    SELECT account_id, cost_center_id, period_id, amount AS actual, 0 AS budget, 0 AS lines
    FROM ledger_periodbalance
    WHERE tenant_id = %(tenant)s AND entity_id = %(entity)s AND period_id IN (SELECT id FROM p)"""
ACTUALS_FROM_LINES = """
    SELECT account_id, cost_center_id, period_id, sum(amount) AS actual, 0 AS budget, 0 AS lines
    FROM ledger_journalline
    WHERE tenant_id = %(tenant)s AND entity_id = %(entity)s AND period_id IN (SELECT id FROM p)
    GROUP BY account_id, cost_center_id, period_id"""

# Written apart from `budgets.reports`: one UNION ALL of actuals, budget lines and approved
# transfers (+ at the destination line, − at the source), aggregated once to account × cost
# center with per-type totals, labels joined to the aggregated rows only. The same figures the
# report shows: actual, budget and budget lines in the window, actual year to date and the
# budget of the months after (the latest estimate), in natural sign.
BVA_LIMIT_SQL = """
WITH p AS (
    SELECT id, start FROM ledger_period WHERE tenant_id = %(tenant)s AND fiscal_year = %(fiscal_year)s
), moves AS (
    SELECT destination_id AS line_id, amount FROM budgets_transferrequest
    WHERE tenant_id = %(tenant)s AND version_id = %(version)s AND status = 'approved'
    UNION ALL
    SELECT source_id, -amount FROM budgets_transferrequest
    WHERE tenant_id = %(tenant)s AND version_id = %(version)s AND status = 'approved'
), cells AS ({actuals}
    UNION ALL
    SELECT account_id, cost_center_id, period_id, 0, amount, 1 FROM budgets_budgetline
    WHERE tenant_id = %(tenant)s AND version_id = %(version)s
    UNION ALL
    SELECT l.account_id, l.cost_center_id, l.period_id, 0, m.amount, 0
    FROM moves m JOIN budgets_budgetline l ON l.tenant_id = %(tenant)s AND l.id = m.line_id
), agg AS (
    SELECT a.type, c.account_id, c.cost_center_id, GROUPING(c.account_id) = 1 AS is_total,
           coalesce(sum(c.actual * sign.s) FILTER (WHERE p.start = ANY(%(window)s::date[])), 0) AS actual,
           coalesce(sum(c.budget) FILTER (WHERE p.start = ANY(%(window)s::date[])), 0) AS budget,
           coalesce(sum(c.lines) FILTER (WHERE p.start = ANY(%(window)s::date[])), 0) AS budget_lines,
           coalesce(sum(c.actual * sign.s) FILTER (WHERE p.start <= %(month)s), 0) AS actual_ytd,
           coalesce(sum(c.budget) FILTER (WHERE p.start > %(month)s), 0) AS budget_after
    FROM cells c
    JOIN p ON p.id = c.period_id
    JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = c.account_id
    CROSS JOIN LATERAL (SELECT CASE WHEN a.type = 'revenue' THEN -1 ELSE 1 END AS s) sign
    WHERE a.type IN ('revenue', 'expense') {cost_centers}
    GROUP BY GROUPING SETS ((a.type, c.account_id, c.cost_center_id), (a.type))
    HAVING coalesce(sum(c.actual) FILTER (WHERE p.start = ANY(%(window)s::date[])), 0) <> 0
        OR coalesce(sum(c.lines) FILTER (WHERE p.start = ANY(%(window)s::date[])), 0) > 0
)
SELECT agg.*, a.code, a.name, cc.code, cc.name
FROM agg
LEFT JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = agg.account_id
LEFT JOIN ledger_costcenter cc ON cc.tenant_id = %(tenant)s AND cc.id = agg.cost_center_id
ORDER BY agg.type DESC, agg.is_total, a.code, cc.code NULLS FIRST
"""
ONE_COST_CENTER = "AND c.cost_center_id = %(cost_center)s"


def bva_limit_sql(*, raw_lines: bool = False, cost_center: bool = False) -> str:
    return BVA_LIMIT_SQL.format(actuals=ACTUALS_FROM_LINES if raw_lines else ACTUALS_FROM_ROLLUP,
                                cost_centers=ONE_COST_CENTER if cost_center else "")


def service_rows(report) -> list[tuple]:
    """The figures of a `BudgetVsActual` to compare: (kind, type, account, cost center, actual, budget,
    has budget, latest estimate), the per-type totals as kind "total" (the net result is Python's)."""
    rows = [("row", r.account_type, r.account_id, r.cost_center_id, r.actual, r.budget, r.has_budget,
             r.latest_estimate) for r in report.rows]
    return rows + [("total", t.account_type, None, None, t.actual, t.budget, t.has_budget, t.latest_estimate)
                   for t in report.totals if t.label != "Net result"]


def limit_rows(fetched: list[tuple]) -> list[tuple]:
    return [("total" if is_total else "row", kind, None if is_total else account, cc, actual, budget,
             lines > 0, actual_ytd + after)
            for kind, account, cc, is_total, actual, budget, lines, actual_ytd, after, *_labels in fetched]


GRID_LIMIT_SQL = """
SELECT g.account_id, a.code, a.name, a.type, g.cost_center_id, coalesce(cc.code, ''), coalesce(cc.name, ''),
       cc.parent_id, {months}, g.total
FROM (
    SELECT l.account_id, l.cost_center_id, {sums}, sum(l.amount) AS total
    FROM budgets_budgetline l JOIN ledger_period p ON p.tenant_id = l.tenant_id AND p.id = l.period_id
    WHERE l.tenant_id = %(tenant)s AND l.version_id = %(version)s
    GROUP BY l.account_id, l.cost_center_id
) g
JOIN ledger_account a ON a.tenant_id = %(tenant)s AND a.id = g.account_id
LEFT JOIN ledger_costcenter cc ON cc.tenant_id = %(tenant)s AND cc.id = g.cost_center_id
ORDER BY cc.code NULLS FIRST, a.code
""".format(months=", ".join(f"g.m{n}" for n in range(1, 13)),
           sums=", ".join(f"sum(l.amount) FILTER (WHERE p.number = {n}) AS m{n}" for n in range(1, 13)))

BASES = (("month", "month"), ("ytd", "year to date"), ("full_year", "full year"))
GRID_ROW = re.compile(r'<tr id="row-\d+-\d+"')
REPORT_ROW = re.compile(r'<tr class="(?:un)?favourable')  # a line of the report; its totals are class "total …"


def figures(t: BvaTenant, *, runs: int, raw_runs: int, page_runs: int, client) -> tuple[list[Figure], list[str]]:
    """Budget vs actual for the whole tenant by month, YTD and full year (service and limit, rows
    checked equal), the YTD limit from raw lines, the report page for one cost center and for the
    whole tenant, and the 300-row grid page against its pivot."""
    from django.urls import reverse

    from budgets.reports import budget_vs_actual
    from budgets.variance import period_window
    from finops.tenancy.context import tenant_context

    org, version = t.org, t.version
    month = t.months[8]  # the 9th month: a year to date that is not the full year
    as_of = t.months[-1] + timedelta(days=31)  # the year is over: pacing is the whole budget
    out: list[Figure] = []
    checks: list[str] = []
    budget_lines = _count_lines(org, version)
    checks.append(f"{org.slug}: {t.lines:,} journal lines, {budget_lines:,} budget lines of "
                  f"{version.budget.name} v{version.number} (approved, with approved transfers), "
                  f"FY{t.fiscal_year}, report month {month:%Y-%m}")
    limit_sql = bva_limit_sql()
    with tenant_context(org):
        for basis, label in BASES:
            params = {"tenant": org.pk, "entity": version.budget.entity_id, "version": version.pk,
                      "fiscal_year": t.fiscal_year, "month": month,
                      "window": period_window(fiscal_year_start=t.months[0], month=month, basis=basis)}

            def service(basis=basis):
                return budget_vs_actual(tenant=org, version=version, period=month, basis=basis, as_of=as_of)

            def limit(params=params):
                with connection.cursor() as cursor:
                    cursor.execute(limit_sql, params)
                    return cursor.fetchall()

            check = same_rows(service_rows(service()), limit_rows(limit()))
            checks.append(check.line(f"budget vs actual, {label}"))
            service_time = median_seconds(service, runs=runs)
            out.append(Figure(f"budget vs actual, {label}, whole tenant ({check.rows:,} rows)", service_time,
                              median_seconds(limit, runs=runs), "≤ 1.5"))
            if basis == "ytd":
                ytd_service, ytd_limit, ytd_params = service_time, out[-1].limit, params
        raw_sql = bva_limit_sql(raw_lines=True)

        def raw_limit():
            with connection.cursor() as cursor:
                cursor.execute(raw_sql, ytd_params)
                return cursor.fetchall()

        check = same_rows(service_rows(budget_vs_actual(tenant=org, version=version, period=month, basis="ytd",
                                                         as_of=as_of)), limit_rows(raw_limit()))
        checks.append(check.line("budget vs actual, year to date, limit from raw journal lines"))
        out.append(Figure(f"  the same, limit from the {t.lines:,} raw journal lines", ytd_service,
                          median_seconds(raw_limit, runs=raw_runs, warmup=0), note="not the fair limit"))

        cc_params = {**ytd_params, "cost_center": t.cost_center.pk}
        cc_sql = bva_limit_sql(cost_center=True)

        def cc_limit():
            with connection.cursor() as cursor:
                cursor.execute(cc_sql, cc_params)
                return cursor.fetchall()

        cc_fetched = cc_limit()
        cc_rows, cc_lines = len(cc_fetched), sum(not row[3] for row in cc_fetched)  # with totals, without
        grid_params = {"tenant": org.pk, "version": t.grid_version.pk}

        def grid_limit():
            with connection.cursor() as cursor:
                cursor.execute(GRID_LIMIT_SQL, grid_params)
                return cursor.fetchall()

        grid_rows = len(grid_limit())
        cc_limit_time = median_seconds(cc_limit, runs=runs)
        grid_limit_time = median_seconds(grid_limit, runs=runs)
    report_url = reverse("budgets:variance", kwargs={"org_slug": org.slug, "pk": version.pk})
    query = f"?month={month:%Y-%m}&basis=ytd"
    shown = len(REPORT_ROW.findall(_get(client, f"{report_url}{query}&cost_center={t.cost_center.pk}")
                                   .content.decode()))
    checks.append(f"budget vs actual page for cost center {t.cost_center.code}, year to date: {shown:,} lines on "
                  f"the page, {cc_lines:,} from the hand-written query" + ("" if shown == cc_lines else " — NOT the same"))
    out.append(Figure(f"budget vs actual page, one cost center, YTD ({cc_rows:,} rows, HTTP)",
                      median_seconds(lambda: _get(client, f"{report_url}{query}&cost_center={t.cost_center.pk}"),
                                     runs=runs), cc_limit_time, note="whole request"))
    whole = median_seconds(lambda: _get(client, f"{report_url}{query}"), runs=page_runs)
    from budgets.views.variance import PAGE_SIZE

    out.append(Figure(f"budget vs actual page, whole tenant, YTD (first {PAGE_SIZE} lines, totals of all; HTTP, "
                      f"{page_runs} runs)", whole,
                      ytd_limit, note="whole request"))

    grid_url = reverse("budgets:version", kwargs={"org_slug": org.slug, "pk": t.grid_version.pk})
    shown = len(GRID_ROW.findall(_get(client, grid_url).content.decode()))
    checks.append(f"grid page of {t.grid_version.budget.name} v{t.grid_version.number} (draft, editable): "
                  f"{shown:,} rows on the page, {grid_rows:,} from the hand-written pivot"
                  + ("" if shown == grid_rows else " — NOT the same"))
    out.append(Figure(f"budget grid page, {grid_rows:,} rows × 12 months (HTTP)",
                      median_seconds(lambda: _get(client, grid_url), runs=runs), grid_limit_time,
                      note="whole request"))
    return out, checks


def _count_lines(org, version) -> int:
    from budgets.models import BudgetLine
    from finops.tenancy.context import tenant_context

    with tenant_context(org):
        return BudgetLine.objects.filter(version=version).count()
