import threading
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import connection
from django.utils import timezone

from finops import celery_app
from finops.jobs.models import Job, JobStatus
from finops.jobs.runs import job_heartbeat, job_start
from finops.jobs.tasks import jobs_requeue_stale_all
from finops.ledger.importers import import_job_create
from finops.ledger.models import PeriodBalance
from finops.ledger.tasks import gl_import_run
from finops.tenancy.context import tenant_context

GL = (b"date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
      b"2026-03-02,R1,US,6100,OPS,250.00,USD,rent\n"
      b"2026-03-02,R1,US,1000,,-250.00,USD,rent\n")


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_beat_requeues_a_job_whose_message_was_lost_and_leaves_fresh_ones(books, eager_celery):
    lost = import_job_create(tenant=books.org, actor=None, filename="lost.csv", data=GL, enqueue=False)
    fresh = import_job_create(tenant=books.org, actor=None, filename="fresh.csv", data=GL + b"\n", enqueue=False)
    with tenant_context(books.org):
        Job.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    assert jobs_requeue_stale_all() == 1

    with tenant_context(books.org):
        assert Job.objects.get(pk=lost.pk).status == JobStatus.SUCCEEDED
        assert Job.objects.get(pk=fresh.pk).status == JobStatus.QUEUED
        assert PeriodBalance.objects.get(account=books.rent).amount == 250
    assert jobs_requeue_stale_all() == 0


def running(job, *, attempts: int, heartbeat_ago: timedelta) -> None:
    """The row as a worker left it: running since it started, its last beat `heartbeat_ago`."""
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=attempts,
                                               started_at=timezone.now() - timedelta(hours=1),
                                               heartbeat_at=timezone.now() - heartbeat_ago)


def test_beat_requeues_a_running_job_whose_heartbeat_stopped_and_leaves_one_that_beats(books, eager_celery):
    dead = import_job_create(tenant=books.org, actor=None, filename="dead.csv", data=GL, enqueue=False)
    alive = import_job_create(tenant=books.org, actor=None, filename="alive.csv", data=GL + b"\n", enqueue=False)
    with tenant_context(books.org):
        running(dead, attempts=1, heartbeat_ago=timedelta(seconds=121))
        running(alive, attempts=1, heartbeat_ago=timedelta(seconds=30))

    assert jobs_requeue_stale_all() == 1

    with tenant_context(books.org):
        assert Job.objects.values_list("status", "attempts").get(pk=dead.pk) == (JobStatus.SUCCEEDED, 2)
        assert Job.objects.values_list("status", "attempts").get(pk=alive.pk) == (JobStatus.RUNNING, 1)
        assert PeriodBalance.objects.get(account=books.rent).amount == 250


def test_a_job_whose_worker_was_lost_three_times_is_failed_not_requeued_again(books, eager_celery):
    job = import_job_create(tenant=books.org, actor=None, filename="huge.csv", data=GL, enqueue=False)
    with tenant_context(books.org):
        running(job, attempts=3, heartbeat_ago=timedelta(minutes=5))

    assert jobs_requeue_stale_all() == 0

    with tenant_context(books.org):
        job = Job.objects.get(pk=job.pk)
        assert not PeriodBalance.objects.exists()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert job.message.startswith("The job stopped 3 times without finishing (the worker running it was lost)")
    assert job.finished_at is not None


def test_a_second_delivery_of_a_job_running_elsewhere_does_nothing_and_a_dead_run_is_taken_over(books):
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=GL, enqueue=False)
    with tenant_context(books.org):
        running(job, attempts=1, heartbeat_ago=timedelta(seconds=5))

    assert gl_import_run(books.org.pk, job.pk) == JobStatus.RUNNING
    with tenant_context(books.org):
        assert Job.objects.get(pk=job.pk).attempts == 1
        assert not PeriodBalance.objects.exists()
        running(job, attempts=1, heartbeat_ago=timedelta(minutes=3))

    assert gl_import_run(books.org.pk, job.pk) == JobStatus.SUCCEEDED
    with tenant_context(books.org):
        assert Job.objects.get(pk=job.pk).attempts == 2
        assert PeriodBalance.objects.get(account=books.rent).amount == 250


def test_a_requeued_job_waits_as_queued_and_is_not_sent_again_before_the_queued_timeout(books):
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=GL, enqueue=False)
    with tenant_context(books.org):
        running(job, attempts=1, heartbeat_ago=timedelta(minutes=3))
    sent = []
    with patch.object(gl_import_run, "delay", lambda *args: sent.append(args)):
        assert jobs_requeue_stale_all() == 1
        assert jobs_requeue_stale_all() == 0  # the message is on its way; a busy queue is not a lost one
    assert sent == [(books.org.pk, job.pk)]
    with tenant_context(books.org):
        assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_beats_from_its_own_connection_while_the_jobs_connection_is_in_one_long_statement(books):
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=GL, enqueue=False)
    assert job_start(tenant=books.org, pk=job.pk) is True
    with tenant_context(books.org):
        started = Job.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk)
    sessions = database_sessions()

    with job_heartbeat(tenant=books.org, pk=job.pk, interval=0.2):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")

    with tenant_context(books.org):
        beaten = Job.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk)
    assert timedelta(seconds=0.6) < beaten - started < timedelta(seconds=1.5)
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat:")]
    assert database_sessions() == sessions  # the thread closed its connection


def database_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]
