"""Importing budget cells from a CSV or XLSX file (DESIGN §4 "Imports": all or nothing).

The file: columns `entity, account, cost_center, period, amount` (header names in any case and
spacing; `cost_center` may be left empty or left out), one row per cell; `period` is `YYYY-MM`
(a spreadsheet date such as 2026-01-01 names its month; one that does not exist, 2030-02-30,
names none) inside the date window; amounts in natural sign (a revenue budget of 100 is 100) in
the entity's functional currency, within the amount limit and at most its minor unit's decimals
(`finops.bounds`).

Every row is checked against the tenant's entities, accounts and cost centers (loaded once) and
against the budget: one entity per budget, every period inside its fiscal year, no cell twice.
If any row is wrong, nothing is written — not even the budget — and each bad row is reported
with its line number (header = line 1). Otherwise one transaction creates the budget if it does
not exist (for the entity and the fiscal year of the first row's period, with a draft original
version) and upserts the cells into its newest version, which must be a draft or rejected one.
Cells the file does not name are left as they are, so importing the same file twice changes
nothing the second time (every cell is reported unchanged).

Each cell is checked once, here: the rows that pass go straight to the services' trusted write
(`budget_cells_write_checked`), which does not check them again. The audit trail gets one summary row
per import that changed something (file name, sha256, rows, cells written, totals per account
type, version) rather than every cell: the file itself, named by its hash, is the detail.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.imports import NUMBER_HINT, FileProblem, RowError, file_rows, header_read, parse_amount
from finops.jobs import progress as _progress
from finops.jobs.progress import Progress
from finops.ledger.models import Account, CostCenter, Entity, Period
from finops.ledger.money import minor_units
from finops.ledger.periods import fiscal_year_label, month_end
from finops.tenancy.context import tenant_context

from .models import Budget, BudgetVersion
from .services.budgets import BUDGET_ACCOUNT_TYPES, budget_create
from .services.cells import LinesResult, budget_cells_write_checked
from .services.versions import version_for_update, version_require_editable

COLUMNS = ("entity", "account", "cost_center", "period", "amount")
REQUIRED = ("entity", "account", "period", "amount")
_PERIOD = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
HEADER_HINT = "The header must name entity, account, cost_center, period, amount."


@dataclass
class BudgetImportResult:
    budget: Budget | None = None
    version: BudgetVersion | None = None
    budget_created: bool = False
    rows: int = 0
    lines: LinesResult = field(default_factory=LinesResult)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            n = len(self.errors)
            return f"{n:,} problem{'s' if n != 1 else ''} found: nothing was imported."
        made = " (new budget)" if self.budget_created else ""
        return (f"{self.rows:,} row{'s' if self.rows != 1 else ''} into {self.budget.name} v{self.version.number}"
                f"{made}: {self.lines.created:,} cells created, {self.lines.updated:,} changed, "
                f"{self.lines.unchanged:,} unchanged.")


@dataclass(frozen=True)
class _Row:
    line: int
    entity: tuple[int, str]  # (id, code)
    account_id: int
    account_type: str
    cost_center_id: int | None
    month: date
    amount: object  # Decimal, or the unparsed text while the entity's currency is unknown


def _lookup(by_code: dict, text: str):
    """Exact code, else case-insensitively when that names one row."""
    if text in by_code:
        return text, by_code[text]
    hits = [(code, value) for code, value in by_code.items() if code.upper() == text.upper()]
    return hits[0] if len(hits) == 1 else (None, None)


def _parse_period(text: str) -> date | str:
    """The month `text` names (YYYY-MM, or a date of it: a spreadsheet's date cell), inside the
    date window; else why not. A date that does not exist (2030-02-30) names no month."""
    match = _PERIOD.fullmatch(text)
    if not text:
        return "period is empty."
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) == 0:
        return f"period “{text}” is not a month like 2026-01 (YYYY-MM)."
    year, month = int(match[1]), int(match[2])
    if match[3] is not None:
        days = calendar.monthrange(year, month)[1]
        if not 1 <= int(match[3]) <= days:
            return f"period “{text}” is not a date: {year:04d}-{month:02d} has {days} days."
    first = date(year, month, 1)
    return bounds.month_problem(first, month_end(first), text=f"“{text}”", what="period") or first


def _check_account(accounts: dict, text: str) -> tuple[tuple | None, str]:
    """(account, "") or (None, why this text names no budgetable account)."""
    code, account = _lookup(accounts, text)
    if account is None:
        return None, "account is empty." if not text else f"unknown account “{text}”."
    if account[1] not in BUDGET_ACCOUNT_TYPES:
        article = "a" if account[1] == "liability" else "an"
        return None, f"account {code} is {article} {account[1]} account: budgets hold revenue and expense accounts."
    if not account[2]:
        return None, f"account {code} is inactive."
    return account, ""


def _check_cost_center(cost_centers: dict, text: str) -> tuple[tuple | None, str]:
    code, cc = _lookup(cost_centers, text)
    if cc is None:
        return None, f"unknown cost center “{text}”."
    if not cc[1]:
        return None, f"cost center {code} is inactive."
    return cc, ""


def _read(data: bytes, filename: str, budget: Budget | None,
          progress: Progress | None = None) -> tuple[list[_Row], list[RowError], int]:
    """Check every row (no writes). Returns (rows, errors, number of data rows)."""
    entities = {code: (pk, str(cur), active) for pk, code, cur, active in
                Entity.objects.values_list("id", "code", "functional_currency", "active")}
    accounts = {code: (pk, kind, active) for pk, code, kind, active in
                Account.objects.values_list("id", "code", "type", "active")}
    cost_centers = {code: (pk, active) for pk, code, active in CostCenter.objects.values_list("id", "code", "active")}
    rows_in, total = file_rows(data, filename)
    first = next(rows_in, None)
    if first is None:
        raise FileProblem("The file is empty.")
    if first[0] != 1 or not any(str(c).strip() for c in first[1]):
        raise FileProblem(f"The first line must be the header. {HEADER_HINT}", 1)
    columns = header_read(first[1], known=COLUMNS, required=REQUIRED, hint=HEADER_HINT)
    width = len(first[1])
    errors: list[RowError] = []
    rows: list[_Row] = []
    count = 0
    budget_entity = (budget.entity_id, budget.entity.code) if budget else None
    first_entity_line = None
    positions = [columns.get(name) for name in COLUMNS]
    # A file names the same few codes and months over and over: each distinct text is looked up once.
    account_checks: dict[str, tuple] = {}
    cc_checks: dict[str, tuple] = {}
    periods: dict[str, date | str] = {}
    for line, values in rows_in:
        if not any(str(v).strip() for v in values):
            continue  # blank lines (and the trailing empty rows spreadsheets keep) are not rows
        count += 1
        if progress is not None and count % _progress.PROGRESS_EVERY == 0:
            progress(count, max(total - 1, count), "check")
        if len(values) > width and any(str(v).strip() for v in values[width:]):
            errors.append(RowError(line, f"This line has {len(values)} values but the header has {width} columns: "
                                         "quote values that contain commas (e.g. \"1,234.56\")."))
            continue
        size = len(values)
        entity_text, account_text, cc_text, period_text, amount_text = (
            str(values[i]).strip() if i is not None and i < size else "" for i in positions)

        problems: list[str] = []
        code, entity = _lookup(entities, entity_text)
        if entity is None:
            problems.append("entity is empty." if not entity_text else f"unknown entity “{entity_text}”.")
        elif not entity[2]:
            problems.append(f"entity {code} is inactive.")
        elif budget_entity is None:
            budget_entity, first_entity_line = (entity[0], code), line
        elif entity[0] != budget_entity[0]:
            where = (f"budget “{budget.name}” belongs to entity {budget_entity[1]}" if budget else
                     f"line {first_entity_line} names entity {budget_entity[1]}")
            problems.append(f"entity {code}: {where}, and a budget belongs to one entity.")
        if account_text not in account_checks:
            account_checks[account_text] = _check_account(accounts, account_text)
        account, problem = account_checks[account_text]
        if problem:
            problems.append(problem)
        cc = None
        if cc_text:
            if cc_text not in cc_checks:
                cc_checks[cc_text] = _check_cost_center(cost_centers, cc_text)
            cc, problem = cc_checks[cc_text]
            if problem:
                problems.append(problem)
        if period_text not in periods:
            periods[period_text] = _parse_period(period_text)
        month = periods[period_text]
        if isinstance(month, str):
            problems.append(month)
        currency = entity[1] if entity else None
        amount: object = amount_text
        if not amount_text:
            problems.append("amount is empty.")
        elif currency:
            parsed = parse_amount(amount_text, minor_units(currency))
            if parsed is None:
                problems.append(f"amount “{amount_text}” has more decimals than {currency} allows "
                                f"({minor_units(currency)}).")
            elif isinstance(parsed, str):
                problems.append(f"amount “{amount_text}” {parsed}.")
            else:
                amount = parsed
        elif isinstance(parse_amount(amount_text, 4), str):
            problems.append(f"amount “{amount_text}” {NUMBER_HINT}.")
        if problems:
            errors.append(RowError(line, " ".join(p[0].upper() + p[1:] for p in problems)))
            continue
        rows.append(_Row(line, (entity[0], code), account[0], account[1], cc[0] if cc else None, month, amount))
    return rows, errors, count


def _check_budget(rows: list[_Row], tenant, budget: Budget | None) -> tuple[int | None, list[RowError]]:
    """The fiscal year every row must fall in, and the rows outside it or repeated."""
    errors: list[RowError] = []
    start_month = tenant.fiscal_year_start_month
    fiscal_year = budget.fiscal_year if budget else (
        fiscal_year_label(start_month=start_month, d=rows[0].month) if rows else None)
    seen: dict[tuple, int] = {}
    for row in rows:
        year = fiscal_year_label(start_month=start_month, d=row.month)
        if year != fiscal_year:
            whose = f"budget “{budget.name}”" if budget else f"this budget (from line {rows[0].line})"
            errors.append(RowError(row.line, f"Period {row.month:%Y-%m} is in FY{year}, outside FY{fiscal_year} of "
                                             f"{whose}."))
            continue
        key = (row.account_id, row.cost_center_id, row.month)
        if key in seen:
            errors.append(RowError(row.line, f"The same account, cost center and period as line {seen[key]}: "
                                             "each cell once."))
            continue
        seen[key] = row.line
    return fiscal_year, errors


def _summary(*, version: BudgetVersion, rows: list[_Row], count: int, lines: LinesResult, filename: str,
                   data: bytes) -> dict:
    """What the audit row of an import says: the file (name, sha256), its rows, the cells it
    wrote and the file's totals per account type (natural sign, the budget's currency)."""
    currency = str(version.budget.entity.functional_currency)
    places = minor_units(currency)
    totals = {str(kind): Decimal(0) for kind in sorted(BUDGET_ACCOUNT_TYPES)}
    for row in rows:
        totals[row.account_type] += row.amount
    return {"filename": filename[:255], "sha256": hashlib.sha256(data).hexdigest(), "rows": count,
            "cells_written": lines.created + lines.updated, "created": lines.created, "updated": lines.updated,
            "unchanged": lines.unchanged, "currency": currency,
            "totals": {kind: f"{total:.{places}f}" for kind, total in totals.items()},
            "budget": version.budget.name, "version": version.number}


def budget_import(*, tenant, actor, data: bytes, filename: str, budget_name: str,
                  progress: Progress | None = None) -> BudgetImportResult:
    """Import budget cells into the budget named `budget_name` (created if missing), all or
    nothing. Row problems do not raise: they are in `result.errors`, and then nothing is written.
    `progress(done, total, "check")` hears of the rows checked (a job's page polls it)."""
    name = (budget_name or "").strip()
    if not name:
        return BudgetImportResult(errors=[RowError(None, "Name the budget to import into.")])
    with tenant_context(tenant):
        budget = Budget.objects.select_related("entity").filter(name__iexact=name).first()
        try:
            rows, errors, count = _read(data, filename, budget, progress)
        except FileProblem as problem:
            return BudgetImportResult(budget=budget, errors=[problem.error])
        fiscal_year, more = _check_budget(rows, tenant, budget)
        errors = sorted([*errors, *more], key=lambda e: e.line or 0)
        if not errors and not rows:
            errors = [RowError(None, "The file has a header but no rows.")]
        if errors:
            return BudgetImportResult(budget=budget, rows=count, errors=errors)
        try:
            with transaction.atomic():
                created = budget is None
                if created:
                    budget = budget_create(tenant=tenant, actor=actor, entity=rows[0].entity[0],
                                           fiscal_year=fiscal_year, name=name)
                newest = BudgetVersion.objects.filter(budget=budget).order_by("-number").first()
                version = version_for_update(newest)
                version_require_editable(version)
                periods = dict(Period.objects.filter(fiscal_year=fiscal_year).values_list("start", "id"))
                cells = [(r.account_id, r.cost_center_id, periods[r.month], r.amount) for r in rows]
                lines = budget_cells_write_checked(tenant=tenant, version=version, cells=cells)
                if lines.changed:  # one summary row, not every cell (see the module docstring)
                    audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_IMPORT, obj=version,
                                 object_repr=f"{version.budget.name} v{version.number}", before=None,
                                 after=_summary(version=version, rows=rows, count=count, lines=lines,
                                                filename=filename, data=data))
        except DomainError as exc:
            return BudgetImportResult(budget=None if created else budget, rows=count,
                                      errors=[RowError(None, m) for m in (exc.errors or [exc.message])])
        return BudgetImportResult(budget=budget, version=version, budget_created=created, rows=count, lines=lines)
