"""Benchmarks: each application path timed against the limit of the same work in raw SQL or COPY.

Figures are printed as ratios measured in the same run (DESIGN §9): absolute times depend on
the machine, ratios much less. Nothing here fails on a slow figure.

- GL import: `gl_import` (parse, validate, translate, write entries and lines through the
  ledger's triggers) of an N-line CSV, against a raw COPY of the very lines it wrote into a plain
  copy of `ledger_journalline` (same columns and indexes; no row-level security, no triggers,
  no foreign keys). Ratio = limit time / service time; goal ≥ 0.5.
- Dashboard: the dashboard selector `reporting.selectors.dashboard_get`, against one
  hand-written query over the period balances giving the same month-to-date and year-to-date
  totals by account type. Ratio = service / limit; goal ≤ 1.5. The whole page through Django's
  test client is shown too.
- Journal: the first page and a page deep in the ledger (`finops.ledger.selectors.journal_lines`,
  keyset paging) against a raw `SELECT ... ORDER BY date DESC ... LIMIT 50`, and the page itself.
- Budgets (`bench.budgets`): budget vs actual for a 5,000,000-line tenant with a 216,000-line
  budget (month, year to date, full year) against one hand-written query over the same rollup,
  the rows checked identical; the report page; the 300-row budget grid page against its pivot.

Each run creates its own tenant `bench-<n>` (300 accounts × 60 cost centers) and keeps it: the
ledger is append-only, so it cannot be deleted; `--tenant bench-<n>` re-times the queries on it.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

BENCH_EMAIL = "bench@bench.invalid"


@dataclass
class Figure:
    path: str
    service: float | None  # seconds (median)
    limit: float | None
    goal: str = ""  # "≥ 0.5" (limit/service, higher is better) or "≤ 1.5" (service/limit)
    rows: int | None = None  # rows per run, to print rows/s
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.service or not self.limit:
            return None
        return self.limit / self.service if self.goal.startswith("≥") else self.service / self.limit

    @property
    def verdict(self) -> str:
        if self.ratio is None or not self.goal:
            return ""
        target = float(self.goal.split()[-1])
        met = self.ratio >= target if self.goal.startswith("≥") else self.ratio <= target
        return "met" if met else "below goal"


def log(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def median_seconds(fn: Callable[[], object], *, runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- set-up -----------------------------------------------------------------------------------------

def tenant_create(*, accounts: int, cost_centers: int, role: str = "viewer", name: str = ""):
    """A fresh organisation `bench-<n>` with a wide chart, and a member (`role`) to open its pages."""
    from finops.demo.volume import wide_org_create
    from finops.tenancy.models import Organization
    from finops.tenancy.services import member_add, user_get_or_create

    taken = [int(slug.rsplit("-", 1)[1]) for slug in Organization.objects.filter(slug__regex=r"^bench-[0-9]+$")
             .values_list("slug", flat=True)]
    slug = f"bench-{max(taken, default=0) + 1}"
    org = wide_org_create(slug=slug, name=name or f"Benchmark {slug}", accounts=accounts, cost_centers=cost_centers)
    member_add(tenant=org, actor=None, user=user_get_or_create(email=BENCH_EMAIL), role=role)
    return org


def gl_csv(org, *, lines: int, today: date) -> bytes:
    from finops.demo.volume import gl_csv_rows

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(gl_csv_rows(org=org, lines=lines, today=today))
    return buffer.getvalue().encode()


def owner_connection():
    """A connection as the database's owner (finops/dbsetup.py), for what the application's role
    may not do and a benchmark needs: VACUUM, and a scratch table for the COPY limit."""
    from finops import dbsetup

    roles = dbsetup.roles()
    return dbsetup.connect(connection.settings_dict["NAME"], user=roles.owner, password=roles.owner_password)


def vacuum_analyze(*tables: str) -> None:
    """What autovacuum would soon do to the tables just filled: fresh planner statistics (a plan
    for a table "still empty" is not the plan the application runs with) and a visibility map
    (without it no index-only scan pays). Done explicitly because a server may run with
    autovacuum off, as the development machine's does; as the owner, since only an owner may."""
    with owner_connection() as owner:
        owner.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


LEDGER_TABLES = ("ledger_journalline", "ledger_journalentry", "ledger_periodbalance", "ledger_period",
                 "ledger_account", "ledger_costcenter", "ledger_entity")


def analyze() -> None:
    vacuum_analyze(*LEDGER_TABLES)


