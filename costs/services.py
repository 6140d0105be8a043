"""Every write of costs: bringing cost files in.

An upload is recorded as a job of kind `costs` (the kernel's job pipeline, `finops.jobs`: the
file is kept in the row, its format in the params), and a worker imports it
(`tasks.cost_import_run_task` → `cost_import_run`) while the page polls the job's progress. The
command runs the same job in its own process. A file a succeeded import brought in already
becomes a finished `duplicate` job at once, without being read.

Who may: only roles that may change the books (finance, admin) import; the rule is here, so the
page, the command, a task and the API meet it alike (`finops.tenancy.policy`).
"""

from __future__ import annotations

import logging

from finops.errors import DomainError
from finops.jobs.models import Job, JobStatus
from finops.jobs.records import job_content, job_finish, job_get, job_record
from finops.jobs.runs import job_heartbeat, job_start
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .importers import COSTS, FORMATS, cost_import

log = logging.getLogger(__name__)


@requires(Action.WRITE, "import cost data")
def cost_import_create(*, tenant, actor, filename: str, data: bytes, source_format: str,
                       enqueue: bool = True) -> Job:
    """Record an uploaded cost file as a job and, after commit, hand it to a worker. Nothing in
    the file is read here: only its size, and that the format is one the importer knows."""
    if source_format not in FORMATS:
        raise DomainError(f"Unknown cost file format “{source_format}”: choose focus (a FOCUS export) or csv "
                          "(date, vendor, description, amount, …).")
    return job_record(tenant=tenant, actor=actor, kind=COSTS, filename=filename, data=data,
                      params={"format": source_format}, enqueue=enqueue)


def cost_import_run(*, tenant, job_id: int) -> Job | None:
    """Run a queued cost import (what the worker and the command do). Safe to run twice: a
    finished job, or one another worker is running (fresh heartbeat), is left alone
    (`finops.jobs.runs.job_start`); two runs that both start serialise in `cost_import`, and the
    second finds the job finished. The items and the job's outcome commit together."""
    if job_start(tenant=tenant, pk=job_id):
        with job_heartbeat(tenant=tenant, pk=job_id):
            _run(tenant=tenant, job_id=job_id)
    return job_get(tenant=tenant, kind=COSTS, pk=job_id)


def _run(*, tenant, job_id: int) -> None:
    try:
        with tenant_context(tenant):
            job = Job.objects.defer("content").select_related("created_by").get(kind=COSTS, pk=job_id)
            data = job_content(job_id=job_id)
        cost_import(tenant=tenant, actor=job.created_by, data=data, filename=job.filename,
                    source_format=job.params.get("format", ""), job=job)
    except Exception as exc:
        log.exception("cost import job %s failed", job_id)
        with tenant_context(tenant):
            job = Job.objects.select_for_update(no_key=True).defer("content").get(pk=job_id)
            if not job.is_finished:
                job_finish(job, status=JobStatus.FAILED, message=(
                    f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                    "Try again; if it fails again, tell your administrator."))
