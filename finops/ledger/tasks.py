"""Background work of the ledger. Tasks are thin: load ids, enter the tenant, call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

from .import_jobs import import_job_enqueue
from .importers import import_job_run
from .models import ImportJob, ImportStatus

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def gl_import_run(tenant_id: int, job_id: int) -> str | None:
    """Import an uploaded GL file. Idempotent: a finished job is not run again, and a job
    redelivered after a crash (its transaction rolled back) runs again from the start."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("gl_import_run: organisation %s does not exist", tenant_id)
        return None
    job = import_job_run(tenant=tenant, job_id=job_id)
    if job is None:
        log.warning("gl_import_run: import job %s of organisation %s does not exist", job_id, tenant_id)
        return None
    return job.status


STALE_QUEUED = timedelta(minutes=10)
STALE_RUNNING = timedelta(hours=2)


@shared_task
def import_jobs_requeue_stale() -> int:
    """Beat, every few minutes: hand unfinished jobs to a worker again when their message was
    lost (the broker was down at upload, or a worker died and the message expired), each to the
    task of its kind (`import_jobs.py`). Running a job twice is safe (see `gl_import_run`), so a
    false alarm costs nothing but a no-op."""
    now = timezone.now()
    requeued = 0
    # Organisations are the directory, not tenant data: listing them is how beat jobs visit
    # each tenant, entering its context explicitly.
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        with tenant_context(tenant_id):
            stale = list(
                ImportJob.objects.filter(
                    Q(status=ImportStatus.QUEUED, created_at__lt=now - STALE_QUEUED)
                    | Q(status=ImportStatus.RUNNING, started_at__lt=now - STALE_RUNNING)
                ).values_list("pk", "kind")
            )
        for job_id, kind in stale:
            import_job_enqueue(kind=kind, tenant_id=tenant_id, job_id=job_id)  # its kind's task
            requeued += 1
    if requeued:
        log.info("requeued %s stale import job(s)", requeued)
    return requeued
