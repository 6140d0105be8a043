"""Background work of costs. Tasks are thin: load ids, enter the tenant, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from finops.tenancy.models import Organization

from .services import cost_import_run

log = logging.getLogger(__name__)


# Acknowledged when it starts, like the GL import (finops/ledger/tasks.py): a big file may run for
# longer than the broker's visibility timeout; the job's row and heartbeat make it run, and beat
# requeues it if its worker is lost (finops/jobs/tasks.py).
@shared_task(acks_late=False)
def cost_import_run_task(tenant_id: int, job_id: int) -> str | None:
    """Import an uploaded cost file (`services.cost_import_run`). Idempotent: a finished job is not
    run again, and one requeued after a crash (its transaction rolled back) runs from the start."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("cost_import_run_task: organisation %s does not exist", tenant_id)
        return None
    job = cost_import_run(tenant=tenant, job_id=job_id)
    if job is None:
        log.warning("cost_import_run_task: import job %s of organisation %s does not exist", job_id, tenant_id)
        return None
    return job.status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def cost_ledger_refresh_task(tenant_id: int, months: list[str] | None = None) -> int | None:
    """Post what changed of the organisation's cost data (`posting.cost_ledger_refresh`), for
    `months` (ISO dates of their first days) or every month. Safe to run twice: a month whose
    lines did not change posts nothing."""
    from datetime import date

    from .posting import cost_ledger_refresh

    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("cost_ledger_refresh_task: organisation %s does not exist", tenant_id)
        return None
    result = cost_ledger_refresh(tenant=tenant, actor=None,
                                 months=[date.fromisoformat(m) for m in months] if months is not None else None)
    return len(result.posted)
