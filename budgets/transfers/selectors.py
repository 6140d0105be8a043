"""Reads of reallocation: each line's funds (original, transfers in and out, effective, actual,
pending, available), the effective amounts, the transfer requests (filtered and counted), and the
lines a transfer may use — searched by what a person types, limited to the kinds the rule allows
(`transfer_partner_types`, the one rule `transfer_request` enforces)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, Count, F, Func, Q, Sum, Value

from finops.errors import DomainError, found
from finops.ledger.actuals import ROLLUP_CELLS_SQL, natural_sign
from finops.ledger.models import CostCenter
from finops.ledger.money import quantum
from finops.tenancy.context import tenant_context

from ..effective import EFFECTIVE_LINES_SQL
from ..models import BudgetLine, BudgetVersion, TransferRequest, TransferStatus
from ..selectors import pk_of

ZERO = Decimal(0)


@dataclass(frozen=True)
class LineFunds:
    """One budget line's money, in natural sign and the budget entity's functional currency."""

    line_id: int
    account_id: int
    account_code: str
    account_name: str
    account_type: str
    cost_center_id: int | None
    cost_center_code: str  # "" when the line has no cost center
    period_id: int
    period: date  # the month's first day
    original: Decimal  # the line's amount as budgeted
    transfers_in: Decimal  # approved
    transfers_out: Decimal  # approved
    pending_out: Decimal  # requested, not yet decided
    actual: Decimal  # ledger, natural sign

    @property
    def effective(self) -> Decimal:
        return self.original + self.transfers_in - self.transfers_out

    @property
    def available(self) -> Decimal:
        return self.effective - self.actual - self.pending_out

    @property
    def label(self) -> str:
        cc = f" / {self.cost_center_code}" if self.cost_center_code else ""
        return f"{self.account_code} {self.account_name}{cc} / {self.period:%Y-%m}"


FUNDS = f"""
    SELECT e.id, e.account_id, a.code, a.name, a.type, e.cost_center_id, coalesce(cc.code, ''), e.period_id, p.start,
           e.original, e.transfers_in, e.transfers_out, e.pending_out, coalesce(pb.amount, 0)
    FROM ({EFFECTIVE_LINES_SQL}) e
    JOIN ledger_account a ON a.tenant_id = e.tenant_id AND a.id = e.account_id
    JOIN ledger_period p ON p.tenant_id = e.tenant_id AND p.id = e.period_id
    LEFT JOIN ledger_costcenter cc ON cc.tenant_id = e.tenant_id AND cc.id = e.cost_center_id
    LEFT JOIN ({ROLLUP_CELLS_SQL.format(filters=" AND pb.entity_id = %(entity)s")}) pb
      ON pb.account_id = e.account_id AND pb.period_id = e.period_id AND pb.cc_key = coalesce(e.cost_center_id, 0)
    WHERE %(lines)s::bigint[] IS NULL OR e.id = ANY(%(lines)s::bigint[])
    ORDER BY cc.code NULLS FIRST, a.code, p.start
"""


def line_funds(*, tenant, version, lines=None) -> list[LineFunds]:
    """Every line of `version` (or only `lines`) with original, transfers, actual and available."""
    with tenant_context(tenant) as tenant_id:
        found = BudgetVersion.objects.select_related("budget").filter(pk=pk_of(version)).first()
        if found is None:
            raise DomainError("This budget version does not exist.")
        ids = None if lines is None else [pk_of(line) for line in lines]
        with connection.cursor() as cursor:
            cursor.execute(FUNDS, {"tenant": tenant_id, "version": found.pk, "entity": found.budget.entity_id,
                                   "lines": ids})
            rows = cursor.fetchall()
    return [LineFunds(*row[:13], actual=natural_sign(row[4], row[13])) for row in rows]


# --- the lines a transfer may use ------------------------------------------------------------------

SEARCH_LIMIT = 20  # lines a picker offers at a time: type more to narrow


def transfer_partner_types(account_type: str) -> frozenset[str]:
    """The account types a line of `account_type` may give money to or take it from: its own.
    Expense moves to expense and revenue to revenue; moving an expense budget into a revenue
    target would change what the plan earns, not where it spends."""
    return frozenset({account_type})


def _words(text: str) -> list[str]:
    """What was typed, as words to match; the label's separators ("/", "·") are not words."""
    return [w for w in (text or "").replace("/", " ").replace("·", " ").split() if w.strip("-")]


