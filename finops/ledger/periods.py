"""Fiscal years and their monthly periods.

A fiscal year starts on the first day of the organisation's `fiscal_year_start_month` and is
labelled by the calendar year in which it ends (start month 4: April 2026 – March 2027 is
FY2027). Periods are created, open, the first time an entry or a budget needs them, and only
for dates inside the date window (`finops.bounds`): each such date brings its whole fiscal year.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from django.db import connection
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .models import Period, PeriodStatus


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def fiscal_year_start(*, start_month: int, d: date) -> date:
    year = d.year if d.month >= start_month else d.year - 1
    return date(year, start_month, 1)


def fiscal_year_label(*, start_month: int, d: date) -> int:
    start = fiscal_year_start(start_month=start_month, d=d)
    return start.year if start_month == 1 else start.year + 1


def add_months(d: date, months: int) -> date:
    """The first day of the month `months` after (or before) `d`'s month: the one place the
    product does month arithmetic. Dates come from inside the window (`finops.bounds`), so this
    stays in the calendar; if it ever would not, it says so instead of raising ValueError."""
    index = d.year * 12 + d.month - 1 + months
    if not 1 <= index // 12 <= 9999:
        raise DomainError(f"{d:%Y-%m} {'+' if months >= 0 else '−'} {abs(months)} months is outside the calendar.")
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year_first_day(*, start_month: int, label: int) -> date:
    """The first day of FY `label` (labelled by the calendar year in which it ends)."""
    return date(label if start_month == 1 else label - 1, start_month, 1)


def fiscal_year_first_month(*, tenant, fiscal_year: int) -> date:
    """The first day of `tenant`'s FY `fiscal_year` (labelled by the calendar year in which it ends)."""
    return fiscal_year_first_day(start_month=tenant.fiscal_year_start_month, label=fiscal_year)


def fiscal_year_ensure(*, tenant, label: int) -> dict[date, Period]:
    """Create FY `label` (if missing) and return its periods; refused when the fiscal year has
    no day inside the date window."""
    start_month = tenant.fiscal_year_start_month
    wall = bounds.DATE_WALL
    if not isinstance(label, int) or not wall[0].year < label < wall[1].year:
        raise DomainError(f"{label} is not a fiscal year.")
    first = fiscal_year_first_day(start_month=start_month, label=label)
    last = add_months(first, 11)
    if problem := bounds.month_problem(first, month_end(last), text=f"FY{label}", what=""):
        raise DomainError(problem)
    return periods_ensure(tenant=tenant, dates=[max(first, bounds.date_window().first)])


def periods_ensure(*, tenant, dates: Iterable[date]) -> dict[date, Period]:
    """Create the fiscal years covering `dates` (if missing) and return {month start: Period}.
    Every date must lie inside the date window (`finops.bounds`): a DomainError names the first
    that does not, and nothing is created."""
    dates = set(dates)
    for d in sorted(dates):
        bounds.date_require(d)
    months = sorted({month_start(d) for d in dates})
    if not months:
        return {}
    start_month = tenant.fiscal_year_start_month
    rows = []
    for fy_start in sorted({fiscal_year_start(start_month=start_month, d=m) for m in months}):
        label = fiscal_year_label(start_month=start_month, d=fy_start)
        for number in range(1, 13):
            start = add_months(fy_start, number - 1)
            rows.append((tenant.pk, label, number, start, month_end(start)))
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO ledger_period (tenant_id, fiscal_year, number, start, "end", status)
            VALUES (%s, %s, %s, %s, %s, 'open')
            ON CONFLICT DO NOTHING
            """,
            rows,
        )
        found = Period.objects.filter(start__in=months)
        return {p.start: p for p in found}


def period_ensure(*, tenant, d: date) -> Period:
    """The period of `d`'s month, created (with its fiscal year's) when it does not exist yet."""
    return periods_ensure(tenant=tenant, dates=[d])[month_start(d)]


def first_open_date(*, tenant, d: date) -> date:
    """Where something dated `d` posts: `d` itself when its period is open (or not made yet),
    else the first day of the first open month after it. Late items (a cost file for a closed
    month, a rerun that corrects one) land in the first open period, never in a closed one."""
    with tenant_context(tenant):
        closed = set(Period.objects.filter(start__gte=month_start(d)).exclude(status=PeriodStatus.OPEN)
                     .values_list("start", flat=True))
    month = month_start(d)
    if month not in closed:
        return d
    while month in closed:
        month = add_months(month, 1)
    bounds.date_require(month)
    return month


def periods_lock_open(*, tenant, periods: Iterable[Period]) -> None:
    """Take a share lock on the periods (closing one waits for us) and refuse closed ones."""
    ids = sorted({p.pk for p in periods})
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT start, status FROM ledger_period WHERE id = ANY(%s) ORDER BY id FOR SHARE", [ids])
        closed = sorted(start for start, status in cursor.fetchall() if status != PeriodStatus.OPEN)
        if closed:
            raise DomainError(f"Period {closed[0]:%Y-%m} is closed: reopen it or post into an open period.")


def _period_set_status(*, tenant, actor, period: Period, status: str, action: str) -> Period:
    with tenant_context(tenant):
        locked = Period.objects.select_for_update().get(pk=period.pk)
        if locked.status == status:
            raise DomainError(f"Period {locked.label} is already {status}.")
        before = {"status": locked.status}
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.status_changed_by = actor if getattr(actor, "pk", None) else None
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by"])
        audit_record(tenant=tenant, actor=actor, action=action, obj=locked, before=before, after={"status": status})
        from finops.webhooks.events import webhook_emit

        webhook_emit(tenant=tenant, event_type="period.closed" if status == PeriodStatus.CLOSED else "period.reopened",
                     ref=locked.pk, data={"period": f"{locked.start:%Y-%m}", "fiscal_year": locked.fiscal_year,
                                          "status": status, "by": getattr(actor, "email", None)})
        return locked


@requires(Action.WRITE)
def period_close(*, tenant, actor, period: Period) -> Period:
    return _period_set_status(tenant=tenant, actor=actor, period=period, status=PeriodStatus.CLOSED, action=AuditAction.PERIOD_CLOSE)


@requires(Action.WRITE)
def period_reopen(*, tenant, actor, period: Period) -> Period:
    return _period_set_status(tenant=tenant, actor=actor, period=period, status=PeriodStatus.OPEN, action=AuditAction.PERIOD_REOPEN)
