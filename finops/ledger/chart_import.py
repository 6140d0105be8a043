"""Importing a chart: entities, accounts and cost centers from one CSV or XLSX file.

Columns `kind, code, name, type, currency, parent` (header names are case- and space-insensitive;
`kind`, `code` and `name` are required). `kind` is entity, account or cost_center; `type` is an
account's type (asset, liability, equity, revenue, expense); `currency` an entity's functional
currency; `parent` the code of the parent of the same kind, in the file (before or after the
child) or already in the organisation. An empty parent makes a top-level account or cost center;
without a parent column, parents are left as they are.

Uploaded in the app it runs as a background job (`chart_import_job_create`, at the end); the
command runs the same job in its own process. All or nothing, like every import: if any row is wrong, each bad row is named with its line
number (header = line 1) and reason, and nothing is written. Otherwise one transaction creates
what is new and updates the names and parents (and an unused account's type) of what exists. It
never deletes, and never changes an entity's currency, which its postings are kept in. Writes go
through the master-data services, so every change is audited like an edit in the UI.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.imports import FileProblem, RowError, file_rows, header_read
from finops.jobs.models import Job, JobStatus
from finops.jobs.records import job_claim, job_content, job_finish, job_get, job_lock, job_record
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .models import Account, AccountType, CostCenter, Entity, PeriodBalance
from .money import is_valid_currency
from .services import account_save, cost_center_save, entity_create

log = logging.getLogger(__name__)

ENTITY, ACCOUNT, COST_CENTER = "entity", "account", "cost_center"
KIND_NAMES = {ENTITY: "entity", ACCOUNT: "account", COST_CENTER: "cost center"}
PLURALS = {ENTITY: "entities", ACCOUNT: "accounts", COST_CENTER: "cost centers"}
MODELS = {ACCOUNT: Account, COST_CENTER: CostCenter}
_KIND_ALIASES = {"entity": ENTITY, "account": ACCOUNT, "costcenter": COST_CENTER, "costcentre": COST_CENTER}
COLUMNS = ("kind", "code", "name", "type", "currency", "parent")
REQUIRED = ("kind", "code", "name")
_JUNK = re.compile(r"[\s_\-]+")
MAX_CODE, MAX_NAME = 20, 200


@dataclass
class ChartRow:
    line: int
    kind: str
    code: str
    name: str
    type: str = ""
    currency: str = ""
    parent: str | None = None  # None: the file says nothing about the parent (no parent column)


@dataclass
class ChartImportResult:
    rows: int = 0
    created: Counter = field(default_factory=Counter)  # by kind
    updated: Counter = field(default_factory=Counter)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            n = len(self.errors)
            return f"{n:,} problem{'s' if n != 1 else ''} found: nothing was imported."

        def counts(counter: Counter) -> str:
            parts = [f"{counter[k]} {KIND_NAMES[k] if counter[k] == 1 else PLURALS[k]}"
                     for k in (ENTITY, ACCOUNT, COST_CENTER) if counter[k]]
            return ", ".join(parts) or "nothing"

        return (f"{self.rows:,} rows: {counts(self.created)} created; {counts(self.updated)} updated; "
                f"{self.unchanged:,} unchanged.")


# --- reading --------------------------------------------------------------------------------------

def _read(data: bytes, filename: str = "") -> tuple[list[ChartRow], list[RowError], set[str]]:
    """Parse the file into rows; per-row problems that need no database go to the error list."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise FileProblem(f"The file is larger than {settings.IMPORT_MAX_BYTES // 1_000_000} MB.")
    rows_in, _ = file_rows(data, filename)
    first = next(rows_in, None)
    if first is None or first[0] != 1 or not any(str(c).strip() for c in first[1]):
        raise FileProblem(f"The first line must be the header. The header must name {', '.join(COLUMNS)}.", 1)
    positions = header_read(first[1], known=COLUMNS, required=REQUIRED,
                            hint=f"The header must name {', '.join(COLUMNS)}.")
    rows, errors = [], []
    for line, cells in rows_in:
        if not any(str(c).strip() for c in cells):
            continue
        row = _row(line, [str(c) for c in cells], positions, errors)
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        raise FileProblem("The file has a header but no rows.")
    return rows, errors, set(positions)


def _row(line: int, cells: list[str], positions: dict[str, int], errors: list[RowError]) -> ChartRow | None:
    def cell(name: str) -> str:
        index = positions.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems = []
    raw_kind = cell("kind")
    kind = _KIND_ALIASES.get(_JUNK.sub("", raw_kind.lower()))
    if not raw_kind:
        problems.append("the kind is missing: use entity, account or cost_center")
    elif kind is None:
        problems.append(f"unknown kind “{raw_kind}”: use entity, account or cost_center")
    code, name = cell("code"), cell("name")
    if not code:
        problems.append("the code is missing")
    elif len(code) > MAX_CODE:
        problems.append(f"the code “{code}” is longer than {MAX_CODE} characters")
    if not name:
        problems.append("the name is missing")
    elif len(name) > MAX_NAME:
        problems.append(f"the name is longer than {MAX_NAME} characters")
    row = ChartRow(line, kind or "", code, name)
    row.parent = cell("parent") if "parent" in positions else None
    if kind == ACCOUNT:
        raw_type = cell("type")
        row.type = raw_type.lower()
        if not raw_type:
            problems.append("an account needs a type: asset, liability, equity, revenue or expense")
        elif row.type not in AccountType.values:
            problems.append(f"unknown account type “{raw_type}”: use asset, liability, equity, revenue or expense")
    elif kind == ENTITY:
        row.currency = cell("currency").upper()
        if not row.currency:
            problems.append("an entity needs its functional currency (e.g. USD)")
        elif not is_valid_currency(row.currency):
            problems.append(f"unknown currency “{cell('currency')}”")
        if row.parent:
            problems.append("entities have no parent: leave the parent empty")
    for problem in problems:
        errors.append(RowError(line, problem[0].upper() + problem[1:] + "."))
    return None if problems else row


# --- checking against the organisation --------------------------------------------------------------

def _check(rows: list[ChartRow], errors: list[RowError], existing: dict[str, dict]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        first = seen.setdefault((row.kind, row.code), row.line)
        if first != row.line:
            errors.append(RowError(row.line, f"Duplicate {KIND_NAMES[row.kind]} code {row.code} (also on line {first})."))
    by_code = {(row.kind, row.code): row for row in rows}
    for row in rows:
        current = existing[row.kind].get(row.code)
        if row.kind == ENTITY and current is not None and current.functional_currency != row.currency:
            errors.append(RowError(row.line, (
                f"Entity {row.code} keeps its books in {current.functional_currency}: "
                f"its functional currency cannot change to {row.currency}.")))
        if row.kind == ACCOUNT and current is not None and current.type != row.type and current.has_postings:
            errors.append(RowError(row.line, (
                f"Account {row.code} has postings: its type cannot change from {current.type} to {row.type}.")))
        if row.kind != ENTITY and row.parent:
            if row.parent == row.code:
                errors.append(RowError(row.line, f"{KIND_NAMES[row.kind].capitalize()} {row.code} cannot be its own parent."))
            elif (row.kind, row.parent) not in by_code and row.parent not in existing[row.kind]:
                errors.append(RowError(row.line, f"Unknown parent {KIND_NAMES[row.kind]} {row.parent}: "
                                                 "it is neither in the file nor in the organisation."))
    for kind in (ACCOUNT, COST_CENTER):
        for row, cycle in _cycles(kind, rows, existing[kind]):
            errors.append(RowError(row.line, f"The parents form a cycle: {' → '.join(cycle)}."))


def _final_parents(kind: str, rows: list[ChartRow], current: dict) -> dict[str, str | None]:
    parents = {code: obj.parent_code for code, obj in current.items()}
    for row in rows:
        if row.kind == kind and row.parent is not None:
            parents[row.code] = row.parent or None
        elif row.kind == kind:
            parents.setdefault(row.code, None)
    return parents


def _cycles(kind: str, rows: list[ChartRow], current: dict):
    parents = _final_parents(kind, rows, current)
    for row in rows:
        if row.kind != kind or row.parent == row.code:
            continue
        chain, node = [row.code], parents.get(row.code)
        while node is not None and node not in chain:
            chain.append(node)
            node = parents.get(node)
        if node == row.code:
            yield row, [*chain, row.code]


def _parents_first(kind: str, rows: list[ChartRow], current: dict) -> list[ChartRow]:
    """The rows of `kind`, each after every file row above it in the final tree (no cycles left)."""
    parents = _final_parents(kind, rows, current)
    mine = {row.code: row for row in rows if row.kind == kind}
    ordered, done = [], set()

    def visit(code: str) -> None:
        if code in done:
            return
        done.add(code)
        parent = parents.get(code)
        if parent:
            visit(parent)  # also through parents outside the file: their own parents may be in it
        if code in mine:
            ordered.append(mine[code])

    for row in rows:
        if row.kind == kind:
            visit(row.code)
    return ordered


# --- the service ---------------------------------------------------------------------------------------

@requires(Action.WRITE)
def chart_import(*, tenant, actor, data: bytes, filename: str = "") -> ChartImportResult:
    """Import a chart CSV (see the module docstring). Row problems are returned in
    `result.errors`, and then nothing has been written."""
    result = ChartImportResult()
    try:
        rows, errors, _columns = _read(data, filename)
    except FileProblem as problem:
        result.errors = [problem.error]
        return result
    result.rows = len(rows) + len({e.line for e in errors})
    with tenant_context(tenant):
        existing = _existing()
        _check(rows, errors, existing)
        if errors:
            result.errors = sorted(errors, key=lambda e: (e.line or 0))
            return result
        try:
            with transaction.atomic():
                _write(tenant=tenant, actor=actor, rows=rows, existing=existing, result=result)
        except _RowFailed as failed:
            result.created.clear()
            result.updated.clear()
            result.unchanged = 0
            result.errors = [failed.error]
    return result


class _RowFailed(Exception):
    def __init__(self, row: ChartRow, message: str):
        super().__init__(message)
        self.error = RowError(row.line, message)


def _existing() -> dict[str, dict]:
    accounts = {a.code: a for a in Account.objects.select_related("parent")}
    centers = {c.code: c for c in CostCenter.objects.select_related("parent")}
    used = set(PeriodBalance.objects.values_list("account_id", flat=True).distinct())
    for objects in (accounts, centers):
        for obj in objects.values():
            obj.parent_code = obj.parent.code if obj.parent_id else None
    for account in accounts.values():
        account.has_postings = account.pk in used
    return {ENTITY: {e.code: e for e in Entity.objects.all()}, ACCOUNT: accounts, COST_CENTER: centers}


def _write(*, tenant, actor, rows: list[ChartRow], existing: dict[str, dict], result: ChartImportResult) -> None:
    saved: dict[str, dict] = defaultdict(dict)

    def run(row: ChartRow, save):
        try:
            return save()
        except DomainError as exc:
            raise _RowFailed(row, exc.message) from exc

    for row in (r for r in rows if r.kind == ENTITY):
        entity = existing[ENTITY].get(row.code)
        if entity is None:
            run(row, lambda row=row: entity_create(tenant=tenant, actor=actor, code=row.code, name=row.name,
                                                   functional_currency=row.currency))
            result.created[ENTITY] += 1
        elif entity.name != row.name:
            _entity_rename(tenant=tenant, actor=actor, entity=entity, name=row.name)
            result.updated[ENTITY] += 1
        else:
            result.unchanged += 1

    for kind, save in ((ACCOUNT, _save_account), (COST_CENTER, _save_cost_center)):
        current = existing[kind]

        def fresh(code: str | None, kind=kind, current=current):
            # Parents are read again so the services' ancestor checks see this import's earlier changes.
            if not code:
                return None
            if code not in saved[kind]:
                saved[kind][code] = MODELS[kind].objects.get(pk=current[code].pk)
            return saved[kind][code]

        for row in _parents_first(kind, rows, current):
            obj = current.get(row.code)
            if row.parent is None:  # no parent column: keep the parent it has
                parent_code = obj.parent_code if obj is not None else None
            else:
                parent_code = row.parent or None
            if obj is not None and _unchanged(kind, obj, row, parent_code):
                result.unchanged += 1
                continue
            parent = fresh(parent_code)
            saved[kind][row.code] = run(row, lambda row=row, obj=obj, parent=parent, save=save:
                                        save(tenant=tenant, actor=actor, row=row, obj=obj, parent=parent))
            (result.updated if obj is not None else result.created)[kind] += 1


def _unchanged(kind: str, obj, row: ChartRow, parent_code: str | None) -> bool:
    same = obj.name == row.name and obj.parent_code == parent_code
    return same and (kind != ACCOUNT or obj.type == row.type)


def _save_account(*, tenant, actor, row: ChartRow, obj: Account | None, parent: Account | None) -> Account:
    if obj is None:
        return account_save(tenant=tenant, actor=actor, code=row.code, name=row.name, type=row.type, parent=parent)
    return account_save(tenant=tenant, actor=actor, code=row.code, name=row.name, type=row.type, parent=parent,
                        is_intercompany=obj.is_intercompany, active=obj.active, account=obj)


def _save_cost_center(*, tenant, actor, row: ChartRow, obj: CostCenter | None, parent: CostCenter | None) -> CostCenter:
    if obj is None:
        return cost_center_save(tenant=tenant, actor=actor, code=row.code, name=row.name, parent=parent)
    return cost_center_save(tenant=tenant, actor=actor, code=row.code, name=row.name, parent=parent,
                            owner=obj.owner, active=obj.active, cost_center=obj)


def _entity_rename(*, tenant, actor, entity: Entity, name: str) -> Entity:
    """An entity's name may change; its code and functional currency do not."""
    with tenant_context(tenant):
        locked = Entity.objects.select_for_update().get(pk=entity.pk)
        before = {"name": locked.name}
        locked.name = name
        locked.save(update_fields=["name"])
        audit_record(tenant=tenant, actor=actor, action=AuditAction.ENTITY_UPDATE, obj=locked, before=before, after={"name": name})
        return locked


# --- as a background job (finops/jobs) ------------------------------------------------------------

CHART = "chart"  # the job kind: a chart may be imported again (it updates what changed, creates what is new)


@requires(Action.WRITE)
def chart_import_job_create(*, tenant, actor, filename: str, data: bytes, enqueue: bool = True) -> Job:
    """Record an uploaded chart as a job and, after commit, hand it to a worker (`tasks.chart_import_run`)."""
    return job_record(tenant=tenant, actor=actor, kind=CHART, filename=filename, data=data, enqueue=enqueue)


def chart_import_job_run(*, tenant, job_id: int) -> Job | None:
    """Run a queued chart import (what the worker and the command do). Safe to run twice: a
    finished job is left alone, and two runs of one job serialise on its row lock; the chart and
    the job's outcome commit together, so a crash leaves the job to be run again from the start."""
    if job_claim(tenant=tenant, kind=CHART, job_id=job_id) is not None:
        try:
            with tenant_context(tenant):
                job = job_lock(kind=CHART, job_id=job_id)
                if not job.is_finished:
                    result = chart_import(tenant=tenant, actor=job.created_by, data=job_content(job_id=job_id),
                                          filename=job.filename)
                    job_finish(job, status=JobStatus.SUCCEEDED if result.ok else JobStatus.FAILED, rows=result.rows,
                               errors=result.errors, message=result.summary(),
                               result={"created": dict(result.created), "updated": dict(result.updated),
                                       "unchanged": result.unchanged})
        except Exception as exc:
            log.exception("chart import job %s failed", job_id)
            with tenant_context(tenant):
                job = job_lock(kind=CHART, job_id=job_id)
                if not job.is_finished:
                    job_finish(job, status=JobStatus.FAILED, message=(
                        f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                        "Try again; if it fails again, tell your administrator."))
    return job_get(tenant=tenant, kind=CHART, pk=job_id)