# --- GL import vs COPY ------------------------------------------------------------------------------

def time_gl_import(org, data: bytes) -> tuple[float, object, dict[str, float]]:
    """(seconds, result, {phase: seconds}): the phases as the import reports them to its progress
    bar (`importers.PHASES`), each timed from its first report to the next phase's."""
    from finops.ledger.importers import gl_import

    marks: dict[str, float] = {}

    def progress(done: int, total: int, phase: str) -> None:
        marks.setdefault(phase, time.perf_counter())

    started = time.perf_counter()
    result = gl_import(tenant=org, actor=None, data=data, filename=f"{org.slug}-gl.csv", progress=progress)
    ended = time.perf_counter()
    starts = sorted([*marks.items(), ("", ended)], key=lambda item: item[1])
    starts[0] = (starts[0][0], started)  # the first phase starts with the import (reading the reference data)
    phases = {phase: starts[i + 1][1] - at for i, (phase, at) in enumerate(starts[:-1])}
    return ended - started, result, phases


def time_copy_limit(org, *, runs: int) -> tuple[float, int]:
    """Median time to COPY the tenant's journal lines into a plain copy of the table."""
    from finops.ledger.writer import LINE_COLUMNS
    from finops.tenancy.context import tenant_context

    cols = ", ".join(LINE_COLUMNS)
    dump = bytearray()
    with tenant_context(org), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY (SELECT {cols} FROM ledger_journalline WHERE tenant_id = %s) TO STDOUT",
                                [org.pk]) as copy:
            for block in copy:
                dump += block
    rows = dump.count(b"\n")
    times = []
    with owner_connection() as owner:  # the application's role may not create tables
        try:
            for _ in range(runs):
                owner.execute("DROP TABLE IF EXISTS bench_lines")
                owner.execute("CREATE TABLE bench_lines (LIKE ledger_journalline INCLUDING ALL)")
                started = time.perf_counter()
                with owner.cursor().copy(f"COPY bench_lines ({cols}) FROM STDIN") as copy:
                    view = memoryview(dump)
                    for offset in range(0, len(view), 1 << 20):
                        copy.write(view[offset:offset + (1 << 20)])
                times.append(time.perf_counter() - started)  # autocommit: the COPY has committed
        finally:
            owner.execute("DROP TABLE IF EXISTS bench_lines")
    return statistics.median(times), rows


# --- the dashboard -----------------------------------------------------------------------------------

DASHBOARD_LIMIT_SQL = """
SELECT a.type,
       SUM(pb.amount) FILTER (WHERE p.start = %(month)s) AS mtd,
       SUM(pb.amount) FILTER (WHERE p.start >= %(fy_start)s) AS ytd,
       SUM(pb.amount) AS to_date
  FROM ledger_periodbalance pb
  JOIN ledger_period p ON p.tenant_id = pb.tenant_id AND p.id = pb.period_id
  JOIN ledger_account a ON a.tenant_id = pb.tenant_id AND a.id = pb.account_id
 WHERE pb.tenant_id = %(tenant)s AND p.start <= %(month)s
 GROUP BY a.type
"""


def dashboard_figures(org, *, runs: int, client) -> tuple[Figure, Figure, str]:
    from django.urls import reverse

    from finops.ledger.periods import fiscal_year_start
    from finops.tenancy.context import tenant_context
    from reporting.selectors import dashboard_get

    with tenant_context(org):
        dash = dashboard_get(tenant=org)
        params = {"tenant": org.pk, "month": dash.month,
                  "fy_start": fiscal_year_start(start_month=org.fiscal_year_start_month, d=dash.month)}

        def limit():
            with connection.cursor() as cursor:
                cursor.execute(DASHBOARD_LIMIT_SQL, params)
                return cursor.fetchall()

        service_time = median_seconds(lambda: dashboard_get(tenant=org), runs=runs)
        limit_time = median_seconds(limit, runs=runs)
        totals = {kind: (mtd or Decimal(0), ytd or Decimal(0), to_date) for kind, mtd, ytd, to_date in limit()}
    zero = (Decimal(0),) * 3
    same = (dash.mtd.revenue == -totals.get("revenue", zero)[0] and dash.mtd.expenses == totals.get("expense", zero)[0]
            and dash.ytd.revenue == -totals.get("revenue", zero)[1] and dash.ytd.expenses == totals.get("expense", zero)[1]
            and dash.balances.assets == totals.get("asset", zero)[2])
    check = (f"dashboard {dash.month:%Y-%m}: revenue MTD {dash.mtd.revenue:,.2f}, YTD {dash.ytd.revenue:,.2f}, "
             f"expenses MTD {dash.mtd.expenses:,.2f} — {'the same' if same else 'NOT the same'} as the raw query")
    url = reverse("reporting:dashboard", kwargs={"org_slug": org.slug})
    page_time = median_seconds(lambda: _get(client, url), runs=runs)
    return (Figure("dashboard (dashboard_get)", service_time, limit_time, "≤ 1.5"),
            Figure("dashboard page (HTTP via test client)", page_time, limit_time, note="whole request"), check)


