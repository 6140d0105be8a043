"""Creating a budget: its periods and its first (original, draft) version."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.ledger.models import (
    AccountType,
    Entity,
)
from finops.ledger.periods import fiscal_year_ensure
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import actor_user, requires

from ..models import (
    Budget,
    BudgetVersion,
    VersionKind,
)
from ..selectors import pk_of

BUDGET_ACCOUNT_TYPES = frozenset({AccountType.REVENUE, AccountType.EXPENSE})


READ_ONLY = "approved and locked budgets are read-only; changing one means a new revision"


@requires(Action.WRITE)
def budget_create(*, tenant, actor, entity, fiscal_year: int, name: str) -> Budget:
    """A new budget for `entity` and FY `fiscal_year`, with its 12 periods and an empty
    original draft version (number 1)."""
    name = (name or "").strip()
    if not name:
        raise DomainError("A budget needs a name.")
    if len(name) > 200:
        raise DomainError("A budget's name has at most 200 characters.")
    if not isinstance(fiscal_year, int) or isinstance(fiscal_year, bool):
        raise DomainError(f"{fiscal_year} is not a fiscal year.")
    with tenant_context(tenant):
        found = Entity.objects.filter(pk=pk_of(entity)).first()
        if found is None:
            raise DomainError("Unknown entity.")
        if not found.active:
            raise DomainError(f"Entity {found} is inactive.")
        if Budget.objects.filter(name__iexact=name).exists():
            raise DomainError(f"A budget named “{name}” exists already: choose another name.")
        fiscal_year_ensure(tenant=tenant, label=fiscal_year)  # refused outside the date window
        try:
            with transaction.atomic():
                budget = Budget.objects.create(tenant_id=tenant.pk, entity=found, fiscal_year=fiscal_year,
                                               name=name, created_by=actor_user(actor))
        except IntegrityError:  # created by someone else since the check above
            raise DomainError(f"A budget named “{name}” exists already: choose another name.") from None
        version = BudgetVersion.objects.create(tenant_id=tenant.pk, budget=budget, kind=VersionKind.ORIGINAL,
                                               number=1, created_by=actor_user(actor))
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_CREATE, obj=budget, after={
            "name": name, "entity": found.code, "fiscal_year": fiscal_year, "version": version.number})
        return budget
