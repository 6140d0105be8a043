"""Background work of the ledger. Tasks are thin: load ids, enter the tenant, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from finops.tenancy.models import Organization

from .chart_import import chart_import_job_run
from .importers import import_job_run

log = logging.getLogger(__name__)


# Acknowledged when it starts, not acks_late: an import may run for longer than the broker's
# visibility timeout, after which Redis would hand a still-running task to a second worker. The
# job's row and heartbeat are what make it run (see `finops/jobs/runs.py`): a worker lost mid-import
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


@shared_task(acks_late=False)  # like gl_import_run: the job's row makes it run, beat requeues it
def chart_import_run(tenant_id: int, job_id: int) -> str | None:
    """Import an uploaded chart (`chart_import.chart_import_job_run`). Idempotent, like the GL import."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("chart_import_run: organisation %s does not exist", tenant_id)
        return None
    job = chart_import_job_run(tenant=tenant, job_id=job_id)
    return job.status if job is not None else None
