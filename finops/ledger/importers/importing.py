"""The GL import itself: all or nothing, in one transaction.

Imports into one tenant are serialised by an advisory lock, so the duplicate and idempotency
checks see every earlier import committed. A file whose SHA-256 matches a succeeded import of
the tenant changes nothing; an entry whose idempotency key `import:<entity code>:<entry_ref>`
exists already is skipped and counted, so overlapping files never post twice. After the commit
of an import that wrote entries, the ledger says so with `actuals_changed` (`signals.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.db import analyze_on_commit
from finops.imports import RowError
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import Progress, job_progress_reporter
from finops.jobs.records import duplicate_message, job_finish, job_previous_import
from finops.tenancy.context import tenant_context
from finops.webhooks.events import webhook_emit

from ..models import JournalEntry, JournalLine, Period, PeriodBalance
from ..signals import actuals_changed_on_commit
from .parsing import no_cyclic_gc
from .reference import gl_reference_load
from .writing import write_while_checking

IMPORT_LOCK_CLASS = 0x676C_696D  # pg_advisory_xact_lock(class, tenant): "glim"
GL = "gl"  # the job kind (finops/jobs): a GL file imports once

@dataclass
class GlImportResult:
    created: int = 0
    skipped: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicate_of: Job | None = None
    job: Job | None = None
    far_ahead: list[date] = field(default_factory=list)  # months of the file dated far ahead (finops.bounds)

    @property
    def ok(self) -> bool:
        return not self.errors and self.duplicate_of is None

    @property
    def far_ahead_warning(self) -> str | None:
        """"Entries dated 38 months ahead (January 2030): is the year right?", for the furthest month."""
        if not self.far_ahead:
            return None
        months = ", ".join(f"{m:%Y-%m}" for m in self.far_ahead[:6])
        if len(self.far_ahead) > 6:
            months += f" and {len(self.far_ahead) - 6} more"
        return (f"Entries {bounds.far_ahead_warning(self.far_ahead[-1], today=self.today)} "
                f"Months far ahead: {months}; reverse what is wrong from the journal.")

    def summary(self) -> str:
        if self.duplicate_of is not None:
            return duplicate_message(self.duplicate_of)
        if self.errors:
            n = len(self.errors)
            return f"{n:,} problem{'s' if n != 1 else ''} found: nothing was imported."
        done = (f"{self.rows:,} row{'s' if self.rows != 1 else ''}: {self.created:,} "
                f"entr{'y' if self.created == 1 else 'ies'} created, {self.skipped:,} already imported (skipped).")
        return f"{done} {self.far_ahead_warning}" if self.far_ahead else done

    @property
    def today(self) -> date:
        """The day the import ran (a job's result is read later): what "ahead" is counted from."""
        moment = self.job.finished_at if self.job is not None and self.job.finished_at else None
        return timezone.localdate(moment) if moment else timezone.localdate()


def _lock_tenant_imports(tenant_id: int) -> None:
    """Imports into one tenant run one at a time: the duplicate and idempotency checks then
    see every earlier import committed. (The lock ends with the transaction.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_CLASS, tenant_id])


def gl_import(*, tenant, actor, data: bytes, filename: str, job: Job | None = None,
              progress: Progress | None = None) -> GlImportResult:
    """Import GL actuals from `data` (CSV or XLSX), all or nothing.

    Row problems do not raise: they are in `result.errors`, and then nothing is written. With a
    `job`, its status and counters are recorded in the same transaction as the entries; without
    one, a succeeded import is recorded as a job too, so the same file is recognised next time.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    if progress is None and job is not None:
        progress = job_progress_reporter(job.pk)
    with tenant_context(tenant) as tenant_id:
        _lock_tenant_imports(tenant_id)
        if job is not None:
            # Re-read under the tenant's import lock: a second run of the job (a requeue of one
            # that was only slow) waits above until the first committed, and stops here. The
            # row itself is not locked, so the job's heartbeat can go on beating it meanwhile.
            job = Job.objects.defer("content").get(pk=job.pk)
            if job.is_finished:
                return result_of(job)
        previous = job_previous_import(kind=GL, sha256=sha256)
        if previous is not None:
            if job is not None:
                job_finish(job, status=JobStatus.DUPLICATE, duplicate_of=previous,
                           message=duplicate_message(previous))
            return GlImportResult(duplicate_of=previous, job=job)

        ref = gl_reference_load(tenant=tenant)
        with transaction.atomic():
            # Entries are written while the file is checked (writing.py): if anything is wrong,
            # this savepoint takes them back, with the periods (and the job row) just created.
            own_job = job is None
            if own_job:
                # Only the fingerprint is kept (the caller has the file): the row makes the
                # same content recognisable next time without storing it twice.
                job = Job.objects.create(
                    tenant_id=tenant_id, kind=GL, filename=filename[:255], content=b"", content_once=True,
                    size=len(data), sha256=sha256, status=JobStatus.RUNNING, started_at=timezone.now(),
                    created_by=actor if getattr(actor, "pk", None) else None)
            with no_cyclic_gc():
                written = write_while_checking(tenant=tenant, actor=actor, job_id=job.pk, data=data,
                                               filename=filename, ref=ref, progress=progress)
            parsed, errors, created, skipped = written.parsed, written.errors, written.created, written.skipped
            if errors:
                transaction.set_rollback(True)
                if own_job:
                    job = None
            elif created:
                # After the commit, the statistics of what was loaded (see finops/db.py).
                analyze_on_commit(JournalEntry, JournalLine, PeriodBalance, Period, rows=parsed.rows)
        far_from = bounds.far_ahead_from()
        result = GlImportResult(created=created, skipped=skipped if not errors else 0, rows=parsed.rows,
                                errors=errors, job=job,
                                far_ahead=[] if errors else [m for m in written.months if m >= far_from])
        if job is not None:
            if errors:
                job_finish(job, status=JobStatus.FAILED, rows=parsed.rows, errors=errors, message=result.summary())
                webhook_emit(tenant=tenant, event_type="import.failed", ref=job.pk, seq=0, data={
                    "job": job.pk, "filename": job.filename, "rows": parsed.rows, "errors": len(errors),
                    "first_error": str(errors[0])})
            else:
                job_finish(job, status=JobStatus.SUCCEEDED, rows=parsed.rows, message=result.summary(),
                           result={"entries_created": created, "entries_skipped": skipped,
                                   "months_far_ahead": [f"{m:%Y-%m-%d}" for m in result.far_ahead]})
                audit_record(tenant=tenant, actor=actor, action=AuditAction.JOURNAL_IMPORT, obj=job,
                             after={"filename": job.filename, "sha256": sha256, "rows": parsed.rows,
                                    "entries_created": created, "entries_skipped": skipped})
                webhook_emit(tenant=tenant, event_type="import.completed", ref=job.pk, seq=0, data={
                    "job": job.pk, "filename": job.filename, "rows": parsed.rows, "entries_created": created,
                    "entries_skipped": skipped})
                if created:
                    actuals_changed_on_commit(tenant_id)
        return result


def result_of(job: Job) -> GlImportResult:
    return GlImportResult(
        created=job.result.get("entries_created", 0), skipped=job.result.get("entries_skipped", 0), rows=job.rows,
        job=job,
        errors=[RowError(e["line"], e["message"]) for e in job.errors], duplicate_of=job.duplicate_of,
        far_ahead=[date.fromisoformat(m) for m in job.result.get("months_far_ahead", [])],
    )
