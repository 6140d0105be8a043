"""The GL import for real: a Celery worker process on the Redis broker, and the command as a
subprocess. Both need committed data, hence `transaction=True` (the test database is then
emptied by TRUNCATE afterwards)."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from finops import dbsetup
from finops.audit.models import AuditEvent
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_get
from finops.jobs.tasks import jobs_requeue_stale_all
from finops.ledger.importers import import_job_create
from finops.ledger.models import JournalEntry, PeriodBalance
from finops.tenancy.context import tenant_context
from tests.local_servers import celery_worker, celery_worker_process, child_env, wait_until

ROOT = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(tmp_path):
    """A real `celery worker -P solo`, started and stopped by this test."""
    with celery_worker(tmp_path / "worker.log", child_env()) as log:
        yield log


def wait_for(job: Job, org, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_context(org):
            job = Job.objects.defer("content").get(pk=job.pk)
        if job.is_finished:
            return job
        time.sleep(0.2)
    pytest.fail(f"import job {job.pk} is still {job.status} after {timeout} s")


ROWS = 3_000  # 1,000 entries of three lines; progress is reported every 5,000 rows at most


def big_file() -> bytes:
    lines = ["date,entry_ref,entity,account,cost_center,amount,currency,memo"]
    for n in range(1, ROWS // 3 + 1):
        day = n % 28 + 1
        lines += [
            f"2026-03-{day:02d},B-{n},US,6100,OPS,{n}.25,,rent {n}",
            f"2026-03-{day:02d},B-{n},US,6200,SALES,10.00,,software {n}",
            f"2026-03-{day:02d},B-{n},US,2000,,-{n + 10}.25,,",
        ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.worker
def test_a_real_worker_imports_an_uploaded_file_with_exact_balances(books, users, worker):
    job = import_job_create(tenant=books.org, actor=users["finance"], filename="march.csv", data=big_file())
    # No transaction is open here, so on_commit has sent the task to the broker already.

    job = wait_for(job, books.org)

    assert (job.status, job.rows, job.result["entries_created"], job.result["entries_skipped"], job.error_count) == (
        JobStatus.SUCCEEDED, 3000, 1000, 0, 0)
    assert "Task finops.ledger.tasks.gl_import_run[" in worker.read_text()
    # Σ n.25 for n = 1..1000 = 500,500 + 250 = 500,750.00; software 1,000 × 10.00.
    with tenant_context(books.org):
        totals = {(a, c): amount for a, c, amount in PeriodBalance.objects.values_list(
            "account__code", "cost_center__code", "amount")}
        assert JournalEntry.objects.filter(import_job_id=job.pk).count() == 1000
    assert totals == {
        ("6100", "OPS"): Decimal("500750.0000"),
        ("6200", "SALES"): Decimal("10000.0000"),
        ("2000", None): Decimal("-510750.0000"),
    }
    assert job_progress_get(job_id=job.pk)["phase"] == "post"

    again = wait_for(import_job_create(tenant=books.org, actor=None, filename="copy.csv", data=big_file()), books.org)
    assert (again.status, again.duplicate_of_id) == (JobStatus.DUPLICATE, job.pk)


def lock_holder() -> psycopg.Connection:
    """A second session on the test database, in a transaction, as the owner: the runtime role
    may not take a SHARE lock on the period balances (it may not write them)."""
    roles = dbsetup.roles()
    return dbsetup.connect(connection.settings_dict["NAME"], user=roles.owner, password=roles.owner_password,
                           autocommit=False)


def posting_is_waiting() -> bool:
    """The import's posting statement (all lines in one INSERT) is running and waits for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO ledger_journalline%%'")
        return cursor.fetchone()[0] == 1


def heartbeat_of(job: Job, org):
    with tenant_context(org):
        return Job.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk)


@pytest.mark.worker
def test_a_worker_killed_mid_posting_leaves_a_job_that_beat_requeues_and_a_second_worker_posts_once(
        books, users, tmp_path, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 3  # seconds, for the requeue run here; the workers beat every 0.5 s
    env = {**child_env(), "JOB_HEARTBEAT_SECONDS": "0.5"}
    # Hold the posting statement where it is slowest: the lines are inserted, and its trigger
    # waits to update the period balances (a SHARE lock refuses their ROW EXCLUSIVE).
    blocker = lock_holder()
    blocker.execute("LOCK TABLE ledger_periodbalance IN SHARE MODE")
    try:
        with celery_worker_process(tmp_path / "first.log", env, hostname="first@%h") as first:
            job = import_job_create(tenant=books.org, actor=users["finance"], filename="march.csv", data=big_file())
            wait_until(posting_is_waiting, what="the posting statement")
            assert job_progress_get(job_id=job.pk)["phase"] == "post"
            beat = heartbeat_of(job, books.org)
            wait_until(lambda: heartbeat_of(job, books.org) > beat, timeout=10, what="a heartbeat while posting")
            assert jobs_requeue_stale_all() == 0  # alive: left alone

            first.kill()
            last = heartbeat_of(job, books.org)
            time.sleep(3.5)
            assert heartbeat_of(job, books.org) == last  # nobody beats for it any more
            with tenant_context(books.org):
                assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING

        with celery_worker_process(tmp_path / "second.log", env, hostname="second@%h") as second:
            assert jobs_requeue_stale_all() == 1
            blocker.rollback()  # the dead worker's session ends; its transaction rolls back

            job = wait_for(job, books.org)

            assert "Task finops.ledger.tasks.gl_import_run[" in second.read_text()
    finally:
        blocker.close()
    assert (job.status, job.rows, job.result["entries_created"], job.result["entries_skipped"], job.attempts) == (
        JobStatus.SUCCEEDED, 3000, 1000, 0, 2)
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 1000
        assert AuditEvent.objects.filter(action="journal.import").count() == 1
        totals = {(a, c): amount for a, c, amount in PeriodBalance.objects.values_list(
            "account__code", "cost_center__code", "amount")}
    assert totals == {
        ("6100", "OPS"): Decimal("500750.0000"),
        ("6200", "SALES"): Decimal("10000.0000"),
        ("2000", None): Decimal("-510750.0000"),
    }
    assert jobs_requeue_stale_all() == 0


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120)


def test_the_command_exits_1_with_the_bad_rows_on_stderr_then_imports_the_corrected_file(books, tmp_path):
    path = tmp_path / "actuals.csv"
    path.write_text("date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
                    "2026-03-05,R1,US,6100,OPS,100,,\n"
                    "2026-03-05,R1,US,2999,,-100,,\n")

    refused = manage("import_actuals", str(path), "--org", "acme")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr == ("line 3: Unknown account “2999”.\n"
                              "CommandError: actuals.csv: 1 problem found: nothing was imported.\n")

    path.write_text(path.read_text().replace("2999", "2000"))
    imported = manage("import_actuals", str(path), "--org", "acme", "--user", "finance@acme.test")

    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout == "actuals.csv: 2 rows: 1 entry created, 0 already imported (skipped).\n"
    with tenant_context(books.org):
        assert PeriodBalance.objects.get(account__code="6100").amount == Decimal("100.0000")
        assert Job.objects.get(status="succeeded").created_by == users_finance(books)


def users_finance(books):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(email="finance@acme.test")
