"""Reallocation: moving budget between lines of one version, with a request and an approval.

A director (or finance) asks to move an amount from a SOURCE line to a DESTINATION line of the
same version — another month, cost center or account of the same budget, created at 0 when the
budget has no such cell yet. Finance approves or rejects (with a comment); the requester may
cancel while it is pending. Transfers work on approved and locked versions: that is their point,
a budget in force is read-only and reallocation is the controlled way to change what it allows.

Line amounts are never overwritten. The EFFECTIVE amount of a line is its original amount plus
approved transfers in, minus approved transfers out (`effective_amounts`), so the original plan
and every move stay visible.

A source cannot give more than it has AVAILABLE: effective amount − actual (the ledger's period
balance for the line's account, cost center and month, in natural sign) − its pending outgoing
requests. Finance may override that with a reason. Two requests against one source at once
cannot both take the same money: the source line's row is locked (`SELECT … FOR UPDATE`) while
the availability is computed and the request inserted, so the second waits and then sees the
first's pending request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.ledger.actuals import ROLLUP_CELLS_SQL, natural_sign
from finops.ledger.models import CostCenter
from finops.ledger.money import minor_units
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import policy_check, requires

from .effective import EFFECTIVE_LINES_SQL
from .models import FINAL_STATUSES, BudgetLine, BudgetVersion, TransferRequest, TransferStatus
from .selectors import pk_of
from .services import Cell, budget_cells_check, segregation_of_duties_check

ZERO = Decimal(0)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- reads --------------------------------------------------------------------------------------

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


def transfer_status_counts(*, tenant, filters: TransferFilters) -> dict[str, int]:
    """{status: number of requests} under every filter but the status one (each status, 0 included)."""
    with tenant_context(tenant):
        qs = transfer_list(tenant=tenant, filters=replace(filters, status=""))
        found = dict(qs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {value: found.get(value, 0) for value in TransferStatus.values}


# --- writes -------------------------------------------------------------------------------------

def _money(value, currency: str) -> Decimal:
    if isinstance(value, float):
        raise DomainError("Pass the amount as a decimal number, not a float.")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainError(f"“{value}” is not an amount.") from None
    if not amount.is_finite():
        raise DomainError(f"“{value}” is not an amount.")
    if amount <= 0:
        raise DomainError("The amount to move must be above zero.")
    if amount >= bounds.AMOUNT_LIMIT:
        raise DomainError(f"The amount {bounds.TOO_LARGE}.")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise DomainError(f"The amount has more decimals than {currency} allows ({places}).")
    return amount


def _fmt(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.{minor_units(currency)}f}"


def transfer_version_in_force(version) -> BudgetVersion:
    found = BudgetVersion.objects.select_related("budget__entity").filter(pk=pk_of(version)).first()
    if found is None:
        raise DomainError("This budget version does not exist.")
    if found.status not in FINAL_STATUSES:
        raise DomainError(f"{found.budget.name} v{found.number} is {found.status}: transfers move money in an "
                          "approved or locked budget; a version being prepared is edited directly.")
    return found


def _destination_line(*, tenant, version: BudgetVersion, destination) -> BudgetLine:
    """The destination line: a BudgetLine (or id) of the version, or (account, cost_center, period),
    created with amount 0 if the version has no such cell yet."""
    if isinstance(destination, tuple | list):
        account, cost_center, period = destination
        budget_cells_check(version, [Cell(account, cost_center, period, ZERO)])  # same checks as a budget cell
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO budgets_budgetline (tenant_id, version_id, account_id, cost_center_id, period_id, amount) "
                "VALUES (%s, %s, %s, %s, %s, 0) "
                "ON CONFLICT (tenant_id, version_id, account_id, cost_center_id, period_id) DO NOTHING",
                [tenant.pk, version.pk, pk_of(account), pk_of(cost_center), pk_of(period)])
        line = BudgetLine.objects.filter(version=version, account_id=pk_of(account), cost_center_id=pk_of(cost_center),
                                         period_id=pk_of(period)).first()
    else:
        line = BudgetLine.objects.filter(version=version, pk=pk_of(destination)).first()
    if line is None:
        raise DomainError("The destination is not a line of this budget version.")
    return line


def _lock_line(version: BudgetVersion, line) -> BudgetLine:
    # The lock that serialises every change to what this line can give (see module docstring).
    found = BudgetLine.objects.select_for_update().filter(version=version, pk=pk_of(line)).first()
    if found is None:
        raise DomainError("The source is not a line of this budget version.")
    return found


def _funds(tenant, version: BudgetVersion, line: BudgetLine) -> LineFunds:
    return line_funds(tenant=tenant, version=version, lines=[line])[0]


def _plain(amount: Decimal, currency: str) -> str:
    return f"{amount:.{minor_units(currency)}f}"


@requires(Action.REQUEST)
def transfer_request(*, tenant, actor, version, source, destination, amount, reason: str,
                     override_reason: str = "", proposal: int | None = None) -> TransferRequest:
    """Ask to move `amount` from `source` to `destination` (a line of the version, or an
    (account, cost_center, period) cell, created at 0 if missing). Refused when the source has
    less available unless `override_reason` is given (only finance may override: the policy's
    check). Returns the pending request."""
    reason = (reason or "").strip()
    override_reason = (override_reason or "").strip()
    if not reason:
        raise DomainError("Say why the money should move: the reason is what the approver decides on.")
    with tenant_context(tenant):
        found = transfer_version_in_force(version)
        currency = str(found.budget.entity.functional_currency)
        amount = _money(amount, currency)
        target = _destination_line(tenant=tenant, version=found, destination=destination)
        line = _lock_line(found, source)
        if line.pk == target.pk:
            raise DomainError("The source and the destination are the same line: pick another month, cost "
                              "center or account to move the money to.")
        funds = _funds(tenant, found, line)
        target_funds = _funds(tenant, found, target)
        if funds.account_type != target_funds.account_type:
            raise DomainError(f"{funds.label} is {funds.account_type} and {target_funds.label} is "
                              f"{target_funds.account_type}: money moves between lines of the same kind.")
        if amount > funds.available and not override_reason:
            raise DomainError(
                f"{funds.label} has {_fmt(funds.available, currency)} available (budget "
                f"{_fmt(funds.effective, currency)} − actual {_fmt(funds.actual, currency)} − pending transfers "
                f"{_fmt(funds.pending_out, currency)}); {_fmt(amount, currency)} cannot be moved from it.")
        override = amount > funds.available
        if override:  # finance's call: the same rule for a page, the API and a command
            policy_check(tenant=tenant, actor=actor, action=Action.WRITE,
                         doing=f"let a transfer exceed what {funds.label} has available")
        transfer = TransferRequest.objects.create(
            tenant_id=tenant.pk, version=found, source=line, destination=target, amount=amount, reason=reason,
            requested_by=_user(actor), available_at_request=funds.available, override=override,
            override_reason=override_reason if override else "",
            proposal=proposal)
        after = {"status": transfer.status, "amount": _plain(amount, currency), "source": funds.label,
                 "destination": target_funds.label, "reason": reason, "available": _plain(funds.available, currency)}
        if override:
            after["override_reason"] = override_reason
        if proposal is not None:
            after["proposal"] = proposal
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_TRANSFER_REQUEST, obj=transfer,
                     object_repr=f"Transfer #{transfer.pk} in {found.budget.name} v{found.number}",
                     before=None, after=after)
        return transfer


def _lock_transfer(transfer) -> TransferRequest:
    found = (TransferRequest.objects.select_for_update(of=("self",)).select_related("version__budget__entity")
             .filter(pk=pk_of(transfer)).first())
    if found is None:
        raise DomainError("This transfer request does not exist.")
    return found


def _require_pending(transfer: TransferRequest, verb: str) -> None:
    if transfer.status != TransferStatus.REQUESTED:
        raise DomainError(f"Transfer #{transfer.pk} is {transfer.status}: only a pending request can be {verb}.")


def _decide(*, tenant, actor, transfer: TransferRequest, status: str, comment: str, action: str,
            extra: dict | None = None) -> TransferRequest:
    before = {"status": transfer.status}
    transfer.status = status
    transfer.decided_by = _user(actor)
    transfer.decided_at = timezone.now()
    transfer.decision_comment = comment
    fields = ["status", "decided_by", "decided_at", "decision_comment", *(extra or {})]
    for name, value in (extra or {}).items():
        setattr(transfer, name, value)
    transfer.save(update_fields=fields)
    version = transfer.version
    audit_record(tenant=tenant, actor=actor, action=action, obj=transfer,
                 object_repr=f"Transfer #{transfer.pk} in {version.budget.name} v{version.number}",
                 before=before, after={"status": status,
                                       "amount": _plain(transfer.amount, str(version.budget.entity.functional_currency)),
                                       **({"comment": comment} if comment else {}), **(extra or {})})
    return transfer


@requires(Action.WRITE)
def transfer_approve(*, tenant, actor, transfer, comment: str = "", override_reason: str = "") -> TransferRequest:
    """Approve a pending request (finance: the view's check). Not by whoever requested it while
    someone else could approve (segregation of duties, as for budget versions). The source's
    availability is checked again — other requests may have been approved or actuals posted
    since — unless the request was made with an override, or `override_reason` is given now."""
    comment = (comment or "").strip()
    override_reason = (override_reason or "").strip()
    with tenant_context(tenant):
        locked = _lock_transfer(transfer)
        _require_pending(locked, "approved")
        segregation_of_duties_check(tenant=tenant, actor=actor, author_id=locked.requested_by_id,
                                    what=f"transfer #{locked.pk}", verb="requested")
        version = locked.version
        currency = str(version.budget.entity.functional_currency)
        _lock_line(version, locked.source_id)
        funds = _funds(tenant, version, locked.source)
        # This request is among the pending ones: what the source can give it excludes it.
        available = funds.available + locked.amount
        extra: dict = {}
        if locked.amount > available and not locked.override:
            if not override_reason:
                raise DomainError(
                    f"{funds.label} now has {_fmt(available, currency)} available for this request; "
                    f"{_fmt(locked.amount, currency)} cannot be approved unless you override with a reason.")
            extra = {"override": True, "override_reason": override_reason}
        return _decide(tenant=tenant, actor=actor, transfer=locked, status=TransferStatus.APPROVED, comment=comment,
                       action=AuditAction.BUDGET_TRANSFER_APPROVE, extra=extra)


@requires(Action.WRITE)
def transfer_reject(*, tenant, actor, transfer, comment: str) -> TransferRequest:
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("Say why the transfer is rejected: the comment is what the requester will work from.")
    with tenant_context(tenant):
        locked = _lock_transfer(transfer)
        _require_pending(locked, "rejected")
        return _decide(tenant=tenant, actor=actor, transfer=locked, status=TransferStatus.REJECTED, comment=comment,
                       action=AuditAction.BUDGET_TRANSFER_REJECT)


@requires(Action.REQUEST)
def transfer_cancel(*, tenant, actor, transfer) -> TransferRequest:
    """The requester withdraws a pending request; its amount is available on the source again."""
    with tenant_context(tenant):
        locked = _lock_transfer(transfer)
        _require_pending(locked, "cancelled")
        if locked.requested_by_id is None or locked.requested_by_id != getattr(actor, "pk", None):
            raise DomainError(f"Only the person who requested transfer #{locked.pk} can cancel it; "
                              "finance can reject it instead.")
        return _decide(tenant=tenant, actor=actor, transfer=locked, status=TransferStatus.CANCELLED, comment="",
                       action=AuditAction.BUDGET_TRANSFER_CANCEL)
