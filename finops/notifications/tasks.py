"""Sending the outbox from a worker and from beat. Tasks are thin: enter the tenant, call the
outbox. Sending twice is safe (a claimed delivery is skipped by the other sender, and one sent
again carries the same Message-ID), so the tasks are acks_late: a worker lost mid-task means it
runs again."""

from __future__ import annotations

from celery import shared_task

from finops.tenancy.models import Organization

from .outbox import outbox_send, site_outbox_send


@shared_task(acks_late=True, reject_on_worker_lost=True)
def outbox_send_task(tenant_id: int) -> int | None:
    """Send what is due in one organisation; the number of messages sent."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    return outbox_send(tenant=tenant)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def site_outbox_send_task() -> int:
    return site_outbox_send()


@shared_task
def outbox_send_all() -> int:
    """Beat: one sending task per organisation (organisations are the directory), and one for the
    site's own messages. Digests go out once their hour comes; failed sends are retried."""
    count = 0
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        outbox_send_task.delay(tenant_id)
        count += 1
    site_outbox_send_task.delay()
    return count
