"""Writing a version's cells: setting amounts (checked all together, written in one upsert) and
spreading a row's annual amount over its months (even, by a profile, by last year's pattern,
last year's actuals ± %, or filling right). Only an editable (draft or rejected) version takes
cells; each write is audited with the values before and after."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import connection

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.db import analyze_on_commit
from finops.errors import DomainError
from finops.ledger.actuals import actuals
from finops.ledger.models import (
    Account,
    AccountType,
    CostCenter,
    Period,
)
from finops.ledger.money import minor_units
from finops.ledger.periods import add_months, fiscal_year_first_month
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .. import phasing
from ..models import (
    Budget,
    BudgetLine,
    BudgetVersion,
)
from ..selectors import budget_periods, pk_of
from .budgets import BUDGET_ACCOUNT_TYPES
from .versions import version_for_update, version_require_editable


@dataclass(frozen=True)
class Cell:
    """One budget cell: account × cost center (None: none) × period, amount in natural sign in
    the entity's functional currency; amount None removes the cell. Models or ids."""

    account: object
    cost_center: object
    period: object
    amount: Decimal | None


@dataclass
class LinesResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    note: str = ""  # e.g. "spread evenly: last year has no positive actuals"

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


def _amount(value, currency: str) -> Decimal | str:
    """A Decimal amount, or why it is not one."""
    if value is None:
        return None
    if isinstance(value, float):
        return "is a float: pass amounts as Decimal or text"
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return f"“{value}” is not a number"
    if not amount.is_finite():
        return f"“{value}” is not a number"
    return bounds.amount_problem(amount, places=minor_units(currency), currency=currency) or amount


def _cell_key_label(accounts, cost_centers, periods, key) -> str:
    account_id, cc_id, period_id = key
    cc = cost_centers[cc_id][0] if cc_id else ""
    return f"{accounts[account_id][0]}|{cc}|{periods[period_id]:%Y-%m}"


def budget_cells_check(version: BudgetVersion, cells: Sequence[Cell]):
    """Validate every cell against the tenant's rows; return (rows, lookups) or raise with every problem."""
    budget = version.budget
    currency = str(budget.entity.functional_currency)
    account_ids = {pk_of(c.account) for c in cells}
    cc_ids = {pk_of(c.cost_center) for c in cells} - {None}
    period_ids = {pk_of(c.period) for c in cells}
    accounts = {pk: (code, name, kind, active) for pk, code, name, kind, active in
                Account.objects.filter(pk__in=account_ids).values_list("id", "code", "name", "type", "active")}
    cost_centers = {pk: (code, active) for pk, code, active in
                    CostCenter.objects.filter(pk__in=cc_ids).values_list("id", "code", "active")}
    periods = dict(Period.objects.filter(pk__in=period_ids, fiscal_year=budget.fiscal_year)
                   .values_list("id", "start"))
    errors: list[str] = []
    rows: dict[tuple[int, int | None, int], Decimal | None] = {}
    for cell in cells:
        account_id, cc_id, period_id = pk_of(cell.account), pk_of(cell.cost_center), pk_of(cell.period)
        account = accounts.get(account_id)
        if account is None:
            errors.append(f"Unknown account id {account_id}.")
            continue
        code, name, kind, active = account
        where = f"{code} · {name}"
        if kind not in BUDGET_ACCOUNT_TYPES:
            article = "a" if kind == AccountType.LIABILITY else "an"
            errors.append(f"{where} is {article} {kind} account: budgets hold revenue and expense accounts.")
            continue
        if not active:
            errors.append(f"{where} is inactive.")
            continue
        if cc_id is not None:
            cc = cost_centers.get(cc_id)
            if cc is None:
                errors.append(f"Unknown cost center id {cc_id}.")
                continue
            if not cc[1]:
                errors.append(f"Cost center {cc[0]} is inactive.")
                continue
            where += f" / {cc[0]}"
        if period_id not in periods:
            errors.append(f"{where}: the period is not a month of FY{budget.fiscal_year}.")
            continue
        where += f" / {periods[period_id]:%Y-%m}"
        amount = _amount(cell.amount, currency)
        if isinstance(amount, str):
            errors.append(f"{where}: the amount {amount}.")
            continue
        key = (account_id, cc_id, period_id)
        if key in rows:
            errors.append(f"{where} is given twice.")
            continue
        rows[key] = amount
    if errors:
        raise DomainError(errors[0] if len(errors) == 1 else f"{len(errors)} cells cannot be saved: {errors[0]}",
                          errors=errors)
    return rows, accounts, cost_centers, periods


