"""The import job row, whatever the file imports: an upload is recorded now (the file kept in the
row) and run later by a worker, which claims the job, reads the file, and finishes the job with
its result or every problem; the page polls the row meanwhile.

Each kind brings its own runner, a Celery task taking (tenant_id, job_id) and registered here
when its app is ready, so the beat that requeues lost jobs (`tasks.import_jobs_requeue_stale`)
hands each job to the right importer without knowing the apps above the ledger. GL actuals:
`importers/jobs.py` (which predates this module and keeps its own row handling for now); budget
cells: `budgets/uploads.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from finops.errors import DomainError
from finops.imports import RowError
from finops.jobs import job_start
from finops.tenancy.context import tenant_context

from .models import ImportJob

_runners: dict[str, object] = {}  # kind → Celery task (tenant_id, job_id)


def import_job_runner_register(kind: str, task) -> None:
    _runners[kind] = task


def import_job_enqueue(*, kind: str, tenant_id: int, job_id: int) -> None:
    """Hand the job to its kind's worker now (callers inside a transaction use on_commit)."""
    _runners[kind].delay(tenant_id, job_id)


def import_job_record(*, tenant, actor, kind: str, filename: str, data: bytes, params: dict | None = None) -> ImportJob:
    """Record an uploaded file as a queued job; nothing in it is read here."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise DomainError(f"The file is {len(data) / 1e6:,.1f} MB; the limit is "
                          f"{settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB. Split it into several files.")
    with tenant_context(tenant) as tenant_id:
        return ImportJob.objects.create(
            tenant_id=tenant_id, kind=kind, filename=(filename or "upload")[:255], content=data, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), params=params or {},
            created_by=actor if getattr(actor, "pk", None) else None)


def import_job_get(*, tenant, kind: str, pk: int) -> ImportJob | None:
    """The tenant's job `pk` of `kind` (without its file), or None."""
    with tenant_context(tenant):
        return (ImportJob.objects.defer("content").select_related("created_by")
                .filter(kind=kind, pk=pk).first())


def import_job_lock(*, kind: str, job_id: int) -> ImportJob | None:
    """In the caller's transaction and tenant context: the job, locked (two runs of one job
    serialise here), without its file; None when it does not exist or is of another kind."""
    return ImportJob.objects.select_for_update().defer("content").filter(kind=kind, pk=job_id).first()


def import_job_start(*, tenant, kind: str, job_id: int) -> ImportJob | None:
    """Mark a queued (or requeued) job running through `finops.jobs.job_start` (which counts the
    attempt and refuses a job another worker runs), committed so the page says so; None when
    there is nothing to run. A runner that then holds the job's row lock while it works is never
    taken for stale: beat skips locked rows."""
    with tenant_context(tenant):
        if not ImportJob.objects.filter(kind=kind, pk=job_id).exists():
            return None
    if not job_start(ImportJob, tenant=tenant, pk=job_id):
        return None
    return import_job_get(tenant=tenant, kind=kind, pk=job_id)


def import_job_content(*, job_id: int) -> bytes:
    """The job's file, in the caller's tenant context."""
    return bytes(ImportJob.objects.values_list("content", flat=True).get(pk=job_id))


def import_job_finish(job: ImportJob, *, status: str, rows: int = 0, errors: Sequence[RowError] = (),
                      message: str = "") -> None:
    """Record how a locked job ended, in the caller's transaction (with what it wrote)."""
    job.status, job.rows = status, rows
    job.errors = [{"line": e.line, "message": e.message} for e in errors[:ImportJob.MAX_STORED_ERRORS]]
    job.error_count = len(errors)
    job.message = message[:500]
    job.started_at = job.started_at or timezone.now()
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows", "errors", "error_count", "message", "started_at", "finished_at"])
