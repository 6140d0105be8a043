"""Background work of the ledger. Tasks are thin: load ids, enter the tenant, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from finops.tenancy.models import Organization

from .importers import import_job_run

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
