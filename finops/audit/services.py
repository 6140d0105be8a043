"""Writing the audit trail. Every service that changes a financial record, a period or a
membership calls `audit_record` inside its own transaction, so the row exists iff the change does.
The action is an `AuditAction` (any other string is refused); a change whose `before` equals its
`after` changed nothing and writes no row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from finops.tenancy.context import tenant_context

from .actions import AuditAction
from .models import AuditEvent

_acting_via: ContextVar[str] = ContextVar("finops_audit_via", default="")


@contextmanager
def acting_via(label: str) -> Iterator[None]:
    """Changes recorded inside were made through `label` (an API token): it follows the actor's
    name in the trail ("finance@acme.example via API token “warehouse sync”")."""
    mark = _acting_via.set(label)
    try:
        yield
    finally:
        _acting_via.reset(mark)


def audit_record(
    *,
    tenant,
    actor,
    action: AuditAction,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent | None:
    action = AuditAction(action)  # ValueError for an action nobody named
    if before is not None and before == after:
        return None  # nothing changed: nothing to record
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    with tenant_context(tenant):
        return AuditEvent.objects.create(
            tenant_id=getattr(tenant, "pk", tenant),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=_label(actor),
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            object_repr=object_repr[:300],
            before=before,
            after=after,
        )


def _label(actor) -> str:
    name = getattr(actor, "email", "") or getattr(actor, "username", "") or "system"
    via = _acting_via.get()
    return (f"{name} via {via}" if via else name)[:254]
