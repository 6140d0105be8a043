"""Budgets over the API: budgets, their versions and lines, budget vs actual (the same figures as
the page: paced to the date while a window runs, rolled up, sorted, narrowed), and variance alerts
(list, acknowledge). Each endpoint is the selector or service the pages call."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime

from ninja import Field, Query, Router, Schema

from finops.api.pages import page_schema, paginate
from finops.api.problems import BadInput, answers
from finops.errors import DomainError
from finops.ledger.api import Money, money

from .alerts.inbox import alert_acknowledge
from .alerts.selectors import access_alert, alert_inbox_rows, alert_list
from .models import Budget, BudgetLine, BudgetVersion
from .reports import GROUP_BY_CHOICES, SHOW_CHOICES, SORTS, RowView, VarianceRow, budget_vs_actual
from .selectors import access_budget, access_version, budget_list
from .variance import Basis

router = Router(tags=["budgets"])


class VersionOut(Schema):
    id: int
    number: int
    kind: str
    status: str
    created_at: datetime
    approved_at: datetime | None


class BudgetOut(Schema):
    id: int
    name: str
    entity: str
    currency: str
    fiscal_year: int
    latest_version: int | None = None  # number
    in_force_version: int | None = None  # id of the version budget vs actual compares with


class BudgetDetailOut(BudgetOut):
    versions: list[VersionOut]


class BudgetLineOut(Schema):
    account: str
    cost_center: str | None
    month: str  # "2026-03"
    amount: Money  # as budgeted (transfers move the effective amount: see budget vs actual)


class VarianceOut(Schema):
    account_type: str
    entity: str | None = None
    account: str | None = None
    account_name: str | None = None
    cost_center: str | None = None
    month: str | None = None
    is_group: bool = False
    depth: int = 0
    label: str = ""
    actual: Money
    compared_with: Money  # the paced budget while the window runs, else the budget
    budget: Money  # the whole window's budget
    variance: Money
    variance_pct: str | None
    consumed_pct: str | None
    favourable: bool
    has_budget: bool
    full_year_run_rate: Money | None


class BudgetVsActualOut(Schema):
    version: int
    currency: str
    basis: str
    basis_words: str
    start: str
    end: str
    as_of: Date
    paced: bool
    view: list[str]
    rows: list[VarianceOut]
    totals: list[VarianceOut]
    next: str | None = None


class AlertOut(Schema):
    id: int
    rule: str
    budget: int
    account: str
    cost_center: str | None
    month: str
    threshold: str
    basis: str
    actual: Money
    budget_amount: Money
    variance: Money
    variance_pct: str | None
    consumed_pct: str | None
    status: str  # open, acknowledged, snoozed
    escalations: int
    raised_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    note: str = ""


class AcknowledgeIn(Schema):
    note: str = Field("", max_length=2000)


def _budget_out(b: Budget, cls=BudgetOut, **extra):
    return cls(id=b.pk, name=b.name, entity=b.entity.code, currency=str(b.entity.functional_currency),
               fiscal_year=b.fiscal_year, latest_version=getattr(b, "latest_number", None),
               in_force_version=getattr(b, "in_force_id", None), **extra)


@router.get("/budgets", response=answers(page_schema(BudgetOut)), summary="Budgets, newest fiscal year first")
def list_budgets(request, fiscal_year: int | None = None, limit: int | None = None, cursor: str | None = None):
    rows, following = paginate(budget_list(tenant=request.org, fiscal_year=fiscal_year).select_related("entity"),
                               order=("-fiscal_year", "name", "id"), limit=limit, cursor=cursor)
    return {"data": [_budget_out(b) for b in rows], "next": following}


@router.get("/budgets/{budget_id}", response=answers(BudgetDetailOut), summary="A budget with its versions")
def get_budget(request, budget_id: int):
    budget = access_budget(tenant=request.org, pk=budget_id)
    annotated = budget_list(tenant=request.org).select_related("entity").get(pk=budget.pk)
    versions = BudgetVersion.objects.filter(budget=budget).order_by("number")
    return _budget_out(annotated, BudgetDetailOut, versions=[VersionOut.from_orm(v) for v in versions])


@router.get("/budget-versions/{version_id}/lines", response=answers(page_schema(BudgetLineOut)),
            summary="A version's lines (account × cost center × month)")
def list_lines(request, version_id: int, limit: int | None = None, cursor: str | None = None):
    version = access_version(tenant=request.org, pk=version_id)
    currency = str(version.budget.entity.functional_currency)
    qs = BudgetLine.objects.filter(version=version).select_related("account", "cost_center", "period")
    rows, following = paginate(qs, order=("account__code", "id"), limit=limit, cursor=cursor)
    return {"data": [BudgetLineOut(account=line.account.code, month=f"{line.period.start:%Y-%m}",
                                   cost_center=line.cost_center.code if line.cost_center else None,
                                   amount=money(line.amount, currency)) for line in rows], "next": following}


class VarianceQuery(Schema):
    month: str | None = Field(None, description="YYYY-MM (default: this month, within the budget's year)")
    basis: Basis = Basis.MONTH
    group_by: list[str] = Field(default=["account", "cost_center"], description=", ".join(GROUP_BY_CHOICES))
    account_type: str | None = Field(None, description="revenue or expense")
    rollup: bool = Field(False, description="roll up by the chart's account groups, with subtotals")
    sort: str | None = Field(None, description=f"{', '.join(SORTS)}; '-' first for descending")
    show: str = Field("all", description=", ".join(SHOW_CHOICES))
    search: str = Field("", max_length=100)
    limit: int | None = Field(None, description="rows per page (1–200; default 50); the totals cover every row")
    cursor: str | None = None


def _pct(value) -> str | None:
    return None if value is None else f"{value:f}"


def _variance_out(r: VarianceRow, currency: str) -> VarianceOut:
    return VarianceOut(
        account_type=r.account_type, entity=r.entity_code, account=r.account_code, account_name=r.account_name,
        cost_center=r.cost_center_code, month=f"{r.period_start:%Y-%m}" if r.period_start else None,
        is_group=r.is_group, depth=r.depth, label=r.label, actual=money(r.actual, currency),
        compared_with=money(r.compared_with, currency), budget=money(r.budget, currency),
        variance=money(r.variance, currency), variance_pct=_pct(r.variance_pct), consumed_pct=_pct(r.consumed_pct),
        favourable=r.favourable, has_budget=r.has_budget,
        full_year_run_rate=money(r.projection, currency) if r.projection is not None else None)


@router.get("/budget-versions/{version_id}/budget-vs-actual", response=answers(BudgetVsActualOut),
            summary="Budget vs actual: the page's figures, paced to today while the window runs")
def get_budget_vs_actual(request, version_id: int, q: Query[VarianceQuery]):
    from budgets.views.variance import default_month
    from finops.api.pages import DEFAULT_LIMIT, MAX_LIMIT, _decode, _encode

    version = access_version(tenant=request.org, pk=version_id)
    month = default_month(request.org, version)
    if q.month:
        try:
            month = datetime.strptime(q.month, "%Y-%m").date()
        except ValueError:
            raise BadInput("month", "is not a month (YYYY-MM)") from None
    try:
        view = RowView(rollup=q.rollup, sort=q.sort or "", show=q.show, search=q.search)
    except DomainError as exc:
        raise BadInput("sort" if "sort" in exc.message else "show", exc.message) from None
    report = budget_vs_actual(tenant=request.org, version=version, period=month, basis=q.basis,
                              group_by=q.group_by, account_type=q.account_type or None, view=view)
    limit = DEFAULT_LIMIT if q.limit is None else q.limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput("limit", f"must be between 1 and {MAX_LIMIT}")
    start = _decode(q.cursor, 1)[0] if q.cursor else 0
    if not isinstance(start, int) or start < 0:
        raise BadInput("cursor", "is not a cursor this API gave: use the `next` of the previous page")
    page = report.rows[start:start + limit]
    following = _encode([start + limit]) if start + limit < len(report.rows) else None
    currency = report.currency
    return BudgetVsActualOut(
        version=version.pk, currency=currency, basis=report.basis, basis_words=report.basis_words,
        start=f"{report.start:%Y-%m}", end=f"{report.end:%Y-%m}", as_of=report.as_of, paced=report.paced,
        view=report.view_words, rows=[_variance_out(r, currency) for r in page],
        totals=[_variance_out(t, currency) for t in report.totals], next=following)


# --- alerts ----------------------------------------------------------------------------------------

def _alert_out(a) -> AlertOut:
    item, currency = a.item, a.currency
    return AlertOut(
        id=a.pk, rule=a.rule.name, budget=a.rule.budget_id, account=a.account.code,
        cost_center=a.cost_center.code if a.cost_center else None, month=f"{a.period.start:%Y-%m}",
        threshold=str(a.threshold), basis=a.basis_words, actual=money(a.actual, currency),
        budget_amount=money(a.budget, currency), variance=money(a.variance, currency),
        variance_pct=_pct(a.figures.variance_pct),
        consumed_pct=_pct(a.figures.consumed_pct) if a.account.type == "expense" else None,
        status="open" if a.is_open else item.status, escalations=a.escalations, raised_at=a.created_at,
        acknowledged_by=item.acknowledged_by.email if item and item.acknowledged_by else None,
        acknowledged_at=item.acknowledged_at if item else None, note=item.note if item else "")


class AlertQuery(Schema):
    status: str = Field("open", description="open, acknowledged, snoozed or all")
    limit: int | None = None
    cursor: str | None = None


@router.get("/alerts", response=answers(page_schema(AlertOut)), summary="Variance alerts, newest first")
def list_alerts(request, q: Query[AlertQuery]):
    if q.status not in ("open", "acknowledged", "snoozed", "all"):
        raise BadInput("status", "must be open, acknowledged, snoozed or all")
    status = "" if q.status == "all" else q.status
    page, following = paginate(alert_list(tenant=request.org, status=status).select_related(None).only("id", "created_at"),
                               order=("-created_at", "-id"), limit=q.limit, cursor=q.cursor)
    wanted = [a.pk for a in page]
    rows = {a.pk: a for a in alert_inbox_rows(tenant=request.org, ids=wanted, limit=len(wanted))}
    return {"data": [_alert_out(rows[pk]) for pk in wanted], "next": following}


@router.post("/alerts/{alert_id}/acknowledge", response=answers(AlertOut), summary="Acknowledge an alert (its line)")
def acknowledge_alert(request, alert_id: int, payload: AcknowledgeIn):
    alert = access_alert(tenant=request.org, pk=alert_id)
    alert_acknowledge(tenant=request.org, actor=request.user, alert=alert, note=payload.note)
    return _alert_out(alert_inbox_rows(tenant=request.org, ids=[alert.pk], limit=1)[0])