def transfer_line_search(*, tenant, version, text: str = "", types=None, exclude=None,
                         limit: int = SEARCH_LIMIT) -> list[LineFunds]:
    """Lines of `version` whose label holds every word of `text` (account code or name, cost
    center code, month "2026-03"), of the account `types` only when given, without `exclude` (a
    line or id), at most `limit`, in the funds' order. Only the tenant's lines: RLS and the
    version's tenant both say so."""
    with tenant_context(tenant):
        found = BudgetVersion.objects.filter(pk=pk_of(version)).first()
        if found is None:
            raise DomainError("This budget version does not exist.")
        month = Func(F("period__start"), Value("YYYY-MM"), function="to_char", output_field=CharField())
        qs = BudgetLine.objects.filter(version=found).annotate(month=month)
        if types is not None:
            qs = qs.filter(account__type__in=list(types))
        if exclude is not None:
            qs = qs.exclude(pk=pk_of(exclude))
        for word in _words(text):
            qs = qs.filter(Q(account__code__istartswith=word) | Q(account__name__icontains=word)
                           | Q(cost_center__code__icontains=word) | Q(month__startswith=word))
        ids = list(qs.order_by(F("cost_center__code").asc(nulls_first=True), "account__code", "period__start")
                   .values_list("id", flat=True)[:limit])
    return line_funds(tenant=tenant, version=found, lines=ids) if ids else []


def transfer_line_pick(*, tenant, version, text: str, types=None, exclude=None, what: str = "line") -> LineFunds:
    """The one line `text` names: its exact label (what a picker fills in), else the only line
    whose label holds every word typed. Of `types` when one is, else of any kind (so that the
    service can say why another kind is refused). DomainError with what to do otherwise."""
    text = (text or "").strip()
    if not _words(text):
        raise DomainError(f"Pick the {what}: type part of its account, cost center or month and choose it.")
    for kinds in ([types, None] if types is not None else [None]):
        matches = transfer_line_search(tenant=tenant, version=version, text=text, types=kinds, exclude=exclude,
                                       limit=SEARCH_LIMIT + 1)
        exact = [f for f in matches if f.label.casefold() == text.casefold()]
        if exact or len(matches) == 1:
            return (exact or matches)[0]
        if matches:
            many = f"{SEARCH_LIMIT}+" if len(matches) > SEARCH_LIMIT else str(len(matches))
            raise DomainError(f"“{text}” matches {many} lines of this version: type more of it, or choose one "
                              "from the list.")
    raise DomainError(f"No line of this version matches “{text}”.")


def transfer_destinations(*, tenant, version, source_text: str, text: str = "") -> list[LineFunds]:
    """What a To-line picker offers for `text`: once `source_text` names one line, only the other
    lines of the kinds the rule allows for it (`transfer_partner_types`); before, any line."""
    try:
        source = transfer_line_pick(tenant=tenant, version=version, text=source_text)
    except DomainError:
        return transfer_line_search(tenant=tenant, version=version, text=text)
    return transfer_line_search(tenant=tenant, version=version, text=text, exclude=source.line_id,
                                types=transfer_partner_types(source.account_type))


@dataclass(frozen=True)
class AccountGroup:
    """The lines of one account (every cost center and month), for a page that groups them."""

    account_code: str
    account_name: str
    account_type: str
    lines: list[LineFunds]

    @property
    def effective(self) -> Decimal:
        return sum((f.effective for f in self.lines), ZERO)

    @property
    def available(self) -> Decimal:
        return sum((f.available for f in self.lines), ZERO)


def funds_by_account(funds: list[LineFunds]) -> list[AccountGroup]:
    """`funds` grouped by account (by code), each group's lines by cost center and month."""
    groups: dict[str, list[LineFunds]] = {}
    for f in sorted(funds, key=lambda f: (f.account_code, f.cost_center_code, f.period)):
        groups.setdefault(f.account_code, []).append(f)
    return [AccountGroup(lines[0].account_code, lines[0].account_name, lines[0].account_type, lines)
            for lines in groups.values()]


