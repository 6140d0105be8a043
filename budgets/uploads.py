"""Uploading a file into a budget version: the request only records it, a worker imports it.

The page receives the file and records it as a job of kind `budget` (the kernel's `Job`,
through `finops.jobs.records`; the file is kept in the row, the version in
its params), then shows the job, polling it. A worker (`tasks.budget_upload_run_task`) reads the
file and imports it with `importers.budget_import`, all or nothing, in one transaction with the
job's outcome: the summary, or every bad cell named as the user sees it. Nothing in a file is
parsed in the web request, so no file, however crafted, holds a web worker.

The file is the grid's template (one column per month, `views.budgets.version_template`) or the
importer's long form (entity, account, cost_center, period, amount). A template is turned into
long rows first, each remembering where it came from, so a bad cell is named by its place in the
user's file: "line 4 (6100 / OPS), 2026-03".
"""

from __future__ import annotations

import csv
import io
import logging
import re

from finops.errors import DomainError
from finops.imports import FileProblem, RowError, csv_rows, is_xlsx, xlsx_rows
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_reporter
from finops.jobs.records import job_claim, job_content, job_finish, job_get, job_lock, job_record
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .importers import BudgetImportResult, budget_import
from .selectors import access_version, version_latest

log = logging.getLogger(__name__)

BUDGET = "budget"  # the job kind (finops/jobs): a budget file may go in more than once

_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-\d{1,2}(?:[ T]00:00:00)?)?")
LONG_COLUMNS = ["entity", "account", "cost_center", "period", "amount"]


def newest_version_problem(*, latest, version) -> str:
    return f"Upload into the newest version (v{latest.number}); v{version.number} is not the one being worked on."


def template_to_long(data: bytes, filename: str) -> tuple[bytes, dict[int, tuple[int, str, str | None]]] | None:
    """A template-shaped file (one column per month) as the importer's long CSV, with where each
    long line came from ({long line: (line in the file, "line 4 (6100 / OPS), 2026-03", message
    or None)}); None when the file is long already."""
    rows, _ = xlsx_rows(data) if is_xlsx(data, filename) else csv_rows(data)
    first = next(rows, None)
    if first is None:
        return None
    header = [str(h).strip().lower() for h in first[1]]
    months = {i: f"{int(m[1]):04d}-{int(m[2]):02d}" for i, h in enumerate(header) if (m := _MONTH.fullmatch(h))}
    if not months or "period" in header:
        return None
    col = {name: header.index(name) for name in ("entity", "account", "cost_center") if name in header}
    width = len(header)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LONG_COLUMNS)
    origin: dict[int, tuple[int, str, str | None]] = {}
    line = 1
    for number, values in rows:

        def get(name, values=values):
            i = col.get(name)
            return str(values[i]).strip() if i is not None and i < len(values) else ""

        place = f"{get('account')}{' / ' + get('cost_center') if get('cost_center') else ''}"
        if len(values) > width and any(str(v).strip() for v in values[width:]):
            # Shifted values (often an unquoted "1,234.56"): one long line with a value too many,
            # which the importer refuses, so nothing is written and the line is named once.
            line += 1
            writer.writerow([get("entity"), get("account"), get("cost_center"), "", "", "?"])
            origin[line] = (number, f"line {number} ({place})", (
                f"This line has {len(values)} values but the header has {width} columns: quote values that "
                "contain commas (e.g. \"1,234.56\")."))
            continue
        for i, month in months.items():
            amount = str(values[i]).strip() if i < len(values) else ""
            if not amount:
                continue  # an empty cell leaves the budget's cell as it is
            line += 1
            writer.writerow([get("entity"), get("account"), get("cost_center"), month, amount])
            origin[line] = (number, f"line {number} ({place}), {month}", None)
    return out.getvalue().encode(), origin


def budget_upload_import(*, tenant, actor, version, data: bytes, filename: str,
                         progress=None) -> tuple[BudgetImportResult, list[RowError]]:
    """Import an uploaded file into `version` now (what the worker does): the result, and its
    problems named as the user sees them (empty when it succeeded)."""
    latest = version_latest(tenant=tenant, budget=version.budget)
    if latest.pk != version.pk:
        problem = RowError(None, newest_version_problem(latest=latest, version=version))
        return BudgetImportResult(errors=[problem]), [problem]
    try:
        template = template_to_long(data, filename)
    except FileProblem as problem:
        return BudgetImportResult(errors=[problem.error]), [problem.error]
    origin: dict[int, tuple[int, str, str | None]] = {}
    if template is not None:
        (data, origin), filename = template, "template.csv"
    result = budget_import(tenant=tenant, actor=actor, data=data, filename=filename,
                           budget_name=version.budget.name, progress=progress)
    problems = []
    for error in result.errors:
        if error.line in origin:
            line, where, message = origin[error.line]
            problems.append(RowError(line, f"{where}: {message or error.message}"))
        else:
            problems.append(RowError(error.line, str(error)))
    return result, problems


@requires(Action.WRITE)
def budget_upload_create(*, tenant, actor, version, filename: str, data: bytes, enqueue: bool = True) -> Job:
    """Record an upload into `version` as a job and, after commit, hand it to a worker. Only what
    needs no reading of the file is checked here: its size, and that `version` is the newest."""
    latest = version_latest(tenant=tenant, budget=version.budget)
    if latest.pk != version.pk:
        raise DomainError(newest_version_problem(latest=latest, version=version))
    return job_record(tenant=tenant, actor=actor, kind=BUDGET, filename=filename, data=data,
                      params={"version_id": version.pk}, enqueue=enqueue)


def budget_upload_get(*, tenant, pk: int) -> Job | None:
    return job_get(tenant=tenant, kind=BUDGET, pk=pk)


def budget_upload_run(*, tenant, job_id: int) -> Job | None:
    """Run a queued upload (what the worker does). Safe to run twice: a finished job is left
    alone, and two runs of one job serialise on its row lock; the cells and the job's outcome
    commit together, so a crash leaves the job to be run again from the start."""
    if job_claim(tenant=tenant, kind=BUDGET, job_id=job_id) is not None:
        try:
            with tenant_context(tenant):
                job = job_lock(kind=BUDGET, job_id=job_id)
                if not job.is_finished:
                    version = access_version(tenant=tenant, pk=job.params["version_id"])
                    result, problems = budget_upload_import(
                        tenant=tenant, actor=job.created_by, version=version, filename=job.filename,
                        data=job_content(job_id=job_id), progress=job_progress_reporter(job_id))
                    job_finish(job, status=JobStatus.SUCCEEDED if result.ok else JobStatus.FAILED,
                               rows=result.rows, errors=problems, message=result.summary())
        except Exception as exc:
            log.exception("budget upload job %s failed", job_id)
            with tenant_context(tenant):
                job = job_lock(kind=BUDGET, job_id=job_id)
                if not job.is_finished:
                    job_finish(job, status=JobStatus.FAILED, message=(
                        f"The upload stopped on an unexpected error ({exc.__class__.__name__}); nothing was "
                        "written. Try again; if it fails again, tell your administrator."))
    return budget_upload_get(tenant=tenant, pk=job_id)
