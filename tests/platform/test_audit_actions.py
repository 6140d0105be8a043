"""The audit trail records named actions only, and a change that changed nothing is not one."""

from __future__ import annotations

import pytest

from finops.audit.actions import AuditAction
from finops.audit.models import AuditEvent
from finops.audit.services import audit_record
from finops.ledger import services as ledger
from finops.ledger.models import AccountType
from finops.tenancy.context import tenant_context


def actions(org) -> list[str]:
    with tenant_context(org):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_an_action_nobody_named_is_refused(org):
    with pytest.raises(ValueError, match="'account.rename' is not a valid AuditAction"):
        audit_record(tenant=org, actor=None, action="account.rename")


def test_saving_an_account_unchanged_writes_no_audit_row_and_a_change_writes_one(org, users):
    before = len(actions(org))
    finance = users["finance"]
    account = ledger.account_save(tenant=org, actor=finance, code="6100", name="Rent", type=AccountType.EXPENSE)
    for name in ("Rent", "Rent and rates"):  # the same again (nothing changed), then a new name
        ledger.account_save(tenant=org, actor=finance, code="6100", name=name, type=AccountType.EXPENSE,
                            account=account)
    assert actions(org)[before:] == [AuditAction.ACCOUNT_CREATE, AuditAction.ACCOUNT_UPDATE]
    with tenant_context(org):
        update = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UPDATE)
    assert (update.before["name"], update.after["name"], update.actor_label) == (
        "Rent", "Rent and rates", "finance@acme.test")