@dataclass(frozen=True)
class EffectiveAmount:
    original: Decimal
    transfers_in: Decimal
    transfers_out: Decimal

    @property
    def effective(self) -> Decimal:
        return self.original + self.transfers_in - self.transfers_out


def effective_amounts(*, tenant, version) -> dict[int, EffectiveAmount]:
    """Per line id: the original amount, approved transfers in and out, and the effective amount
    (original + in − out). The lines' stored amounts stay the originals."""
    return {f.line_id: EffectiveAmount(f.original, f.transfers_in, f.transfers_out)
            for f in line_funds(tenant=tenant, version=version)}


@dataclass(frozen=True)
class TransferFilters:
    """What the transfer list is narrowed to; empty fields do not narrow. Ids, not objects."""

    status: str = ""
    version: int | None = None
    cost_center: int | None = None  # the source's or the destination's, or one below it in the tree
    requested_by: int | None = None  # a user id
    requested_from: date | None = None  # inclusive, in the display time zone
    requested_to: date | None = None  # inclusive


def _subtree(cost_center_id: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in CostCenter.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = set(), [cost_center_id]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo += children.get(pk, [])
    return found


def transfer_list(*, tenant, filters: TransferFilters | None = None, status: str | None = None, version=None):
    """Transfer requests, newest first, with their lines and people. One query however many
    rows. Evaluate inside `tenant_context`."""
    filters = filters or TransferFilters(status=status or "", version=pk_of(version))
    qs = TransferRequest.objects.select_related(
        "version__budget__entity", "source__account", "source__cost_center", "source__period",
        "destination__account", "destination__cost_center", "destination__period", "requested_by", "decided_by")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.version is not None:
        qs = qs.filter(version_id=filters.version)
    if filters.cost_center is not None:
        subtree = _subtree(filters.cost_center)
        qs = qs.filter(Q(source__cost_center_id__in=subtree) | Q(destination__cost_center_id__in=subtree))
    if filters.requested_by is not None:
        qs = qs.filter(requested_by_id=filters.requested_by)
    if filters.requested_from is not None:
        qs = qs.filter(requested_at__date__gte=filters.requested_from)
    if filters.requested_to is not None:
        qs = qs.filter(requested_at__date__lte=filters.requested_to)
    return qs.order_by("-requested_at", "-id")


@dataclass(frozen=True)
class TransferTotal:
    """The requests under some filters in one currency (the budget entity's): how many, and the
    amount they ask to move."""

    currency: str
    requests: int
    amount: Decimal


def transfer_totals(*, tenant, filters: TransferFilters) -> list[TransferTotal]:
    """Per functional currency (budgets of entities in different currencies are never added up),
    the count and amount of the requests `transfer_list` gives for `filters`."""
    with tenant_context(tenant):
        rows = (transfer_list(tenant=tenant, filters=filters).order_by()
                .values_list("version__budget__entity__functional_currency")
                .annotate(n=Count("id"), amount=Sum("amount"))
                .order_by("version__budget__entity__functional_currency"))
        return [TransferTotal(str(currency), n, amount.quantize(quantum(str(currency)))) for currency, n, amount in rows]


def transfer_status_counts(*, tenant, filters: TransferFilters) -> dict[str, int]:
    """{status: number of requests} under every filter but the status one (each status, 0 included)."""
    with tenant_context(tenant):
        qs = transfer_list(tenant=tenant, filters=replace(filters, status=""))
        found = dict(qs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {value: found.get(value, 0) for value in TransferStatus.values}


def version_transfer_counts(*, tenant, version) -> dict[str, int]:
    """How many transfer requests the version has, by status (only statuses that have some)."""
    with tenant_context(tenant):
        return dict(TransferRequest.objects.filter(version_id=getattr(version, "pk", version))
                    .values_list("status").annotate(n=Count("id")).order_by())


def access_transfer(*, tenant, pk) -> TransferRequest:
    """The transfer request, or NotFound."""
    with tenant_context(tenant):
        return found(TransferRequest.objects.filter(pk=pk).first(), "transfer request")