UPSERT = """
    INSERT INTO budgets_budgetline (tenant_id, version_id, account_id, cost_center_id, period_id, amount)
    SELECT %s, %s, a, c, p, x FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::numeric[]) AS t(a, c, p, x)
    ON CONFLICT (tenant_id, version_id, account_id, cost_center_id, period_id)
    DO UPDATE SET amount = EXCLUDED.amount
"""


def _cells_write(*, tenant, actor, version: BudgetVersion, cells: Sequence[Cell], action: str,
                 audit_extra: dict | None = None) -> LinesResult:
    """Upsert `cells` into a locked, editable version; audit the changed cells before → after."""
    rows, accounts, cost_centers, periods = budget_cells_check(version, cells)
    existing = {(a, c, p): (pk, amount) for pk, a, c, p, amount in
                BudgetLine.objects.filter(version=version, account_id__in={k[0] for k in rows},
                                          period_id__in={k[2] for k in rows})
                .values_list("id", "account_id", "cost_center_id", "period_id", "amount")}
    places = minor_units(str(version.budget.entity.functional_currency))
    result = LinesResult()
    upserts: list[tuple[tuple, Decimal]] = []
    deletes: list[int] = []
    before: dict[str, str] = {}
    after: dict[str, str | None] = {}
    for key, amount in rows.items():
        old = existing.get(key)
        if amount is None:
            if old is None:
                result.unchanged += 1
                continue
            deletes.append(old[0])
            result.deleted += 1
        elif old is not None and old[1] == amount:
            result.unchanged += 1
            continue
        else:
            upserts.append((key, amount))
            if old is None:
                result.created += 1
            else:
                result.updated += 1
        label = _cell_key_label(accounts, cost_centers, periods, key)
        if old is not None:
            before[label] = f"{old[1]:.{places}f}"
        after[label] = None if amount is None else f"{amount:.{places}f}"
    with connection.cursor() as cursor:
        if upserts:
            cursor.execute(UPSERT, [tenant.pk, version.pk, [k[0] for k, _ in upserts], [k[1] for k, _ in upserts],
                                    [k[2] for k, _ in upserts], [a for _, a in upserts]])
        if deletes:
            cursor.execute("DELETE FROM budgets_budgetline WHERE tenant_id = %s AND id = ANY(%s)",
                           [tenant.pk, deletes])
    analyze_on_commit(BudgetLine, rows=len(upserts) + len(deletes))  # a pasted block can be thousands
    if result.changed:
        audit_record(tenant=tenant, actor=actor, action=action, obj=version,
                     object_repr=f"{version.budget.name} v{version.number}",
                     before={"cells": before}, after={"cells": after, **(audit_extra or {})})
    return result


def budget_cells_write_checked(*, tenant, version: BudgetVersion,
                         cells: Sequence[tuple[int, int | None, int, Decimal]]) -> LinesResult:
    """The trusted write for callers that have already checked every cell the way `budget_cells_check`
    does (the budget importer): (account id, cost center id or None, period id, amount) tuples of
    the tenant's active revenue/expense accounts and cost centers, periods of the version's fiscal
    year, each cell once, amounts Decimal within the currency's decimals. No checks and no audit
    here — the caller writes its own audit row — so a file's cells are validated once. The version
    must be locked (`version_for_update`) and editable (`version_require_editable`) in the caller's transaction.
    Cells whose amount is already the one given are not written (a re-import touches no row)."""
    existing = {(a, c, p): amount for a, c, p, amount in BudgetLine.objects.filter(version=version)
                .values_list("account_id", "cost_center_id", "period_id", "amount")}
    result = LinesResult()
    upserts = []
    for cell in cells:
        old = existing.get(cell[:3])
        if old is None:
            result.created += 1
        elif old == cell[3]:
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        upserts.append(cell)
    if upserts:
        with connection.cursor() as cursor:
            cursor.execute(UPSERT, [tenant.pk, version.pk, [c[0] for c in upserts], [c[1] for c in upserts],
                                    [c[2] for c in upserts], [c[3] for c in upserts]])
        analyze_on_commit(BudgetLine, rows=len(upserts))
    return result


