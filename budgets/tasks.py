"""Background work of variance alerts. Tasks are thin: load ids, enter the tenant, call a service.

Evaluating twice is safe (alerts and deliveries are unique per rule × line × period × threshold
and per recipient), so the tasks are acks_late: a worker lost mid-task means it runs again."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from finops.tenancy.models import Organization

from .alerts import alert_deliveries_send, alerts_evaluate

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def variance_alerts_evaluate(tenant_id: int, as_of: str | None = None) -> int | None:
    """Evaluate the organisation's alert rules for today (or `as_of`, ISO date), then send."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("variance_alerts_evaluate: organisation %s does not exist", tenant_id)
        return None
    day = timezone.localdate() if as_of is None else timezone.datetime.fromisoformat(as_of).date()
    result = alerts_evaluate(tenant=tenant, as_of=day)  # committed on return
    if result.deliveries_created:
        alert_deliveries_send_task.delay(tenant_id)
    return result.alerts_created


@shared_task(acks_late=True, reject_on_worker_lost=True)
def alert_deliveries_send_task(tenant_id: int) -> int | None:
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    return alert_deliveries_send(tenant=tenant)


@shared_task
def variance_alerts_evaluate_all() -> int:
    """Beat, hourly: one evaluation task per organisation (organisations are the directory)."""
    count = 0
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        variance_alerts_evaluate.delay(tenant_id)
        count += 1
    return count


@shared_task
def alert_digests_send() -> int:
    """Beat, hourly: send what is due, which includes the daily digests once their hour comes
    (and anything stuck past the sending timeout)."""
    count = 0
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        alert_deliveries_send_task.delay(tenant_id)
        count += 1
    return count


def variance_alerts_after_import(tenant_id: int) -> None:
    """Hooked on the commit of a successful GL import: evaluate with the new actuals. A broker
    outage must not fail the import (the hourly evaluation catches up)."""
    try:
        variance_alerts_evaluate.delay(tenant_id)
    except Exception:  # noqa: BLE001
        log.exception("could not enqueue variance alerts for organisation %s", tenant_id)
