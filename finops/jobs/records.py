"""Recording, reading and finishing jobs, whatever they do: an upload is recorded now (the file
kept in the row) and run later by a worker, which claims the job (`runs.job_start`), reads its
input, and finishes it with its result or every problem; the page polls the row meanwhile.

Each kind is registered by its app when it is ready (`job_kind_register`): the Celery task that
runs it, taking (tenant_id, job_id), and whether a file of that kind imports once. So the beat
that requeues lost jobs (`tasks.jobs_requeue_stale_all`) hands each job to the right task
without knowing the apps, and the code that queues a job never imports the task module that runs
it. GL actuals: `finops/ledger/importers/jobs.py`; budget cells: `budgets/uploads.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from finops.errors import DomainError, found
from finops.imports import RowError
from finops.tenancy.context import tenant_context

from .models import Job, JobStatus
from .runs import job_start


@dataclass(frozen=True)
class JobKind:
    name: str  # stored on the row: "gl", "budget"
    task: object  # a Celery task (tenant_id, job_id)
    content_once: bool = False  # a file of this kind imports once: the same file again is a duplicate


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    _KINDS[kind.name] = kind


def job_enqueue(*, kind: str, tenant_id: int, job_id: int) -> None:
    """Hand the job to its kind's worker now (callers inside a transaction: `job_enqueue_on_commit`)."""
    _KINDS[kind].task.delay(tenant_id, job_id)


def job_enqueue_on_commit(job: Job) -> None:
    """After the job's transaction commits, hand it to a worker. Robust: with the broker down the
    job is still saved, waits as queued, and beat sends it once the broker is back."""
    tenant_id, pk, kind = job.tenant_id, job.pk, job.kind
    transaction.on_commit(lambda: job_enqueue(kind=kind, tenant_id=tenant_id, job_id=pk), robust=True)


def duplicate_message(previous: Job) -> str:
    when = timezone.localtime(previous.finished_at or previous.created_at)
    return (f"This file was already imported on {when:%Y-%m-%d %H:%M} (import #{previous.pk}, "
            f"{previous.filename}): nothing changed.")


def job_record(*, tenant, actor, kind: str, filename: str, data: bytes, params: dict | None = None,
               enqueue: bool = True) -> Job:
    """Record an uploaded file as a queued job (nothing in it is read here) and, after commit,
    hand it to a worker. A file of a kind that imports once, which a succeeded job of that kind
    already brought in, becomes a finished `duplicate` job at once."""
    found = _KINDS[kind]
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise DomainError(f"The file is {len(data) / 1e6:,.1f} MB; the limit is "
                          f"{settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB. Split it into several files.")
    sha256 = hashlib.sha256(data).hexdigest()
    with tenant_context(tenant) as tenant_id:
        job = Job(tenant_id=tenant_id, kind=kind, filename=(filename or "upload")[:255], content=data, size=len(data),
                  sha256=sha256, content_once=found.content_once, params=params or {},
                  created_by=actor if getattr(actor, "pk", None) else None)
        previous = job_previous_import(kind=kind, sha256=sha256) if found.content_once else None
        if previous is not None:
            job.status, job.duplicate_of, job.message = JobStatus.DUPLICATE, previous, duplicate_message(previous)
            job.started_at = job.finished_at = timezone.now()
            job.save()
            return job
        job.save()
        if enqueue:
            job_enqueue_on_commit(job)
        return job


def job_previous_import(*, kind: str, sha256: str) -> Job | None:
    """The succeeded job of `kind` that imported this content, in the caller's tenant context."""
    return (Job.objects.filter(kind=kind, sha256=sha256, status=JobStatus.SUCCEEDED, content_once=True)
            .defer("content").first())


def job_get(*, tenant, kind: str, pk: int) -> Job | None:
    """The tenant's job `pk` of `kind` (without its file), or None."""
    with tenant_context(tenant):
        return Job.objects.defer("content").select_related("created_by", "duplicate_of").filter(kind=kind, pk=pk).first()


def access_job(*, tenant, kind: str, pk: int) -> Job:
    """The tenant's job `pk` of `kind`, or NotFound: the same answer for "missing" and "another
    organisation's" (a page answers 404)."""
    return found(job_get(tenant=tenant, kind=kind, pk=pk), "import")


def jobs_recent(*, tenant, kind: str, limit: int = 25) -> list[Job]:
    with tenant_context(tenant):
        return list(Job.objects.filter(kind=kind).defer("content").select_related("created_by")[:limit])


def job_lock(*, kind: str, job_id: int) -> Job | None:
    """In the caller's transaction and tenant context: the job, locked (two runs of one job
    serialise here), without its file; None when it does not exist or is of another kind."""
    return Job.objects.select_for_update().defer("content").filter(kind=kind, pk=job_id).first()


def job_claim(*, tenant, kind: str, job_id: int) -> Job | None:
    """Mark a queued (or requeued) job running through `runs.job_start` (which counts the
    attempt and refuses a job another worker runs), committed so the page says so; None when
    there is nothing to run. A runner that then holds the job's row lock while it works is never
    taken for stale: beat skips locked rows."""
    with tenant_context(tenant):
        if not Job.objects.filter(kind=kind, pk=job_id).exists():
            return None
    if not job_start(tenant=tenant, pk=job_id):
        return None
    return job_get(tenant=tenant, kind=kind, pk=job_id)


def job_content(*, job_id: int) -> bytes:
    """The job's file, in the caller's tenant context."""
    return bytes(Job.objects.values_list("content", flat=True).get(pk=job_id))


def job_finish(job: Job, *, status: str, rows: int = 0, errors: Sequence[RowError] = (), message: str = "",
               result: dict | None = None, duplicate_of: Job | None = None, error_count: int | None = None) -> None:
    """Record how a locked job ended, in the caller's transaction (with what it wrote). A job that
    kept only its first problems (a file wrong on every one of a million rows) says how many there
    were in all with `error_count`."""
    job.status, job.rows, job.result = status, rows, result or {}
    job.errors = [{"line": e.line, "message": e.message} for e in errors[:Job.MAX_STORED_ERRORS]]
    job.error_count = len(errors) if error_count is None else max(error_count, len(errors))
    job.message = message[:500]
    job.duplicate_of = duplicate_of
    job.started_at = job.started_at or timezone.now()
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows", "result", "errors", "error_count", "message", "duplicate_of",
                            "started_at", "finished_at"])
