"""Beat's side of the jobs: hand jobs with no sign of life to a worker again."""

from __future__ import annotations

import logging

from celery import shared_task

from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

from .models import Job
from .records import job_enqueue
from .runs import jobs_requeue_stale

log = logging.getLogger(__name__)


@shared_task
def jobs_requeue_stale_all() -> int:
    """Beat, every minute: hand unfinished jobs with no sign of life to a worker again — running
    with a stopped heartbeat (the worker died), or queued too long (the message was lost) — each to
    the task of its kind (`records.py`). Running a job twice is safe (each kind's task says why),
    so a false alarm costs nothing but a no-op."""
    requeued = 0
    # Organisations are the directory, not tenant data: listing them is how beat jobs visit
    # each tenant, entering its context explicitly.
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        job_ids = jobs_requeue_stale(tenant=tenant_id)  # committed: the rows say queued
        if not job_ids:
            continue
        with tenant_context(tenant_id):
            kinds = dict(Job.objects.filter(pk__in=job_ids).values_list("pk", "kind"))
        for job_id in job_ids:
            try:
                job_enqueue(kind=kinds[job_id], tenant_id=tenant_id, job_id=job_id)  # its kind's task
            except Exception:  # noqa: BLE001 - the job stays queued; the next round sends it again
                log.exception("could not queue job %s of organisation %s", job_id, tenant_id)
                continue
            requeued += 1
    if requeued:
        log.info("requeued %s stale job(s)", requeued)
    return requeued
