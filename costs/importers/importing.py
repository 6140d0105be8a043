"""The cost import itself: all or nothing, in one transaction.

Imports into one tenant are serialised by an advisory lock, so the duplicate checks see every
earlier import committed. A file whose SHA-256 matches a succeeded cost import of the tenant
changes nothing and says so; a row whose content the tenant has already (`row_hash`, with its
occurrence in the file) is skipped and counted. With a job, its outcome is recorded in the same
transaction as the items, so a crash leaves the job to be run again from the start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.db import analyze_on_commit
from finops.imports import RowError
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import Progress, job_progress_reporter
from finops.jobs.records import duplicate_message, job_finish, job_previous_import
from finops.tenancy.context import tenant_context

from ..models import CostItem
from .formats import FORMATS
from .rows import check_rows
from .staging import Stage

COSTS = "costs"  # the job kind (finops/jobs): a cost file imports once
IMPORT_LOCK_CLASS = 0x636F_7374  # pg_advisory_xact_lock(class, tenant): "cost"
SAVING = "Saving the cost items"  # the progress phase of the final move


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass
class CostImportResult:
    format: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first Job.MAX_STORED_ERRORS
    error_count: int = 0
    currency_assumed: str = ""
    duplicate_of: Job | None = None
    job: Job | None = None

    @property
    def ok(self) -> bool:
        return not self.error_count and self.duplicate_of is None

    def summary(self) -> str:
        if self.duplicate_of is not None:
            return duplicate_message(self.duplicate_of)
        if self.error_count:
            return f"{_plural(self.error_count, 'problem')} found: nothing was imported."
        done = (f"{_plural(self.rows, 'row')}: {_plural(self.created, 'cost item')} created, "
                f"{self.skipped:,} already imported (skipped).")
        if self.currency_assumed:
            done += (f" The file has no BillingCurrency column: its costs were taken to be in "
                     f"{self.currency_assumed}, the organisation's currency.")
        return done

    def result(self) -> dict:
        """What the job row keeps (`Job.result`)."""
        return {"format": self.format, "items_created": self.created, "items_skipped": self.skipped,
                "currency_assumed": self.currency_assumed}


def result_of(job: Job) -> CostImportResult:
    """The result a finished job recorded."""
    return CostImportResult(
        format=job.result.get("format", job.params.get("format", "")), rows=job.rows,
        created=job.result.get("items_created", 0), skipped=job.result.get("items_skipped", 0),
        errors=[RowError(e["line"], e["message"]) for e in job.errors], error_count=job.error_count,
        currency_assumed=job.result.get("currency_assumed", ""), duplicate_of=job.duplicate_of, job=job)


def _lock_tenant_imports(tenant_id: int) -> None:
    """Cost imports into one tenant run one at a time (the lock ends with the transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_CLASS, tenant_id])


def cost_import(*, tenant, actor, data: bytes, filename: str, source_format: str, job: Job | None = None,
                progress: Progress | None = None) -> CostImportResult:
    """Import cost items from `data` (CSV or XLSX, FOCUS or generic), all or nothing.

    Row problems do not raise: they are in the result, and then nothing is written. Without a
    `job`, a succeeded import is recorded as one (without the file), so the same file is
    recognised next time and the items name where they came from."""
    fmt = FORMATS[source_format]
    sha256 = hashlib.sha256(data).hexdigest()
    if progress is None and job is not None:
        progress = job_progress_reporter(job.pk)
    with tenant_context(tenant) as tenant_id:
        _lock_tenant_imports(tenant_id)
        if job is not None:
            # Re-read under the lock: a second run of the job waits above for the first, and stops here.
            job = Job.objects.defer("content").select_related("duplicate_of").get(pk=job.pk)
            if job.is_finished:
                return result_of(job)
        previous = job_previous_import(kind=COSTS, sha256=sha256)
        if previous is not None:
            if job is not None:
                job_finish(job, status=JobStatus.DUPLICATE, duplicate_of=previous, message=duplicate_message(previous))
            return CostImportResult(format=fmt.name, duplicate_of=previous, job=job)

        with transaction.atomic():
            own_job = job is None
            if own_job:
                job = Job.objects.create(
                    tenant_id=tenant_id, kind=COSTS, filename=filename[:255], content=b"", content_once=True,
                    size=len(data), sha256=sha256, params={"format": fmt.name}, status=JobStatus.RUNNING,
                    started_at=timezone.now(), created_by=actor if getattr(actor, "pk", None) else None)
            stage = Stage()
            checked = check_rows(data, filename, fmt, default_currency=str(tenant.reporting_currency), sink=stage,
                                 progress=progress)
            result = CostImportResult(format=fmt.name, rows=checked.rows, errors=checked.errors,
                                      error_count=checked.error_count, currency_assumed=checked.currency_assumed)
            if checked.error_count:
                transaction.set_rollback(True)  # the staged rows (and a job row made here) go
                if own_job:
                    job = None
            else:
                if progress is not None:
                    progress(stage.rows, stage.rows, SAVING)
                result.created = stage.move(tenant_id=tenant_id, job_id=job.pk, source_format=fmt.name)
                result.skipped = stage.rows - result.created
                analyze_on_commit(CostItem, rows=result.created)
                if result.created:
                    from ..posting import (
                        ledger_refresh_on_commit,  # posting reads through the importers' kind
                    )

                    months = list(CostItem.objects.filter(import_job_id=job.pk).values_list("month", flat=True)
                                  .distinct())
                    ledger_refresh_on_commit(tenant_id=tenant_id, months=months)
        result.job = job
        if job is not None:
            if result.error_count:
                job_finish(job, status=JobStatus.FAILED, rows=result.rows, errors=result.errors,
                           error_count=result.error_count, message=result.summary(), result=result.result())
            else:
                job_finish(job, status=JobStatus.SUCCEEDED, rows=result.rows, message=result.summary(),
                           result=result.result())
                audit_record(tenant=tenant, actor=actor, action=AuditAction.COST_IMPORT, obj=job,
                             after={"filename": job.filename, "sha256": sha256, "format": fmt.name,
                                    "rows": result.rows, "items_created": result.created,
                                    "items_skipped": result.skipped})
        return result
