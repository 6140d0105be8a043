"""A version's life: draft → submitted → approved | rejected → locked, and revisions that copy an
approved or locked version. The version's row is locked (`SELECT … FOR UPDATE`) before it is
checked and changed, so two people acting at once serialise and the second sees the first's
outcome. An approver may not approve their own work (segregation of duties) unless they are the
organisation's only finance member or admin."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.db import analyze_on_commit
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership
from finops.tenancy.permissions import Action, Role
from finops.tenancy.policy import actor_user, requires
from finops.webhooks.events import webhook_emit

from ..effective import EFFECTIVE_LINES_SQL
from ..models import (
    EDITABLE_STATUSES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    Budget,
    BudgetLine,
    BudgetVersion,
    VersionKind,
    VersionStatus,
)
from ..selectors import pk_of
from .budgets import READ_ONLY


def version_for_update(version) -> BudgetVersion:
    found = (BudgetVersion.objects.select_for_update(of=("self",)).select_related("budget__entity")
             .filter(pk=pk_of(version)).first())
    if found is None:
        raise DomainError("This budget version does not exist.")
    return found


def version_require_editable(version: BudgetVersion) -> None:
    if version.status in FINAL_STATUSES:
        raise DomainError(f"{version.budget.name} v{version.number} is {version.status}: {READ_ONLY}.")
    if version.status not in EDITABLE_STATUSES:
        raise DomainError(f"{version.budget.name} v{version.number} is submitted for approval: it can be "
                          "changed again once it is rejected, or in a new revision once approved.")


APPROVER_ROLES = (Role.FINANCE, Role.ADMIN)


def _transition(*, tenant, actor, version, allowed: set, to: str, action: str, verb: str,
                fields: dict | None = None, audit_after: dict | None = None, guard=None) -> BudgetVersion:
    with tenant_context(tenant):
        locked = version_for_update(version)
        if locked.status not in allowed:
            states = " or ".join(sorted(allowed))
            article = "an" if states[0] in "aeiou" else "a"
            raise DomainError(f"Only {article} {states} version can be {verb}; {locked.budget.name} v{locked.number} "
                              f"is {locked.status}.")
        if guard is not None:
            guard(locked)
        before = {"status": locked.status}
        locked.status = to
        for name, value in (fields or {}).items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *(fields or {})])
        audit_record(tenant=tenant, actor=actor, action=action, obj=locked,
                     object_repr=f"{locked.budget.name} v{locked.number}",
                     before=before, after={"status": to, **(audit_after or {})})
        if to in (VersionStatus.SUBMITTED, VersionStatus.APPROVED):
            webhook_emit(tenant=tenant, event_type=f"budget_version.{to}", ref=locked.pk, data={
                "version": locked.pk, "budget": locked.budget_id, "name": locked.budget.name, "number": locked.number,
                "status": to, "by": getattr(actor, "email", None)})
        return locked


@requires(Action.WRITE)
def version_submit(*, tenant, actor, version) -> BudgetVersion:
    with tenant_context(tenant):
        if not BudgetLine.objects.filter(version_id=pk_of(version)).exists():
            raise DomainError("There is nothing to submit: this version has no budget lines yet.")
        return _transition(tenant=tenant, actor=actor, version=version, allowed=set(EDITABLE_STATUSES),
                           to=VersionStatus.SUBMITTED, action=AuditAction.BUDGET_VERSION_SUBMIT, verb="submitted",
                           fields={"submitted_by": actor_user(actor), "submitted_at": timezone.now()})


def segregation_of_duties_check(*, tenant, actor, author_id: int | None, what: str, verb: str) -> None:
    """Segregation of duties: whoever made a thing (submitted a budget version, requested a
    transfer) does not approve it, as long as the organisation has another member who may
    approve (finance or admin). A one-person finance team can still approve its own; the audit
    log shows who did both. `what` names the thing ("transfer #12"), `verb` what its author did."""
    user = actor_user(actor)
    if user is None or author_id != user.pk:
        return
    others = (Membership.objects.filter(organization_id=pk_of(tenant), role__in=APPROVER_ROLES)
              .exclude(user_id=user.pk).exists())
    if others:
        raise DomainError(f"You {verb} {what}: another finance or admin member approves it (segregation of duties).")


def _second_pair_of_eyes(tenant, actor):
    def guard(version: BudgetVersion) -> None:
        segregation_of_duties_check(tenant=tenant, actor=actor, author_id=version.submitted_by_id,
                                    what=f"{version.budget.name} v{version.number}", verb="submitted")
    return guard


@requires(Action.WRITE)
def version_approve(*, tenant, actor, version) -> BudgetVersion:
    """Approve a submitted version (who may approve — finance or admin — is the view's check;
    that it is not its submitter is checked here)."""
    return _transition(tenant=tenant, actor=actor, version=version, allowed={VersionStatus.SUBMITTED},
                       to=VersionStatus.APPROVED, action=AuditAction.BUDGET_VERSION_APPROVE, verb="approved",
                       guard=_second_pair_of_eyes(tenant, actor),
                       fields={"approved_by": actor_user(actor), "approved_at": timezone.now(), "rejection_comment": ""})


@requires(Action.WRITE)
def version_reject(*, tenant, actor, version, comment: str) -> BudgetVersion:
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("Say why the version is rejected: the comment is what its author will work from.")
    return _transition(tenant=tenant, actor=actor, version=version, allowed={VersionStatus.SUBMITTED},
                       to=VersionStatus.REJECTED, action=AuditAction.BUDGET_VERSION_REJECT, verb="rejected",
                       fields={"rejection_comment": comment}, audit_after={"comment": comment})


@requires(Action.WRITE)
def version_lock(*, tenant, actor, version) -> BudgetVersion:
    return _transition(tenant=tenant, actor=actor, version=version, allowed={VersionStatus.APPROVED},
                       to=VersionStatus.LOCKED, action=AuditAction.BUDGET_VERSION_LOCK, verb="locked",
                       fields={"locked_at": timezone.now()})


# A line's EFFECTIVE amount: as budgeted, plus approved transfers in, minus approved transfers
# out (the stored amount stays the original, so the history is visible). The one definition that
# revisions and budget vs actual read; parameters %(tenant)s and %(version)s.
# A revision starts from what the parent is in force with: its effective amounts.
COPY_LINES = f"""
    INSERT INTO budgets_budgetline (tenant_id, version_id, account_id, cost_center_id, period_id, amount)
    SELECT e.tenant_id, %(new)s, e.account_id, e.cost_center_id, e.period_id, e.amount
    FROM ({EFFECTIVE_LINES_SQL}) e
