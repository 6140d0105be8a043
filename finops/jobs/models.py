"""The background job row, whatever the job does (`finops.jobs`).

One row per job: what it is (`kind`, registered by its app with the task that runs it), who asked
(`created_by`), its input (a file kept in the row, `content`, with its size and SHA-256, since the
worker may sit on another machine than the web server that received it; other inputs in
`params`), its state (`status`, `started_at`, `finished_at`, the heartbeat and attempts the
runner keeps: `runs.py`), and how it ended: `rows` read, a `result` summary by kind (a GL import's
{"entries_created", "entries_skipped"}), every problem (`errors`, with `error_count` the total),
a `message` in words, and `duplicate_of` for a file that was imported before.

A kind may say its file imports once (`content_once`): at most one succeeded job per tenant,
kind and content, so importing the same file again is recognised and changes nothing (GL
actuals). A budget file may succeed twice: the second time no cell changes, and the same file may
go into another version.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.tenancy.models import TenantModel


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DUPLICATE = "duplicate", "Already imported"


class Job(TenantModel):
    MAX_STORED_ERRORS = 1000

    kind = models.CharField(max_length=20)  # "gl", "budget", … (`records.job_kind_register`)
    params = models.JSONField(default=dict, blank=True)  # by kind: a budget upload's {"version_id": …}
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.BigIntegerField(default=0)  # bytes
    sha256 = models.CharField(max_length=64)
    content_once = models.BooleanField(default=False)  # this kind imports a file once (see above)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)  # a summary by kind
    # [{"line": int | None, "message": str}], at most MAX_STORED_ERRORS; error_count has the total.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                     db_constraint=False)  # a composite key: finops/tenancy/keys.py
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The job's last sign of life (`runs.py`): beaten by the worker while it runs, set when beat
    # hands the job to a worker again. Database time on both sides.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started; beat gives up at JOB_MAX_ATTEMPTS

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "sha256"],
                                    condition=models.Q(status="succeeded", content_once=True),
                                    name="job_succeeded_content_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "kind", "-created_at", "-id"], name="job_created_idx")]

    def __str__(self) -> str:
        return f"Job #{self.pk} {self.filename}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (JobStatus.QUEUED, JobStatus.RUNNING)
