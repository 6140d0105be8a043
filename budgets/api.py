"""Budgets over the API: budgets, their versions and lines, budget vs actual (the same figures as
the page: paced to the date while a window runs, rolled up, sorted, narrowed), and variance alerts
(list, acknowledge). Each endpoint is the selector or service the pages call."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from finops.api.pages import page_schema, paginate, paginate_list
from finops.api.params import by_code, month_param
from finops.api.problems import BadInput, answers
from finops.api.types import Amount, Input, Output
from finops.errors import DomainError
from finops.ledger.api import Money, money

from .alerts.inbox import alert_acknowledge
from .alerts.selectors import access_alert, alert_inbox_rows, alert_list
from .models import Budget, BudgetLine, BudgetVersion
from .reports import (
    GROUP_BY_CHOICES,
    SHOW_CHOICES,
    SORTS,
    RowView,
    VarianceRow,
    budget_vs_actual,
    report_default_month,
)
from .selectors import access_budget, access_version, budget_list
from .transfers.requests import transfer_approve, transfer_reject, transfer_request
from .transfers.selectors import access_transfer, transfer_list
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


class VarianceOut(Output):
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


class BudgetVsActualOut(Output):
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


class AcknowledgeIn(Input):
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
    account_type: Literal["revenue", "expense"] | None = Field(None, description="revenue or expense")
    cost_center: str | None = Field(None, description="a cost center code: it and everything under it")
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
    from finops.ledger.models import CostCenter

    version = access_version(tenant=request.org, pk=version_id)
    month = month_param(q.month, "month") or report_default_month(tenant=request.org,
                                                                  fiscal_year=version.budget.fiscal_year)
    try:
        view = RowView(rollup=q.rollup, sort=q.sort or "", show=q.show, search=q.search)
    except DomainError as exc:
        raise BadInput("sort" if "sort" in exc.message else "show", exc.message) from None
    cost_center = by_code(CostCenter, q.cost_center, "cost center", "cost_center")
    report = budget_vs_actual(tenant=request.org, version=version, period=month, basis=q.basis,
                              group_by=q.group_by, account_type=q.account_type or None, cost_center=cost_center,
                              view=view)
    page, following = paginate_list(report.rows, limit=q.limit, cursor=q.cursor)
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


# --- transfer requests -------------------------------------------------------------------------------

class CellIn(Input):
    account: str = Field(min_length=1, description="account code")
    cost_center: str | None = Field(None, description="cost center code")
    month: str = Field(description="YYYY-MM")


class TransferIn(Input):
    version: int = Field(description="the budget version in force")
    source: CellIn
    destination: CellIn
    amount: Amount = Field(description="a positive decimal string in the budget's currency")
    reason: str
    override_reason: str = ""


class DecisionIn(Input):
    comment: str = ""
    override_reason: str = ""


class TransferOut(Schema):
    id: int
    version: int
    status: str
    source: str  # "6100 / OPS / 2026-03"
    destination: str
    amount: Money
    reason: str
    requested_by: str | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str


def _cell_words(line) -> str:
    return " / ".join([line.account.code, *([line.cost_center.code] if line.cost_center else []),
                       f"{line.period.start:%Y-%m}"])


def _transfer_out(t) -> TransferOut:
    currency = str(t.version.budget.entity.functional_currency)
    return TransferOut(id=t.pk, version=t.version_id, status=t.status, source=_cell_words(t.source),
                       destination=_cell_words(t.destination), amount=money(t.amount, currency), reason=t.reason,
                       requested_by=t.requested_by.email if t.requested_by else None, requested_at=t.requested_at,
                       decided_by=t.decided_by.email if t.decided_by else None, decided_at=t.decided_at,
                       decision_comment=t.decision_comment)


def _transfer(request, pk: int):
    return transfer_list(tenant=request.org).get(pk=access_transfer(tenant=request.org, pk=pk).pk)


def _cell(version, cell: CellIn, pointer: str):
    """The version's line at the cell, or the (account, cost center, period) to create it at."""
    from finops.ledger.models import Account, CostCenter, Period

    account = by_code(Account, cell.account, "account", f"{pointer}/account", required=True)
    cost_center = by_code(CostCenter, cell.cost_center, "cost center", f"{pointer}/cost_center")
    start = month_param(cell.month, f"{pointer}/month")
    period = Period.objects.filter(start=start, fiscal_year=version.budget.fiscal_year).first()
    if period is None:
        raise BadInput(f"{pointer}/month", f"is not a month of FY{version.budget.fiscal_year}")
    line = BudgetLine.objects.filter(version=version, account=account, cost_center=cost_center, period=period).first()
    return line or (account, cost_center, period)


@router.get("/transfer-requests", response=answers(page_schema(TransferOut)), summary="Transfer requests")
def list_transfers(request, status: str | None = None, version: int | None = None, limit: int | None = None,
                   cursor: str | None = None):
    qs = transfer_list(tenant=request.org, status=status or "", version=version)
    rows, following = paginate(qs, order=("-requested_at", "-id"), limit=limit, cursor=cursor)
    return {"data": [_transfer_out(t) for t in rows], "next": following}


@router.post("/transfer-requests", response=answers(TransferOut, status=201),
             summary="Ask to move budget between two lines of the same kind")
def create_transfer(request, payload: TransferIn):
    version = access_version(tenant=request.org, pk=payload.version)
    transfer = transfer_request(tenant=request.org, actor=request.user, version=version,
                                source=_cell(version, payload.source, "source"),
                                destination=_cell(version, payload.destination, "destination"),
                                amount=payload.amount, reason=payload.reason,
                                override_reason=payload.override_reason)
    return 201, _transfer_out(_transfer(request, transfer.pk))


@router.post("/transfer-requests/{transfer_id}/approve", response=answers(TransferOut),
             summary="Approve a pending request (finance; not the requester)")
def approve_transfer(request, transfer_id: int, payload: DecisionIn):
    transfer = access_transfer(tenant=request.org, pk=transfer_id)
    transfer_approve(tenant=request.org, actor=request.user, transfer=transfer, comment=payload.comment,
                     override_reason=payload.override_reason)
    return _transfer_out(_transfer(request, transfer.pk))


@router.post("/transfer-requests/{transfer_id}/reject", response=answers(TransferOut),
             summary="Reject a pending request, saying why")
def reject_transfer(request, transfer_id: int, payload: DecisionIn):
    transfer = access_transfer(tenant=request.org, pk=transfer_id)
    transfer_reject(tenant=request.org, actor=request.user, transfer=transfer, comment=payload.comment)
    return _transfer_out(_transfer(request, transfer.pk))
