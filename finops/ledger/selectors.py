"""Reads of the ledger for pages, exports and drill-downs.

The journal is read in *keyset* order — (date, entry, line) newest first — never with OFFSET or
a COUNT(*) of the whole ledger: a page is "the 50 lines after this cursor", which the index
(tenant, date DESC, entry DESC) answers in the same time on page 1 and page 10,000, and which
stays put when new entries are posted meanwhile (a cursor names a line, not a position).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThanOrEqual,
    TupleLessThanOrEqual,
)

from finops.errors import found
from finops.tenancy.context import tenant_context

from .actuals import is_credit_natured
from .models import (
    Account,
    AccountType,
    CostCenter,
    Entity,
    FxRate,
    JournalEntry,
    JournalLine,
    Period,
    PeriodBalance,
    Source,
)
from .money import quantum

JOURNAL_PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000


# --- the journal ----------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalFilters:
    period: Period | None = None
    account: Account | None = None
    cost_center: CostCenter | None = None
    entity: Entity | None = None
    source: str = ""
    q: str = ""
    period_from: date | None = None  # first day of the first month shown (inclusive)
    period_to: date | None = None  # any day of the last month shown (inclusive)


@dataclass(frozen=True)
class Cursor:
    """A position in the journal: the line (date, entry id, line number) a page starts after.
    `older`: the page holds lines older than it; otherwise lines newer than it."""

    date: date
    entry_id: int
    line_no: int
    older: bool = True

    def token(self) -> str:
        return f"{self.date.isoformat()}.{self.entry_id}.{self.line_no}"

    @classmethod
    def parse(cls, token: str | None, *, older: bool) -> Cursor | None:
        """None for anything that is not a well-formed cursor (a hand-edited URL shows page 1)."""
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.(\d{1,18})\.(\d{1,5})", (token or "").strip())
        if not match:
            return None
        try:
            return cls(date.fromisoformat(match[1]), int(match[2]), int(match[3]), older=older)
        except ValueError:
            return None

    @classmethod
    def of(cls, line: JournalLine, *, older: bool) -> Cursor:
        return cls(line.date, line.entry_id, line.line_no, older=older)


@dataclass
class JournalPage:
    lines: list[JournalLine]
    older: Cursor | None = None  # link to the next page down (older lines), if any
    newer: Cursor | None = None  # link to the page above (newer lines), if any


def _filtered_lines(filters: JournalFilters) -> QuerySet[JournalLine]:
    qs = JournalLine.objects.all()
    if filters.period is not None:
        # The date range lets the (tenant, date, entry) index do the work; period_id pins it.
        qs = qs.filter(period=filters.period, date__gte=filters.period.start, date__lte=filters.period.end)
    if filters.period_from is not None:  # periods are calendar months: a date range is a period range
        qs = qs.filter(date__gte=filters.period_from.replace(day=1))
    if filters.period_to is not None:
        month_end = filters.period_to.replace(day=calendar.monthrange(filters.period_to.year, filters.period_to.month)[1])
        qs = qs.filter(date__lte=month_end)
    if filters.account is not None:
        qs = qs.filter(account=filters.account)
    if filters.cost_center is not None:
        qs = qs.filter(cost_center=filters.cost_center)
    if filters.entity is not None:
        qs = qs.filter(entity=filters.entity)
    if filters.source:
        qs = qs.filter(entry__source=filters.source)
    if q := filters.q.strip():
        # Entries matching on memo or reference are found first (one pass over the entries),
        # then their lines; a join here makes the planner walk every line through the entry.
        matching_entries = JournalEntry.objects.filter(Q(memo__icontains=q) | Q(reference__icontains=q)).values("id")
        text = Q(memo__icontains=q) | Q(entry_id__in=matching_entries)
        if number := re.fullmatch(r"(?i)(?:JE-?)?(\d{1,18})", q):
            text |= Q(entry_id=int(number[1]))
        qs = qs.filter(text)
    return qs


def journal_lines(*, tenant, filters: JournalFilters, cursor: Cursor | None = None,
                  limit: int = JOURNAL_PAGE_SIZE) -> JournalPage:
    """One page of journal lines, newest first (lines of an entry in their own order), with
    the cursors of the pages around it. One query (two when paging back reaches the top)."""
    with tenant_context(tenant):
        qs = _filtered_lines(filters).select_related("entry", "account", "cost_center", "entity")
        key = Tuple("date", "entry_id")
        if cursor is None or cursor.older:
            if cursor is not None:
                # (date, entry) ≤ the cursor's, minus the cursor's own entry's lines up to it.
                qs = qs.filter(TupleLessThanOrEqual(key, (cursor.date, cursor.entry_id))).exclude(
                    date=cursor.date, entry_id=cursor.entry_id, line_no__lte=cursor.line_no
                )
            rows = list(qs.order_by("-date", "-entry_id", "line_no")[: limit + 1])
            lines = rows[:limit]
            older = Cursor.of(lines[-1], older=True) if len(rows) > limit else None
            newer = Cursor.of(lines[0], older=False) if cursor is not None and lines else None
            return JournalPage(lines, older=older, newer=newer)
        qs = qs.filter(TupleGreaterThanOrEqual(key, (cursor.date, cursor.entry_id))).exclude(
            date=cursor.date, entry_id=cursor.entry_id, line_no__gte=cursor.line_no
        )
        rows = list(qs.order_by("date", "entry_id", "-line_no")[: limit + 1])
        if len(rows) < limit:
            # Back at the top: show a full first page rather than a stub.
            return journal_lines(tenant=tenant, filters=filters, cursor=None, limit=limit)
        lines = rows[:limit][::-1]
        newer = Cursor.of(lines[0], older=False) if len(rows) > limit else None
        older = Cursor.of(lines[-1], older=True) if lines else None
        return JournalPage(lines, older=older, newer=newer)


@dataclass(frozen=True)
class JournalTotal:
    """What the filtered lines add up to, in one functional currency: the figure a person
    reconciles a drilled-down number with."""

    currency: str
    lines: int
    net: Decimal  # debit positive
    natural: Decimal | None  # in the filtered account's natural sign (None without an account filter)


def journal_totals(*, tenant, filters: JournalFilters) -> list[JournalTotal]:
    """Count and net of the lines the filters select, per functional currency; [] when nothing
    narrows the journal (the whole ledger's net is zero and not worth a scan). Filters the
    rollup can answer (entity, account, cost center, months) are read from the period balances,
    so even a year of a large ledger costs a few hundred rows; a text or source filter sums the
    lines themselves."""
    if not any((filters.period, filters.account, filters.cost_center, filters.entity, filters.source,
                filters.q.strip(), filters.period_from, filters.period_to)):
        return []
    with tenant_context(tenant):
        if filters.source or filters.q.strip():
            rows = (_filtered_lines(filters).values("entity__functional_currency")
                    .annotate(n=Count("id"), net=Sum("amount")).order_by("entity__functional_currency"))
            found = [(r["entity__functional_currency"], r["n"], r["net"]) for r in rows]
        else:
            qs = PeriodBalance.objects.all()
            if filters.period is not None:
                qs = qs.filter(period=filters.period)
            if filters.period_from is not None:
                qs = qs.filter(period__start__gte=filters.period_from.replace(day=1))
            if filters.period_to is not None:
                qs = qs.filter(period__start__lte=filters.period_to.replace(day=1))
            for name in ("account", "cost_center", "entity"):
                if (value := getattr(filters, name)) is not None:
                    qs = qs.filter(**{name: value})
            currencies = dict(Entity.objects.values_list("pk", "functional_currency"))
            totals: dict[str, list] = {}
            for entity_id, n, net in qs.values_list("entity_id").annotate(n=Sum("line_count"), net=Sum("amount")):
                total = totals.setdefault(currencies[entity_id], [0, Decimal(0)])
                total[0] += n
                total[1] += net
            found = [(currency, n, net) for currency, (n, net) in sorted(totals.items()) if n]
    credit_natured = filters.account is not None and is_credit_natured(filters.account.type)
    result = []
    for currency, n, net in found:
        net = net.quantize(quantum(currency))  # sums of amounts already in minor units: exact
        result.append(JournalTotal(currency, n, net,
                                   (-net if credit_natured else net) if filters.account is not None else None))
    return result


@dataclass(frozen=True)
class ExportLine:
    """One journal line as the export shows it: debit and credit apart (as on the page), in the
    entity's functional currency (`currency`); the transaction amount in its own currency."""

    date: date
    entry_id: int
    line_no: int
    entity: str
    account: str
    account_name: str
    cost_center: str
    memo: str  # the line's memo, or else the entry's (as on the page)
    reference: str
    debit: Decimal | None
    credit: Decimal | None
    currency: str
    txn_amount: Decimal
    txn_currency: str
    rate: Decimal
    source: str  # as people read it: "Revenue recognition"
    period: date  # the first day of the line's period


@dataclass(frozen=True)
class ExportTotal:
    """The debits and credits of the exported lines in one functional currency."""

    currency: str
    lines: int
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class JournalExport:
    lines: list[ExportLine]
    truncated: bool  # more lines matched than the cap let into the file
    totals: list[ExportTotal]  # per functional currency (never one sum of several), of `lines`


def journal_lines_export(*, tenant, filters: JournalFilters, cap: int = EXPORT_MAX_ROWS) -> JournalExport:
    """The filtered lines as export rows (newest first), at most `cap` of them, whether more
    existed, and their debits and credits per functional currency. The totals are of the lines
    in the file (the first `cap` when truncated), so the file adds up to itself; they are summed
    from the fetched Decimals, already in minor units, hence exact."""
    sources = dict(Source.choices)
    with tenant_context(tenant):
        qs = _filtered_lines(filters).order_by("-date", "-entry_id", "line_no").values_list(
            "date", "entry_id", "line_no", "entity__code", "account__code", "account__name",
            "cost_center__code", "memo", "entry__memo", "entry__reference", "amount",
            "entity__functional_currency", "txn_amount", "txn_currency", "rate", "entry__source",
            "period__start",
        )
        raw = list(qs[: cap + 1])
    lines, sums = [], {}
    for (d, entry_id, line_no, entity, acct, acct_name, cc, memo, entry_memo, ref, amount, currency,
         txn_amount, txn_currency, rate, source, period_start) in raw[:cap]:
        debit, credit = (amount, None) if amount > 0 else (None, -amount if amount < 0 else None)
        lines.append(ExportLine(d, entry_id, line_no, entity, acct, acct_name, cc or "", memo or entry_memo, ref,
                                debit, credit, currency, txn_amount, txn_currency, rate,
                                sources.get(source, source), period_start))
        total = sums.setdefault(currency, [0, Decimal(0), Decimal(0)])
        total[0] += 1
        total[1] += debit or 0
        total[2] += credit or 0
    totals = [ExportTotal(c, n, debit.quantize(quantum(c)), credit.quantize(quantum(c)))
              for c, (n, debit, credit) in sorted(sums.items())]
    return JournalExport(lines, len(raw) > cap, totals)


def entry_get(*, tenant, pk: int) -> JournalEntry | None:
    """An entry with everything its page shows (lines, accounts, the entries it reverses or
    that reverse it), or None when it does not exist in this tenant."""
    with tenant_context(tenant):
        entry = (
            JournalEntry.objects.select_related("entity", "period", "created_by", "reverses", "reversed_by")
            .filter(pk=pk)
            .first()
        )
        if entry is not None:
            lines = list(entry.lines.select_related("account", "cost_center").order_by("line_no"))
            for line in lines:
                line.rate_display = plain_decimal(line.rate)
            entry.line_list = lines
            entry.debit_total = sum((line.amount for line in lines if line.amount > 0), Decimal(0))
            entry.credit_total = -sum((line.amount for line in lines if line.amount < 0), Decimal(0))
            # Foreign: some line was stated in a currency other than the entity's own.
            entry.is_foreign = any(line.txn_currency != entry.entity.functional_currency for line in lines)
            entry.reversal = entry.reversed_by if _has_reversal(entry) else None
        return entry


def _has_reversal(entry: JournalEntry) -> bool:
    try:
        entry.reversed_by  # noqa: B018 - select_related filled it (or knows it is missing)
    except JournalEntry.DoesNotExist:
        return False
    return True


# --- master data ----------------------------------------------------------------------------

@dataclass
class TreeNode:
    obj: Any
    depth: int
    children: list[TreeNode] = field(default_factory=list)


def _as_tree(items: Iterable) -> list[TreeNode]:
    """Depth-first order (children by code under their parent), each with its depth. Rows whose
    parent is missing (or a cycle) are shown at the top level rather than lost."""
    items = sorted(items, key=lambda o: o.code)
    by_parent: dict[int | None, list] = {}
    ids = {o.pk for o in items}
    for o in items:
        by_parent.setdefault(o.parent_id if o.parent_id in ids else None, []).append(o)
    out: list[TreeNode] = []
    seen: set[int] = set()

    def walk(parent_id, depth):
        for o in by_parent.get(parent_id, []):
            if o.pk in seen:
                continue
            seen.add(o.pk)
            out.append(TreeNode(o, depth))
            walk(o.pk, depth + 1)

    walk(None, 0)
    for o in items:  # anything only reachable through a cycle
        if o.pk not in seen:
            seen.add(o.pk)
            out.append(TreeNode(o, 0))
    return out


def account_list(*, tenant, active_only: bool = False) -> list[Account]:
    with tenant_context(tenant):
        qs = Account.objects.order_by("code")
        return list(qs.filter(active=True) if active_only else qs)


def account_tree(*, tenant) -> list[TreeNode]:
    return _as_tree(account_list(tenant=tenant))


def cost_center_list(*, tenant, active_only: bool = False) -> list[CostCenter]:
    with tenant_context(tenant):
        qs = CostCenter.objects.select_related("owner").order_by("code")
        return list(qs.filter(active=True) if active_only else qs)


def cost_center_tree(*, tenant) -> list[TreeNode]:
    return _as_tree(cost_center_list(tenant=tenant))


# The GL import template's example (`import_template_rows`): a month's rent, debited to an
# expense account and paid from cash — the entry a finance team recognises at a glance.
TEMPLATE_RENT = Decimal("1200.00")
TEMPLATE_FALLBACK = ("6510", "1010")  # the demo chart's Rent and Operating cash, for a chart not set up yet


def _posting_code(qs, *words: str, any_if_none: bool = False) -> str | None:
    """The lowest code among the posting accounts (active, without children) of `qs` whose name has
    one of `words`, tried in order; with `any_if_none`, else the lowest code of them all."""
    qs = qs.filter(active=True, children__isnull=True).order_by("code").values_list("code", flat=True)
    for word in words:
        if code := qs.filter(name__icontains=word).first():
            return code
    return qs.first() if any_if_none else None


def import_template_rows(*, tenant, day: date) -> list[tuple]:
    """Two rows of the GL import template, in its columns: rent debited to an expense account (one
    named rent when the chart has it), credited to cash or bank (else accrued expenses or payables).
    The organisation's own codes; the demo chart's when it has none yet. The rows balance."""
    with tenant_context(tenant):
        entity = Entity.objects.filter(active=True).order_by("code").values_list("code", flat=True).first()
        cost_center = CostCenter.objects.filter(active=True).order_by("code").values_list("code", flat=True).first()
        expense = _posting_code(Account.objects.filter(type=AccountType.EXPENSE), "rent", "facilit", any_if_none=True)
        funding = (_posting_code(Account.objects.filter(type=AccountType.ASSET), "cash", "bank")
                   or _posting_code(Account.objects.filter(type=AccountType.LIABILITY), "accrued", "payable"))
    debit, credit = expense or TEMPLATE_FALLBACK[0], funding or TEMPLATE_FALLBACK[1]
    memo = f"Office rent {day:%B %Y}"
    return [(day, "RENT-0001", entity or "US", debit, cost_center or "", TEMPLATE_RENT, "", memo),
            (day, "RENT-0001", entity or "US", credit, "", -TEMPLATE_RENT, "", memo)]


def entity_list(*, tenant) -> list[Entity]:
    with tenant_context(tenant):
        return list(Entity.objects.order_by("code"))


@dataclass
class FiscalYear:
    label: int
    periods: list[Period]

    @property
    def closed_count(self) -> int:
        return sum(1 for p in self.periods if p.is_closed)


def fiscal_years(*, tenant) -> list[FiscalYear]:
    """Fiscal years, latest first, each with its periods in order."""
    with tenant_context(tenant):
        periods = list(Period.objects.select_related("status_changed_by").order_by("-fiscal_year", "number"))
    years: dict[int, FiscalYear] = {}
    for p in periods:
        years.setdefault(p.fiscal_year, FiscalYear(p.fiscal_year, [])).periods.append(p)
    return list(years.values())


def fx_rate_list(*, tenant, month: date | None = None, from_currency: str = "", to_currency: str = "",
                 kind: str = "", limit: int = 500) -> list[FxRate]:
    with tenant_context(tenant):
        qs = FxRate.objects.order_by("-date", "from_currency", "to_currency", "kind")
        if month is not None:
            qs = qs.filter(date__year=month.year, date__month=month.month)
        if from_currency:
            qs = qs.filter(from_currency=from_currency.upper())
        if to_currency:
            qs = qs.filter(to_currency=to_currency.upper())
        if kind:
            qs = qs.filter(kind=kind)
        rates = list(qs[:limit])
    for rate in rates:
        rate.rate_display = plain_decimal(rate.rate)
    return rates


def plain_decimal(value: Decimal) -> str:
    """1.0850000000 → "1.085", 100.0000000000 → "100" (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


# --- one row, or NotFound (missing or another organisation's) ----------------------------------

def access_account(*, tenant, pk) -> Account:
    with tenant_context(tenant):
        return found(Account.objects.select_related("parent").filter(pk=pk).first(), "account")


def access_cost_center(*, tenant, pk) -> CostCenter:
    with tenant_context(tenant):
        return found(CostCenter.objects.select_related("parent", "owner").filter(pk=pk).first(), "cost center")


def access_period(*, tenant, pk) -> Period:
    with tenant_context(tenant):
        return found(Period.objects.filter(pk=pk).first(), "period")


def access_entry(*, tenant, pk) -> JournalEntry:
    with tenant_context(tenant):
        return found(JournalEntry.objects.filter(pk=pk).first(), "journal entry")


def ledger_stamp(*, tenant) -> int:
    """What the ledger has posted so far, as one number that grows with every entry (its newest
    id): the live pages compare it, one index probe, before they re-run anything heavy."""
    with tenant_context(tenant, savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM ledger_journalentry WHERE tenant_id = %s", [tenant.pk])
        return cursor.fetchone()[0]
