"""The ledger over the API: entities, accounts, cost centers, periods, FX rates, journal entries
(list, get, post, reverse) and actuals from the period balances. Each endpoint is one selector or
service call, the same the pages make; the middleware has put the request in its organisation's
tenant context as the token's member (`finops.api.middleware`)."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from decimal import Decimal

from django.http import Http404
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from finops.api.pages import page_schema, paginate
from finops.api.params import by_code, found_by_code, month_param
from finops.api.problems import BadInput, FieldProblem, answers
from finops.api.types import Amount, Code, CurrencyCode, Day, Flag, Input, Output
from finops.ledger import selectors
from finops.ledger.actuals import GROUPINGS, Sign, actuals
from finops.ledger.models import (
    Account,
    AccountType,
    CostCenter,
    Entity,
    FxRate,
    FxRateKind,
    JournalEntry,
    Period,
    Source,
)
from finops.ledger.services import LineSpec, journal_post, journal_reverse

router = Router(tags=["ledger"])


# --- schemas -------------------------------------------------------------------------------------

class Money(Output):
    amount: str  # a decimal string in the currency's minor units: "1234.50"
    currency: str


def money(amount: Decimal, currency: str) -> Money:
    from finops.ledger.money import round_money

    return Money(amount=f"{round_money(Decimal(amount), str(currency)):f}", currency=str(currency))


class EntityOut(Schema):
    id: int
    code: str
    name: str
    functional_currency: str


class AccountOut(Schema):
    id: int
    code: str
    name: str
    type: str
    normal_balance: str
    parent_id: int | None
    active: bool
    is_intercompany: bool


class CostCenterOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    active: bool


class PeriodOut(Schema):
    id: int
    fiscal_year: int
    number: int
    start: Date
    end: Date
    status: str


class FxRateOut(Schema):
    id: int
    date: Date
    from_currency: str
    to_currency: str
    rate: str
    kind: str


class LineIn(Input):
    account: str = Field(min_length=1, description="account code")
    amount: Amount = Field(description="signed: debit positive, credit negative, as a decimal string")
    currency: CurrencyCode | None = Field(None, description="the transaction currency (default: the entity's)")
    cost_center: str | None = Field(None, description="cost center code")
    memo: str = ""


class EntryIn(Input):
    entity: str = Field(min_length=1, description="entity code")
    date: Day
    memo: str = ""
    reference: str = ""
    lines: list[LineIn]


class LineOut(Schema):
    line_no: int
    account: str
    cost_center: str | None
    amount: Money  # in the entity's functional currency
    transaction_amount: Money
    rate: str
    memo: str


class EntryOut(Schema):
    id: int
    entity: str
    date: Date
    period: str  # "2026-03"
    memo: str
    reference: str
    source: str
    reverses: int | None
    posted_at: datetime
    lines: list[LineOut]


class ReverseIn(Input):
    date: Day | None = Field(None, description="default: the entry's own date")
    memo: str = ""


class ActualOut(Schema):
    entity: str | None = None  # code, when grouped by it
    account: str | None = None
    account_type: str | None = None
    cost_center: str | None = None  # "" for lines without one
    month: str | None = None  # "2026-03"
    amount: Money
    lines: int


class ActualsOut(Schema):
    data: list[ActualOut]
    missing_rates: list[str] = []


# --- master data ---------------------------------------------------------------------------------

@router.get("/entities", response=answers(page_schema(EntityOut)), summary="Entities")
def list_entities(request, limit: int | None = None, cursor: str | None = None):
    rows, following = paginate(Entity.objects.all(), order=("code", "id"), limit=limit, cursor=cursor)
    return {"data": [EntityOut(id=e.pk, code=e.code, name=e.name, functional_currency=str(e.functional_currency))
                     for e in rows], "next": following}


@router.get("/accounts", response=answers(page_schema(AccountOut)), summary="Accounts (the chart)")
def list_accounts(request, type: AccountType | None = None, active: bool | None = None,
                  limit: int | None = None, cursor: str | None = None):
    qs = Account.objects.all()
    if type:
        qs = qs.filter(type=type)
    if active is not None:
        qs = qs.filter(active=active)
    rows, following = paginate(qs, order=("code", "id"), limit=limit, cursor=cursor)
    return {"data": [AccountOut.from_orm(a) for a in rows], "next": following}


@router.get("/cost-centers", response=answers(page_schema(CostCenterOut)), summary="Cost centers")
def list_cost_centers(request, active: bool | None = None, limit: int | None = None, cursor: str | None = None):
    qs = CostCenter.objects.all() if active is None else CostCenter.objects.filter(active=active)
    rows, following = paginate(qs, order=("code", "id"), limit=limit, cursor=cursor)
    return {"data": [CostCenterOut.from_orm(c) for c in rows], "next": following}


@router.get("/periods", response=answers(page_schema(PeriodOut)), summary="Periods (months of the fiscal years)")
def list_periods(request, fiscal_year: int | None = None, limit: int | None = None, cursor: str | None = None):
    qs = Period.objects.all() if fiscal_year is None else Period.objects.filter(fiscal_year=fiscal_year)
    rows, following = paginate(qs, order=("start", "id"), limit=limit, cursor=cursor)
    return {"data": [PeriodOut.from_orm(p) for p in rows], "next": following}


@router.get("/fx-rates", response=answers(page_schema(FxRateOut)), summary="Exchange rates")
def list_fx_rates(request, kind: FxRateKind | None = None, from_currency: CurrencyCode | None = None,
                  to_currency: CurrencyCode | None = None, limit: int | None = None, cursor: str | None = None):
    qs = FxRate.objects.all()
    for name, value in (("kind", kind), ("from_currency", from_currency), ("to_currency", to_currency)):
        if value:
            qs = qs.filter(**{name: value})
    rows, following = paginate(qs, order=("-date", "-id"), limit=limit, cursor=cursor)
    return {"data": [FxRateOut(id=r.pk, date=r.date, from_currency=str(r.from_currency),
                               to_currency=str(r.to_currency), rate=selectors.plain_decimal(r.rate), kind=r.kind)
                     for r in rows], "next": following}


class AccountIn(Input):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    type: AccountType
    parent: str | None = Field(None, description="the parent account's code")
    is_intercompany: Flag = False


class CostCenterIn(Input):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(None, description="the parent cost center's code")


class AccountChange(Input):
    """Only the fields sent change; `parent: null` makes it a top-level account."""

    name: str | None = Field(None, min_length=1, max_length=200)
    type: AccountType | None = Field(None, description="only while the account has no postings")
    parent: str | None = Field(None, description="the parent account's code")
    is_intercompany: Flag | None = None
    active: Flag | None = Field(None, description="false: no new postings or budget lines to it")


class CostCenterChange(Input):
    """Only the fields sent change; `parent: null` makes it a top-level cost center."""

    name: str | None = Field(None, min_length=1, max_length=200)
    parent: str | None = Field(None, description="the parent cost center's code")
    active: Flag | None = None


class FxRateIn(Input):
    date: Day = Field(description="average: any day of its month; closing: of its month; budget: of its fiscal year")
    from_currency: CurrencyCode
    to_currency: CurrencyCode
    rate: Amount = Field(description="1 from_currency = rate to_currency, as a decimal string (at most 10 decimals)")
    kind: str = Field("average", description="average, closing or budget")


@router.post("/accounts", response=answers(AccountOut, status=201), summary="Add an account to the chart")
def create_account(request, payload: AccountIn):
    from finops.ledger.services import account_save

    parent = by_code(Account, payload.parent, "account", "parent")
    account = account_save(tenant=request.org, actor=request.user, code=payload.code.strip(), name=payload.name,
                           type=payload.type, parent=parent, is_intercompany=payload.is_intercompany)
    return 201, AccountOut.from_orm(account)


@router.post("/cost-centers", response=answers(CostCenterOut, status=201), summary="Add a cost center")
def create_cost_center(request, payload: CostCenterIn):
    from finops.ledger.services import cost_center_save

    parent = by_code(CostCenter, payload.parent, "cost center", "parent")
    center = cost_center_save(tenant=request.org, actor=request.user, code=payload.code.strip(), name=payload.name,
                              parent=parent)
    return 201, CostCenterOut.from_orm(center)


def _changed(payload, current: dict, model, what: str) -> dict:
    """`current` with what `payload` sent (a parent by its code; null: none)."""
    sent = payload.model_fields_set
    changes = {name: getattr(payload, name) for name in sent if name != "parent"}
    for name, value in changes.items():
        if value is None:
            raise BadInput(name, "may not be null: leave it out to keep it")
    if "parent" in sent:
        changes["parent"] = by_code(model, payload.parent, what, "parent")
    return {**current, **changes}


@router.patch("/accounts/{code}", response=answers(AccountOut), summary="Change an account")
def change_account(request, code: str, payload: AccountChange):
    from finops.ledger.services import account_save

    account = found_by_code(Account, code, "account")
    fields = _changed(payload, {"name": account.name, "type": account.type, "parent": account.parent,
                                "is_intercompany": account.is_intercompany, "active": account.active},
                      Account, "account")
    return AccountOut.from_orm(account_save(tenant=request.org, actor=request.user, code=account.code,
                                            account=account, **fields))


@router.patch("/cost-centers/{code}", response=answers(CostCenterOut), summary="Change a cost center")
def change_cost_center(request, code: str, payload: CostCenterChange):
    from finops.ledger.services import cost_center_save

    center = found_by_code(CostCenter, code, "cost center")
    fields = _changed(payload, {"name": center.name, "parent": center.parent, "active": center.active},
                      CostCenter, "cost center")
    return CostCenterOut.from_orm(cost_center_save(tenant=request.org, actor=request.user, code=center.code,
                                                   owner=center.owner, cost_center=center, **fields))


@router.post("/fx-rates", response=answers(FxRateOut, status=201), summary="Record an exchange rate")
def set_fx_rate(request, payload: FxRateIn):
    from finops.ledger.services import fx_rate_set

    rate = fx_rate_set(tenant=request.org, actor=request.user, date=payload.date, from_currency=payload.from_currency,
                       to_currency=payload.to_currency, rate=payload.rate, kind=payload.kind.lower())
    return 201, FxRateOut(id=rate.pk, date=rate.date, from_currency=str(rate.from_currency),
                          to_currency=str(rate.to_currency), rate=selectors.plain_decimal(rate.rate), kind=rate.kind)


# --- journal entries -----------------------------------------------------------------------------

def entry_out(entry: JournalEntry) -> EntryOut:
    currency = str(entry.entity.functional_currency)
    return EntryOut(
        id=entry.pk, entity=entry.entity.code, date=entry.date, period=f"{entry.period.start:%Y-%m}",
        memo=entry.memo, reference=entry.reference, source=entry.source, reverses=entry.reverses_id,
        posted_at=entry.posted_at,
        lines=[LineOut(line_no=line.line_no, account=line.account.code,
                       cost_center=line.cost_center.code if line.cost_center else None,
                       amount=money(line.amount, currency), transaction_amount=money(line.txn_amount, line.txn_currency),
                       rate=selectors.plain_decimal(line.rate), memo=line.memo)
               for line in entry.lines.select_related("account", "cost_center").order_by("line_no")])


@router.get("/journal-entries", response=answers(page_schema(EntryOut)), summary="Journal entries, newest first")
def list_entries(request, entity: str | None = None, date_from: Day | None = None, date_to: Day | None = None,
                 source: Source | None = None, limit: int | None = None, cursor: str | None = None):
    qs = JournalEntry.objects.select_related("entity", "period")
    if entity:
        qs = qs.filter(entity__code=entity)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if source:
        qs = qs.filter(source=source)
    rows, following = paginate(qs, order=("-date", "-id"), limit=limit, cursor=cursor)
    return {"data": [entry_out(e) for e in rows], "next": following}


@router.get("/journal-entries/{entry_id}", response=answers(EntryOut), summary="One journal entry with its lines")
def get_entry(request, entry_id: int):
    entry = selectors.entry_get(tenant=request.org, pk=entry_id)
    if entry is None:
        raise Http404("No such journal entry.")
    return entry_out(entry)


@router.post("/journal-entries", response=answers(EntryOut, status=201, also={200: EntryOut}), summary="Post a balanced entry")
def post_entry(request, payload: EntryIn):
    entity = by_code(Entity, payload.entity, "entity", "entity", required=True)
    lines = []
    for index, line in enumerate(payload.lines):
        account = by_code(Account, line.account, "account", f"lines/{index}/account", required=True)
        cc = by_code(CostCenter, line.cost_center, "cost center", f"lines/{index}/cost_center")
        lines.append(LineSpec(account.pk, line.amount, cc.pk if cc else None,
                              currency=line.currency, memo=line.memo))
    key = request.headers.get("Idempotency-Key") or None
    result = journal_post(tenant=request.org, actor=request.user, entity=entity, date=payload.date, lines=lines,
                          memo=payload.memo, reference=payload.reference, source=Source.API,
                          idempotency_key=f"api:{request.caller.token.pk}:{key}" if key else None)
    entry = selectors.entry_get(tenant=request.org, pk=result.entry.pk)
    return (201 if result.created else 200), entry_out(entry)


@router.post("/journal-entries/{entry_id}/reverse", response=answers(EntryOut, status=201), summary="Reverse an entry")
def reverse_entry(request, entry_id: int, payload: ReverseIn):
    entry = selectors.access_entry(tenant=request.org, pk=entry_id)
    result = journal_reverse(tenant=request.org, actor=request.user, entry=entry, date=payload.date,
                             memo=payload.memo)
    return 201, entry_out(selectors.entry_get(tenant=request.org, pk=result.entry.pk))


# --- actuals -------------------------------------------------------------------------------------

class ActualsQuery(Schema):
    entity: str | None = Field(None, description="entity code")
    account: list[Code] = Field(default=[], description="account codes")
    cost_center: list[Code] = Field(default=[], description="cost center codes")
    group_by: list[str] = Field(default=["account", "month"], description=f"some of {', '.join(GROUPINGS)}")
    period_from: str | None = Field(None, description="YYYY-MM")
    period_to: str | None = Field(None, description="YYYY-MM")
    currency: CurrencyCode | None = Field(None, description="translate into this currency (monthly average rates)")


@router.get("/actuals", response=answers(ActualsOut), summary="Actuals from the period balances, natural sign")
def get_actuals(request, filters: Query[ActualsQuery]):
    unknown = [g for g in filters.group_by if g not in GROUPINGS]
    if unknown:
        raise BadInput("group_by", f"cannot group by {', '.join(unknown)}; choose among {', '.join(GROUPINGS)}")
    entity = by_code(Entity, filters.entity, "entity", "entity")
    accounts = [by_code(Account, code, "account", "account") for code in filters.account] or None
    centers = [by_code(CostCenter, code, "cost center", "cost_center") for code in filters.cost_center] or None
    result = actuals(tenant=request.org, entity=entity, accounts=accounts, cost_centers=centers, start=month_param(filters.period_from, "period_from"),
                     end=month_param(filters.period_to, "period_to"), group_by=filters.group_by, sign=Sign.NATURAL,
                     currency=filters.currency)
    entities = {e.pk: e.code for e in Entity.objects.all()}
    accounts = {a.pk: (a.code, a.type) for a in Account.objects.all()}
    centers = {c.pk: c.code for c in CostCenter.objects.all()}
    grouped = set(filters.group_by)
    data = [ActualOut(
        entity=entities.get(row.entity_id) if "entity" in grouped else None,
        account=accounts[row.account_id][0] if row.account_id else None,
        account_type=accounts[row.account_id][1] if row.account_id else None,
        cost_center=(centers.get(row.cost_center_id, "") if "cost_center" in grouped else None),
        month=f"{row.month:%Y-%m}" if row.month else None, amount=money(row.amount, row.currency), lines=row.lines)
        for row in result.rows]
    return {"data": data, "missing_rates": [m.message for m in result.missing_rates]}


# --- GL imports ------------------------------------------------------------------------------------

class ImportLineIn(Input):
    date: str = Field(description="YYYY-MM-DD")
    entry_ref: str = Field(description="lines with the same entity and entry_ref form one entry")
    entity: str
    account: str
    cost_center: str | None = None
    amount: str = Field(description="a decimal string, debit positive")
    currency: str | None = None
    memo: str | None = None


class ImportIn(Input):
    lines: list[ImportLineIn] = Field(description="at most 10,000; all or nothing")


class ImportOut(Schema):
    job: int | None
    status: str  # succeeded, failed, duplicate, queued, running
    rows: int
    created: int  # entries posted
    skipped: int  # entries whose entry_ref was imported before
    message: str = ""
    duplicate_of: int | None = None
    progress: dict | None = None  # while a worker runs it: done, total, phase, percent
    errors: list[FieldProblem] = []


def _job_out(job, *, errors=None) -> ImportOut:
    from finops.jobs.progress import job_progress_get

    result = job.result or {}
    running = job.status in ("queued", "running")
    return ImportOut(job=job.pk, status=job.status, rows=job.rows, created=result.get("entries_created", 0),
                     skipped=result.get("entries_skipped", 0), message=job.message, duplicate_of=job.duplicate_of_id,
                     progress=job_progress_get(job_id=job.pk) if running else None,
                     errors=errors if errors is not None else [
                         {"pointer": f"#/line/{e['line']}" if e.get("line") else "#", "detail": e["message"]}
                         for e in (job.errors or [])])


@router.post("/gl-imports", response=answers(ImportOut, status=201, also={200: ImportOut}),
             summary="Import up to 10,000 GL lines now, all or nothing (the file import's checks and write path)")
def import_lines(request, payload: ImportIn):
    from finops.ledger.importers import gl_import_lines

    result = gl_import_lines(tenant=request.org, actor=request.user,
                             rows=[line.model_dump() for line in payload.lines], name=f"api-{request.caller.token.pk}")
    if result.errors:
        problems = [{"pointer": f"#/lines/{e.line - 2}" if e.line and e.line >= 2 else "#/lines", "detail": e.message}
                    for e in result.errors]
        from finops.api.problems import problem

        return problem(422, f"{len(problems)} line{'s' if len(problems) != 1 else ''} cannot be imported; "
                            f"nothing was: {problems[0]['pointer']}: {problems[0]['detail']}", errors=problems)
    if result.duplicate_of is not None:
        return 200, ImportOut(job=result.job.pk if result.job else None, status="duplicate", rows=result.rows,
                              created=0, skipped=0, message=result.summary(), duplicate_of=result.duplicate_of.pk)
    return 201, ImportOut(job=result.job.pk if result.job else None, status="succeeded", rows=result.rows,
                          created=result.created, skipped=result.skipped,
                          message=result.far_ahead_warning or result.summary())


@router.post("/gl-imports/file", response=answers(ImportOut, status=202),
             summary="Upload a GL file (CSV or XLSX): a worker imports it; poll the job")
def import_file(request, file: File[UploadedFile]):
    from finops.ledger.importers import import_job_create

    job = import_job_create(tenant=request.org, actor=request.user, filename=file.name, data=file.read())
    return 202, _job_out(job)


@router.get("/gl-imports/{job_id}", response=answers(ImportOut), summary="A GL import: progress, result, errors")
def get_import(request, job_id: int):
    from finops.jobs.records import access_job
    from finops.ledger.importers import GL

    return _job_out(access_job(tenant=request.org, kind=GL, pk=job_id))
