"""Background work of the ledger. Tasks are thin: load ids, enter the tenant, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from finops.jobs import jobs_requeue_stale
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

from .import_jobs import import_job_enqueue
from .importers import import_job_run
from .models import ImportJob

log = logging.getLogger(__name__)


# Acknowledged when it starts, not acks_late: an import may run for longer than the broker's
# visibility timeout, after which Redis would hand a still-running task to a second worker. The
# job's row and heartbeat are what make it run (see `finops/jobs.py`): a worker lost mid-import
# stops the heartbeat, and beat requeues the job within minutes.
@shared_task(acks_late=False)
def gl_import_run(tenant_id: int, job_id: int) -> str | None:
    """Import an uploaded GL file. Idempotent: a finished job, or one running elsewhere, is not
    run again, and a job requeued after a crash (its transaction rolled back) runs from the start."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("gl_import_run: organisation %s does not exist", tenant_id)
        return None
    job = import_job_run(tenant=tenant, job_id=job_id)
    if job is None:
        log.warning("gl_import_run: import job %s of organisation %s does not exist", job_id, tenant_id)
        return None
    return job.status


@shared_task
def import_jobs_requeue_stale() -> int:
    """Beat, every minute: hand unfinished jobs with no sign of life to a worker again — running
    with a stopped heartbeat (the worker died), or queued too long (the message was lost) — each to
    the task of its kind (`import_jobs.py`). Running a job twice is safe (see `gl_import_run`), so
    a false alarm costs nothing but a no-op."""
    requeued = 0
    # Organisations are the directory, not tenant data: listing them is how beat jobs visit
    # each tenant, entering its context explicitly.
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        job_ids = jobs_requeue_stale(ImportJob, tenant=tenant_id)  # committed: the rows say queued
        if not job_ids:
            continue
        with tenant_context(tenant_id):
            kinds = dict(ImportJob.objects.filter(pk__in=job_ids).values_list("pk", "kind"))
        for job_id in job_ids:
            try:
                import_job_enqueue(kind=kinds[job_id], tenant_id=tenant_id, job_id=job_id)  # its kind's task
            except Exception:  # noqa: BLE001 - the job stays queued; the next round sends it again
                log.exception("could not queue import job %s of organisation %s", job_id, tenant_id)
                continue
            requeued += 1
    if requeued:
        log.info("requeued %s stale import job(s)", requeued)
    return requeued
