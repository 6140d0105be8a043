"""Registering endpoints (admins): the URL checked, a secret made, event types chosen."""

from __future__ import annotations

from collections.abc import Sequence

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .events import EVENT_TYPES, TEST_EVENT, Event, url_check, webhook_queue
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


@requires(Action.ADMINISTER, "replay webhook deliveries")
def delivery_replay(*, tenant, actor, endpoint: WebhookEndpoint, delivery_id: int):
    """Send a delivery of `endpoint` again now (failed, waiting or sent: the receiver asked for it).
    It keeps its webhook-id, so a receiver that already has it can tell."""
    from django.db import transaction
    from django.utils import timezone

    from finops.errors import found
    from finops.notifications.models import Delivery, DeliveryStatus
    from finops.notifications.tasks import outbox_send_task

    with tenant_context(tenant):
        delivery = found(Delivery.objects.filter(pk=delivery_id, channel="webhook",
                                                 recipient=f"endpoint:{endpoint.pk}").first(), "delivery")
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, due_at=timezone.now(),
                                                       created_at=timezone.now(), sending_at=None)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.WEBHOOK_REPLAY, object_type="delivery",
                     object_id=delivery.pk, object_repr=f"{delivery.kind} #{delivery.pk} to {endpoint.url}"[:300],
                     after={"status": "pending"})
        tenant_id = tenant.pk
        transaction.on_commit(lambda: outbox_send_task.delay(tenant_id))
    return delivery


@requires(Action.ADMINISTER, "send test events")
def endpoint_test(*, tenant, actor, endpoint: WebhookEndpoint) -> int:
    """Queue a `webhook.test` event for this endpoint alone, signed and retried like any other, so
    an admin can see the receiver answer before a real event depends on it."""
    from django.utils import timezone

    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
        if not endpoint.active:
            raise DomainError("This endpoint is disabled: nothing is sent to it.")
        data = {"message": "A test event from finops: your endpoint receives and verifies our webhooks.",
                "endpoint": endpoint.url, "sent_by": getattr(actor, "email", None),
                "organisation": tenant.slug, "at": timezone.now().isoformat()}
        return webhook_queue(tenant=tenant, event_type=TEST_EVENT, events=[Event(endpoint.pk, data)],
                             endpoints=[endpoint])


def endpoint_list(*, tenant) -> list[WebhookEndpoint]:
    with tenant_context(tenant):
        return list(WebhookEndpoint.objects.select_related("created_by"))


def access_endpoint(*, tenant, pk) -> WebhookEndpoint:
    from finops.errors import found

    with tenant_context(tenant):
        return found(WebhookEndpoint.objects.filter(pk=pk).first(), "webhook endpoint")


def endpoint_deliveries(*, tenant, endpoint: WebhookEndpoint, limit: int = 100) -> list:
    """The endpoint's delivery log, newest first: event, status, attempts, the last answer."""
    from finops.notifications.models import Delivery

    with tenant_context(tenant):
        return list(Delivery.objects.filter(channel="webhook", recipient=f"endpoint:{endpoint.pk}")
                    .order_by("-created_at", "-id")[:limit])


def delivery_detail(*, tenant, endpoint: WebhookEndpoint, delivery_id: int):
    """One delivery of the endpoint and each try at sending it, oldest first."""
    from finops.errors import found
    from finops.notifications.models import Delivery, DeliveryAttempt

    with tenant_context(tenant):
        delivery = found(Delivery.objects.filter(pk=delivery_id, channel="webhook",
                                                 recipient=f"endpoint:{endpoint.pk}").first(), "delivery")
        return delivery, list(DeliveryAttempt.objects.filter(delivery_id=delivery.pk))
