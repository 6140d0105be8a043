"""A cost import for real: a Celery worker process on the Redis broker picks the upload up from
the job's row, reports progress, and writes every item, exactly. Committed data is needed, hence
`transaction=True`."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from costs.importers.importing import SAVING
from costs.models import CostItem
from costs.services import cost_import_create
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_get
from finops.ledger.models import JournalEntry
from finops.tenancy.context import tenant_context
from tests.local_servers import celery_worker, child_env

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 6_000  # more than one progress report (every 5,000 rows)


def big_file() -> bytes:
    lines = ["ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,BillingCurrency,ProviderName,"
             "ServiceName,ResourceId,Tags"]
    lines += [f"2025-04-{n % 30 + 1:02d}T00:00:00Z,2025-04-{n % 30 + 1:02d}T01:00:00Z,Usage,0.{n:06d},0.{n:06d}5,USD,"
              f"AWS,EC2,i-{n:08x},\"{{\"\"n\"\": \"\"{n}\"\"}}\"" for n in range(1, ROWS + 1)]
    return ("\n".join(lines) + "\n").encode()


def wait_for(job: Job, org, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_context(org):
            job = Job.objects.defer("content").get(pk=job.pk)
        if job.is_finished:
            return job
        time.sleep(0.2)
    pytest.fail(f"cost import job {job.pk} is still {job.status} after {timeout} s")


@pytest.mark.worker
def test_a_real_worker_imports_an_uploaded_focus_file_with_exact_totals(org, users, tmp_path):
    with celery_worker(tmp_path / "worker.log", child_env()) as log:
        job = cost_import_create(tenant=org, actor=users["finance"], filename="april.csv", data=big_file(),
                                 source_format="focus")
        # No transaction is open here, so on_commit has sent the task to the broker already.
        job = wait_for(job, org)
        assert "Task costs.tasks.cost_import_run_task[" in log.read_text()

        again = wait_for(cost_import_create(tenant=org, actor=None, filename="copy.csv", data=big_file(),
                                            source_format="focus"), org)

    assert (job.status, job.rows, job.result["items_created"], job.result["items_skipped"], job.error_count) == (
        JobStatus.SUCCEEDED, ROWS, ROWS, 0, 0)
    assert job_progress_get(job_id=job.pk)["phase"] == SAVING
    with tenant_context(org):
        totals = CostItem.objects.aggregate(billed=Sum("billed_cost"), effective=Sum("effective_cost"), n=Count("id"))
        sample = CostItem.objects.get(resource_id=f"i-{1234:08x}")
    # Σ 0.nnnnnn for n = 1..6000 is Σ n / 10^6 = 18,003,000 / 10^6; each effective cost adds 5 × 10^-7.
    assert totals == {"billed": Decimal("18.003"), "effective": Decimal("18.006"), "n": ROWS}
    assert (sample.billed_cost, sample.effective_cost, sample.tags) == (
        Decimal("0.001234"), Decimal("0.0012345"), {"n": "1234"})
    assert (again.status, again.duplicate_of_id) == (JobStatus.DUPLICATE, job.pk)


@pytest.mark.worker
def test_a_real_worker_posts_an_imported_month_to_the_ledger_and_reposts_it_when_a_rule_changes(books, users, tmp_path):
    from costs.services import cost_ledger_settings_save, mapping_rule_save
    from finops.ledger.models import DerivedPosting as CostPosting
    from finops.ledger.models import JournalLine, Source

    org = books.org
    cost_ledger_settings_save(tenant=org, actor=users["finance"], entity=books.usd, accrual_account=books.payable,
                              unallocated_account=books.software)

    def posting_version(version: int, timeout: float = 90) -> CostPosting:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with tenant_context(org):
                found = CostPosting.objects.filter(version__gte=version).first()
            if found is not None:
                return found
            time.sleep(0.2)
        pytest.fail(f"no cost posting of version {version} after {timeout} s")

    def lines(entry_id: int) -> list[tuple]:
        with tenant_context(org):
            return [(line.account.code, line.cost_center.code if line.cost_center else None, line.txn_amount)
                    for line in JournalLine.objects.filter(entry_id=entry_id).select_related("account", "cost_center")
                    .order_by("line_no")]

    with celery_worker(tmp_path / "worker.log", child_env()) as log:
        # The import's commit queues the posting of its month; the rule's commit queues a repost.
        wait_for(cost_import_create(tenant=org, actor=users["finance"], filename="april.csv", data=big_file(),
                                    source_format="focus"), org)
        first = posting_version(1)
        mapping_rule_save(tenant=org, actor=users["finance"], name="EC2", service="EC2", cost_center=books.ops,
                          account=books.rent)
        second = posting_version(2)
        assert "Task costs.tasks.cost_ledger_refresh_task[" in log.read_text()

    assert (first.amount, lines(first.entry_id)) == (Decimal("18.01"), [
        ("6200", None, Decimal("18.01")), ("2000", None, Decimal("-18.01"))])
    assert (second.amount, lines(second.entry_id)) == (Decimal("18.01"), [
        ("6100", "OPS", Decimal("18.01")), ("2000", None, Decimal("-18.01"))])
    with tenant_context(org):
        assert JournalEntry.objects.filter(source=Source.REVERSAL, reverses_id=first.entry_id).count() == 1
