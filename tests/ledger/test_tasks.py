from datetime import timedelta

import pytest
from django.utils import timezone

from finops import celery_app
from finops.ledger.importers import import_job_create
from finops.ledger.models import ImportJob, ImportStatus, PeriodBalance
from finops.ledger.tasks import import_jobs_requeue_stale
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
        ImportJob.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    assert import_jobs_requeue_stale() == 1

    with tenant_context(books.org):
        assert ImportJob.objects.get(pk=lost.pk).status == ImportStatus.SUCCEEDED
        assert ImportJob.objects.get(pk=fresh.pk).status == ImportStatus.QUEUED
        assert PeriodBalance.objects.get(account=books.rent).amount == 250
    assert import_jobs_requeue_stale() == 0
