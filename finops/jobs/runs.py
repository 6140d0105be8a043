"""Background jobs kept in database rows: the status machine, a heartbeat while a job runs, and
what beat hands to a worker again.

The ROW, not the broker message, is the record that a job has to run: `Job` (models.py), with
`status` ("queued" → "running" → a final state such as "succeeded" or "failed"), `created_at`,
`started_at`, `finished_at`, `message`, `heartbeat_at` and `attempts`.

- `job_start` is the only way from queued to running, under a row lock: a finished job is left
  alone, and so is one that another worker is running (its heartbeat is fresh). A job whose
  heartbeat stopped is taken over. Two runs that both got past it (a requeue of a job that was
  only slow) must still produce one result: that is the job's own business (the GL import
  serialises on an advisory lock, re-reads the row and writes all or nothing with idempotency
  keys).
- `job_heartbeat` beats `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread with its own
  database connection, so the row shows the job alive even while the job's own connection waits
  on one long statement (the import posts every line in one INSERT).
- `jobs_requeue_stale` (beat) finds jobs with no sign of life: running with a heartbeat older
  than JOB_HEARTBEAT_TIMEOUT (the worker died: SIGKILL, OOM, a lost machine), or queued for
  longer than JOB_QUEUED_TIMEOUT (the message was lost with a Redis restart). It puts them back
  to queued and returns them to be sent again; after JOB_MAX_ATTEMPTS interrupted runs it fails
  the job instead, so a file that kills its worker does not kill one every few minutes forever.

Times are the database's (`now()`) on both sides, so clocks of workers and beat never disagree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, Now

from finops.tenancy.context import tenant_context

from .models import Job, JobStatus

log = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED = JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED
UNFINISHED = (QUEUED, RUNNING)
BEAT_LOCK_TIMEOUT = "2s"  # a beat never waits long for the job's row: the next one will try again


def _ago(seconds: float):
    return Now() - timedelta(seconds=float(seconds))


def job_start(*, tenant, pk: int) -> bool:
    """Whether this run may go ahead; if so the job is now running (committed), `attempts`
    counts this run and its heartbeat starts fresh. False for a missing or finished job, and for
    one that another worker is running (its heartbeat is fresh)."""
    with tenant_context(tenant):
        # FOR NO KEY UPDATE: what the UPDATE below takes anyway, and no more.
        found = (Job.objects.select_for_update(no_key=True).filter(pk=pk)
                 .annotate(alive=ExpressionWrapper(Q(heartbeat_at__gte=_ago(settings.JOB_HEARTBEAT_TIMEOUT)),
                                                   output_field=BooleanField()))
                 .values_list("status", "alive").first())
        if found is None:
            return False
        status, alive = found
        if status not in UNFINISHED or (status == RUNNING and alive):
            return False
        Job.objects.filter(pk=pk).update(status=RUNNING, started_at=Now(), heartbeat_at=Now(),
                                           attempts=F("attempts") + 1)
        return True


class _Beater(threading.Thread):
    def __init__(self, tenant_id: int, pk: int, interval: float):
        super().__init__(name=f"heartbeat:job:{pk}", daemon=True)
        self.tenant_id, self.pk, self.interval = tenant_id, pk, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                self.beat()
        finally:
            connections.close_all()  # this thread's own connection: nobody else would close it

    def beat(self) -> None:
        try:
            with tenant_context(self.tenant_id):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [BEAT_LOCK_TIMEOUT])
                Job.objects.filter(pk=self.pk, status=RUNNING).update(heartbeat_at=Now())
        except Exception:  # noqa: BLE001 - a missed beat is not the job's failure
            log.warning("could not beat the heartbeat of job %s", self.pk, exc_info=True)


@contextmanager
def job_heartbeat(*, tenant, pk: int, interval: float | None = None) -> Iterator[None]:
    """Beat the running job's `heartbeat_at` while the block runs (see the module docstring).

    The first beat is one interval in (`job_start` has just set it). The thread only ever sets
    `heartbeat_at` of a row that is still running, so it cannot undo what the job writes; the
    block commits what it writes before it ends (the thread is joined after it, and a beat that
    waits for the job's own lock gives up after BEAT_LOCK_TIMEOUT)."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    beater = _Beater(tenant_id, pk, settings.JOB_HEARTBEAT_SECONDS if interval is None else interval)
    beater.start()
    try:
        yield
    finally:
        beater.stopped.set()
        beater.join(timeout=beater.interval + 5)


def jobs_requeue_stale(*, tenant, max_attempts: int | None = None) -> list[int]:
    """Ids of the tenant's jobs to hand to a worker again: stale running jobs are put back to
    queued, stale queued ones stay queued, and running jobs interrupted `max_attempts` times are
    failed instead. Commits before it returns, so the caller sends the messages after the rows
    say queued. Rows locked right now (a worker starting or beating them) are skipped: a row
    being worked on is not stale."""
    max_attempts = settings.JOB_MAX_ATTEMPTS if max_attempts is None else max_attempts
    with tenant_context(tenant):
        stale = list(
            Job.objects.select_for_update(no_key=True, skip_locked=True)
            .annotate(last_sign=Coalesce("heartbeat_at", "started_at", "created_at"))
            .filter(Q(status=QUEUED, last_sign__lt=_ago(settings.JOB_QUEUED_TIMEOUT))
                    | Q(status=RUNNING, last_sign__lt=_ago(settings.JOB_HEARTBEAT_TIMEOUT)))
            .order_by("pk")
            .values_list("pk", "status", "attempts")
        )
        given_up = [pk for pk, status, attempts in stale if status == RUNNING and attempts >= max_attempts]
        requeue = [pk for pk, _, _ in stale if pk not in given_up]
        if given_up:
            Job.objects.filter(pk__in=given_up).update(
                status=FAILED, finished_at=Now(),
                message=(f"The job stopped {max_attempts} times without finishing (the worker running it was "
                         "lost) and was not tried again; nothing was written. Tell your administrator: the "
                         "worker's log says why it stopped (often memory)."))
            log.error("jobs %s: interrupted %s times, failed", given_up, max_attempts)
        if requeue:
            # Its last sign of life is now: it is not stale again before the queued timeout.
            Job.objects.filter(pk__in=requeue).update(status=QUEUED, heartbeat_at=Now())
    return requeue
