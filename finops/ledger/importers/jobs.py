"""GL import jobs: the upload is recorded now, and a worker imports it (`tasks.gl_import_run`)
while the page polls its progress (`progress.py`)."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from finops.errors import DomainError
from finops.tenancy.context import tenant_context

from ..models import ImportJob, ImportKind, ImportStatus
from .importing import duplicate_message, finish_job, gl_import

log = logging.getLogger(__name__)


def import_job_create(*, tenant, actor, filename: str, data: bytes, enqueue: bool = True) -> ImportJob:
    """Record an uploaded file as a job and, after commit, hand it to a worker. A file that a
    succeeded import already brought in becomes a `duplicate` job at once."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise DomainError(f"The file is {len(data) / 1e6:,.1f} MB; the limit is "
                          f"{settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB. Split it into several files.")
    sha256 = hashlib.sha256(data).hexdigest()
    with tenant_context(tenant) as tenant_id:
        job = ImportJob(tenant_id=tenant_id, kind=ImportKind.GL, filename=(filename or "upload")[:255],
                        content=data, size=len(data), sha256=sha256,
                        created_by=actor if getattr(actor, "pk", None) else None)
        previous = (ImportJob.objects.filter(kind=ImportKind.GL, sha256=sha256, status=ImportStatus.SUCCEEDED)
                    .defer("content").first())
        if previous is not None:
            job.status, job.duplicate_of, job.message = ImportStatus.DUPLICATE, previous, duplicate_message(previous)
            job.started_at = job.finished_at = timezone.now()
            job.save()
            return job
        job.save()
        if enqueue:
            from ..tasks import gl_import_run

            # robust: if the broker is down the upload is still saved, and the job waits as queued.
            transaction.on_commit(lambda: gl_import_run.delay(tenant_id, job.pk), robust=True)
        return job


def import_job_run(*, tenant, job_id: int) -> ImportJob | None:
    """Run a queued job (what the worker and the command do). Safe to run twice: a finished job
    is left alone, and two runs of one job serialise on its row lock."""
    with tenant_context(tenant):
        job = ImportJob.objects.select_for_update().defer("content").filter(kind=ImportKind.GL, pk=job_id).first()
        if job is None or job.is_finished:
            return job
        job.status, job.started_at = ImportStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    try:
        with tenant_context(tenant):
            data = bytes(ImportJob.objects.values_list("content", flat=True).get(pk=job_id))
        gl_import(tenant=tenant, actor=job.created_by, data=data, filename=job.filename, job=job)
    except Exception as exc:
        log.exception("GL import job %s failed", job_id)
        with tenant_context(tenant):
            job = ImportJob.objects.select_for_update().defer("content").get(pk=job_id)
            if not job.is_finished:
                finish_job(job, status=ImportStatus.FAILED, message=(
                    f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                    "Try again; if it fails again, tell your administrator."))
    with tenant_context(tenant):
        return ImportJob.objects.defer("content").select_related("duplicate_of").get(pk=job_id)
