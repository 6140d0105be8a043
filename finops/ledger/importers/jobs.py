"""GL import jobs: the upload is recorded now (`finops.jobs.records.job_record`), and a worker
imports it (`tasks.gl_import_run`, registered for the kind in `apps.py`) while the page polls its
progress (`finops.jobs.progress`)."""

from __future__ import annotations

import logging

from finops.errors import DomainError
from finops.jobs.models import Job, JobStatus
from finops.jobs.records import job_content, job_finish, job_record
from finops.jobs.runs import job_heartbeat, job_start
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .importing import GL, GlImportResult, gl_import

log = logging.getLogger(__name__)


@requires(Action.WRITE)
def import_job_create(*, tenant, actor, filename: str, data: bytes, enqueue: bool = True) -> Job:
    """Record an uploaded file as a job and, after commit, hand it to a worker. A file that a
    succeeded import already brought in becomes a `duplicate` job at once."""
    return job_record(tenant=tenant, actor=actor, kind=GL, filename=filename, data=data, enqueue=enqueue)


def import_job_run(*, tenant, job_id: int) -> Job | None:
    """Run a queued job (what the worker and the command do). Safe to run twice: a finished job,
    or one another worker is running (fresh heartbeat), is left alone (`finops.jobs.runs.job_start`);
    two runs that both start serialise in `gl_import`, and the second finds the job finished.
    While it runs, the job's heartbeat says so (beat requeues a job whose heartbeat stopped)."""
    if job_start(tenant=tenant, pk=job_id):
        with job_heartbeat(tenant=tenant, pk=job_id):
            _run(tenant=tenant, job_id=job_id)
    with tenant_context(tenant):
        return Job.objects.defer("content").select_related("duplicate_of").filter(kind=GL, pk=job_id).first()


def _run(*, tenant, job_id: int) -> None:
    try:
        with tenant_context(tenant):
            job = Job.objects.defer("content").select_related("created_by").get(kind=GL, pk=job_id)
            data = job_content(job_id=job_id)
        gl_import(tenant=tenant, actor=job.created_by, data=data, filename=job.filename, job=job)
    except Exception as exc:
        log.exception("GL import job %s failed", job_id)
        with tenant_context(tenant):
            job = Job.objects.select_for_update(no_key=True).defer("content").get(pk=job_id)
            if not job.is_finished:
                job_finish(job, status=JobStatus.FAILED, message=(
                    f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                    "Try again; if it fails again, tell your administrator."))


MAX_BULK_LINES = 10_000


@requires(Action.WRITE, "import GL actuals")
def gl_import_lines(*, tenant, actor, rows: list[dict], name: str = "api") -> GlImportResult:
    """Import lines given as records (the file's columns as keys: `COLUMNS`) now, in this
    transaction, through the same checks and fast write path as a file: all or nothing, each bad
    row named (row i is the file's line i + 2). At most MAX_BULK_LINES; more go as a file."""
    import csv
    import io

    from .rows import COLUMNS

    if not rows:
        raise DomainError("Send at least one line.")
    if len(rows) > MAX_BULK_LINES:
        raise DomainError(f"{len(rows):,} lines in one request; at most {MAX_BULK_LINES:,} — upload a file "
                          f"(it imports in a worker) or split them.")
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(COLUMNS)
    for row in rows:
        out.writerow(["" if row.get(c) is None else str(row.get(c)) for c in COLUMNS])
    return gl_import(tenant=tenant, actor=actor, data=buffer.getvalue().encode(), filename=f"{name}.csv")