"""


@requires(Action.WRITE)
def version_revise(*, tenant, actor, version, kind: str = VersionKind.REVISION) -> BudgetVersion:
    """A new draft (revision or reforecast) copying every line of an approved or locked version,
    at its effective amount (approved transfers included), which becomes its parent. One open version per budget at a time: a draft, submitted or
    rejected version must be approved (or its lines moved) before the next revision starts."""
    if kind not in (VersionKind.REVISION, VersionKind.REFORECAST):
        raise DomainError("A new version is a revision or a reforecast.")
    with tenant_context(tenant):
        parent = version_for_update(version)
        budget = parent.budget
        # Lock the budget row too: two revisions of one budget started at once serialise here.
        Budget.objects.select_for_update().filter(pk=budget.pk).first()
        if parent.status not in FINAL_STATUSES:
            raise DomainError(f"Only an approved or locked version can be revised; {budget.name} v{parent.number} "
                              f"is {parent.status}: edit it directly.")
        pending = BudgetVersion.objects.filter(budget=budget, status__in=OPEN_STATUSES).order_by("number").first()
        if pending is not None:
            raise DomainError(f"{budget.name} v{pending.number} is still {pending.status}: finish it (approve or "
                              "reject it) before starting another revision.")
        number = (BudgetVersion.objects.filter(budget=budget).aggregate(n=Max("number"))["n"] or 0) + 1
        new = BudgetVersion.objects.create(tenant_id=tenant.pk, budget=budget, kind=kind, number=number,
                                           parent=parent, created_by=actor_user(actor))
        with connection.cursor() as cursor:
            cursor.execute(COPY_LINES, {"new": new.pk, "tenant": tenant.pk, "version": parent.pk})
            copied = cursor.rowcount
        analyze_on_commit(BudgetLine, rows=copied)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_VERSION_REVISE, obj=new,
                     object_repr=f"{budget.name} v{number}",
                     before=None, after={"kind": kind, "number": number, "parent": parent.number, "lines": copied})
        return new