@requires(Action.WRITE)
def budget_lines_set(*, tenant, actor, version, cells: Iterable[Cell | tuple]) -> LinesResult:
    """Set cells of a draft or rejected version: (account, cost_center, period, amount) each,
    amount None removing the cell. All or nothing: one bad cell and nothing is saved."""
    cells = [c if isinstance(c, Cell) else Cell(*c) for c in cells]
    with tenant_context(tenant):
        locked = version_for_update(version)
        version_require_editable(locked)
        if not cells:
            return LinesResult()
        return _cells_write(tenant=tenant, actor=actor, version=locked, cells=cells, action=AuditAction.BUDGET_LINES_SET)


def actuals_last_year(*, tenant, budget: Budget, account, cost_center) -> list[Decimal]:
    """The line's actual monthly amounts in the fiscal year before the budget's, in NATURAL sign,
    from the ledger's actuals; 0 where none."""
    first = fiscal_year_first_month(tenant=tenant, fiscal_year=budget.fiscal_year - 1)
    months = [add_months(first, n) for n in range(12)]
    found = actuals(tenant=tenant, entity=budget.entity_id, accounts=[account],
                    cost_centers=[cost_center] if cost_center is not None else None, start=months[0], end=months[-1],
                    group_by=("cost_center", "month"))
    by_month = {row.month: row.amount for row in found.rows if row.cost_center_id == pk_of(cost_center)}
    return [by_month.get(m, Decimal(0)) for m in months]


SPREAD_METHODS = ("even", "profile", "last_year", "copy_last_year", "fill_right")


@requires(Action.WRITE)
def budget_line_spread(*, tenant, actor, version, account, cost_center, method: str,
                       annual: Decimal | None = None, profile: Sequence[Decimal] | None = None,
                       pct: Decimal | None = None, start: int | None = None) -> LinesResult:
    """Fill the 12 months of one row (account × cost center) with a phasing tool:

    - `even`: `annual` in equal months; `profile`: `annual` by 12 percentages summing to 100;
    - `last_year`: `annual` in proportion to last year's actuals (evenly if there are none);
    - `copy_last_year`: last year's actuals changed by `pct` %;
    - `fill_right`: the row's month `start` (1–12) copied into the later months.
    The months sum exactly to the annual amount (see `phasing`).
    """
    if method not in SPREAD_METHODS:
        raise DomainError(f"Unknown spreading method “{method}”.")
    with tenant_context(tenant):
        locked = version_for_update(version)
        version_require_editable(locked)
        budget = locked.budget
        currency = str(budget.entity.functional_currency)
        periods = budget_periods(tenant=tenant, budget=budget)
        note = ""
        if method in ("even", "profile", "last_year"):
            annual = _amount(annual, currency) if annual is not None else "is missing"
            if isinstance(annual, str):
                raise DomainError(f"The annual amount {annual}.")
        if method == "even":
            months = phasing.spread_even(annual, currency=currency)
        elif method == "profile":
            months = phasing.spread_profile(annual, profile=profile or [], currency=currency)
        elif method == "last_year":
            pattern = actuals_last_year(tenant=tenant, budget=budget, account=account, cost_center=cost_center)
            if not phasing.pattern_is_usable(pattern):
                note = f"FY{budget.fiscal_year - 1} has no positive actuals on this line: spread evenly."
            months = phasing.spread_pattern(annual, pattern=pattern, currency=currency)
        elif method == "copy_last_year":
            try:
                pct = Decimal(str(pct if pct is not None else 0))
            except InvalidOperation:
                raise DomainError(f"“{pct}” is not a percentage.") from None
            pattern = actuals_last_year(tenant=tenant, budget=budget, account=account, cost_center=cost_center)
            months = phasing.copy_adjusted(pattern, pct=pct, currency=currency)
        else:
            current = dict(BudgetLine.objects.filter(version=locked, account_id=pk_of(account),
                                                     cost_center_id=pk_of(cost_center))
                           .values_list("period_id", "amount"))
            if not isinstance(start, int) or not 1 <= start <= 12:
                raise DomainError("Fill right starts at a month from 1 to 12.")
            months = phasing.fill_right([current.get(p.pk) for p in periods], start=start - 1)
        cells = [Cell(account, cost_center, period, amount) for period, amount in zip(periods, months, strict=True)]
        result = _cells_write(tenant=tenant, actor=actor, version=locked, cells=cells, action=AuditAction.BUDGET_LINES_SPREAD,
                              audit_extra={"method": method})
        result.note = note
        return result
