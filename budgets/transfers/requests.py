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

from decimal import Decimal, InvalidOperation

from django.db import connection
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.ledger.money import minor_units
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import actor_user, policy_check, requires

from ..models import FINAL_STATUSES, BudgetLine, BudgetVersion, TransferRequest, TransferStatus
from ..selectors import pk_of
from ..services.cells import Cell, budget_cells_check
from ..services.versions import segregation_of_duties_check
from .selectors import ZERO, LineFunds, line_funds, transfer_partner_types


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
        if target_funds.account_type not in transfer_partner_types(funds.account_type):
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
            requested_by=actor_user(actor), available_at_request=funds.available, override=override,
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
    transfer.decided_by = actor_user(actor)
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
    from finops.webhooks.events import webhook_emit

    webhook_emit(tenant=tenant, event_type="transfer.decided", ref=transfer.pk, seq=0, data={
        "transfer": transfer.pk, "version": version.pk, "status": status, "comment": comment,
        "amount": {"amount": _plain(transfer.amount, str(version.budget.entity.functional_currency)),
                   "currency": str(version.budget.entity.functional_currency)},
        "by": getattr(actor, "email", None)})
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