# --- the journal -------------------------------------------------------------------------------------

JOURNAL_LIMIT_SQL = """
SELECT l.date, l.entry_id, l.line_no, e.code, a.code, a.name, c.code, l.memo, j.memo, j.reference, j.source,
       l.amount, l.txn_amount, l.txn_currency
  FROM ledger_journalline l
  JOIN ledger_journalentry j ON j.tenant_id = l.tenant_id AND j.id = l.entry_id
  JOIN ledger_account a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
  JOIN ledger_entity e ON e.tenant_id = l.tenant_id AND e.id = l.entity_id
  LEFT JOIN ledger_costcenter c ON c.tenant_id = l.tenant_id AND c.id = l.cost_center_id
 WHERE l.tenant_id = %(tenant)s {after}
 ORDER BY l.date DESC, l.entry_id DESC, l.line_no
 LIMIT 51
"""
DEEP_AFTER = "AND (l.date, l.entry_id) < (%(date)s, %(entry)s)"


def journal_figures(org, *, runs: int, client) -> list[Figure]:
    from django.urls import reverse

    from finops.ledger.selectors import Cursor, JournalFilters, journal_lines
    from finops.tenancy.context import tenant_context

    figures = []
    with tenant_context(org):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ledger_journalline WHERE tenant_id = %s", [org.pk])
            (total,) = cursor.fetchone()
            cursor.execute("SELECT date, entry_id FROM ledger_journalline WHERE tenant_id = %s"
                           " ORDER BY date DESC, entry_id DESC, line_no OFFSET %s LIMIT 1", [org.pk, total // 2])
            middle = cursor.fetchone()
        for label, cursor_at, after in (("journal page 1 (journal_lines)", None, ""),
                                        ("journal page at 50 % (keyset cursor)", middle, DEEP_AFTER)):
            if after and middle is None:
                continue
            position = Cursor(middle[0], middle[1], 0, older=True) if cursor_at else None
            params = {"tenant": org.pk, "date": middle[0] if middle else None, "entry": middle[1] if middle else None}

            def limit(after=after, params=params):
                with connection.cursor() as cursor:
                    cursor.execute(JOURNAL_LIMIT_SQL.format(after=after), params)
                    return cursor.fetchall()

            def service(position=position):
                return journal_lines(tenant=org, filters=JournalFilters(), cursor=position)

            figures.append(Figure(label, median_seconds(service, runs=runs), median_seconds(limit, runs=runs)))
        limit_first = figures[0].limit
    url = reverse("ledger:journal", kwargs={"org_slug": org.slug})
    figures.append(Figure("journal page (HTTP via test client)", median_seconds(lambda: _get(client, url), runs=runs),
                          limit_first, note="whole request"))
    return figures


def _get(client, url: str):
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response


# --- the table ---------------------------------------------------------------------------------------

def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:,.2f} s" if seconds >= 1 else f"{seconds * 1000:,.1f} ms"


def table(figures: list[Figure]) -> str:
    header = ("path", "service", "limit", "ratio", "goal", "")
    rows = [header]
    for f in figures:
        service, limit = _duration(f.service), _duration(f.limit)
        if f.rows and f.service:
            service += f"  {f.rows / f.service / 1000:,.0f}k rows/s"
        if f.rows and f.limit:
            limit += f"  {f.rows / f.limit / 1000:,.0f}k rows/s"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "—"
        rows.append((f.path, service, limit, ratio, f.goal + ("×" if f.goal else "") or "—", f.verdict or f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i in (0, 4, 5) else cell.rjust(w) for i, (cell, w)
                               in enumerate(zip(r, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("─" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    return f"PostgreSQL {version}, {os.cpu_count()} CPUs"


def load() -> str:
    """The machine's 1-minute load average: on a shared machine, read the figures beside it."""
    return f"{os.getloadavg()[0]:.1f}"
