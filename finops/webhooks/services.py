"""Registering endpoints (admins): the URL checked, a secret made, event types chosen."""

from __future__ import annotations

from collections.abc import Sequence

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .events import EVENT_TYPES, url_check
from .models import WebhookEndpoint
from .signing import secret_new


def _types(event_types: Sequence[str]) -> list[str]:
    chosen = sorted(set(event_types or ()))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise DomainError(f"Unknown event type {', '.join(unknown)}; choose among {', '.join(EVENT_TYPES)}.")
    return chosen


@requires(Action.ADMINISTER, "register webhooks")
def endpoint_create(*, tenant, actor, url: str, event_types: Sequence[str] = (), description: str = "") -> WebhookEndpoint:
    url = url_check(url)
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.create(tenant_id=tenant.pk, url=url, description=description.strip()[:200],
                                                  secret=secret_new(), event_types=_types(event_types),
                                                  created_by=actor if getattr(actor, "pk", None) else None)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.WEBHOOK_CREATE, obj=endpoint,
                     after={"url": url, "event_types": endpoint.event_types})
    return endpoint


@requires(Action.ADMINISTER, "change webhooks")
def endpoint_disable(*, tenant, actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
        if endpoint.active:
            endpoint.active = False
            endpoint.save(update_fields=["active"])
            audit_record(tenant=tenant, actor=actor, action=AuditAction.WEBHOOK_DISABLE, obj=endpoint,
                         before={"active": True}, after={"active": False})
    return endpoint
