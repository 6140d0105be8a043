"""Budget uploads as background jobs (budgets/uploads.py): the request only records the file;
a worker reads it, imports it all or nothing, and keeps the result or every bad cell on the job,
which the upload page polls."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from budgets import services
from budgets.models import BudgetLine
from budgets.selectors import budget_periods
from budgets.tasks import budget_upload_run_task
from budgets.uploads import budget_upload_create, budget_upload_run
from finops import celery_app
from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_reporter
from finops.jobs.tasks import jobs_requeue_stale_all
from finops.ledger.models import JournalEntry
from finops.tenancy.context import tenant_context
from tests.xlsx_files import SHEET, declare_size, sheet_xml, xlsx

WIDE = (b"entity,account,account_name,cost_center,2026-01,2026-02\n"
        b"US,6100,Rent,OPS,100,200.50\n"
        b"US,4000,Revenue,,900,\n")


def url(name, org_slug="acme", **kwargs):
    return reverse(f"budgets:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def cells(books, version) -> dict[tuple[str, str, int], Decimal]:
    with tenant_context(books.org):
        return {(line.account.code, line.cost_center.code if line.cost_center else "", line.period.number): line.amount
                for line in BudgetLine.objects.filter(version=version).select_related("period", "account",
                                                                                      "cost_center")}


def job_of(books, pk) -> Job:
    with tenant_context(books.org):
        return Job.objects.get(pk=pk)


def test_the_request_only_records_the_file_and_the_worker_reads_it(finance, books, draft,
                                                                     django_capture_on_commit_callbacks):
    # A workbook whose sheet claims a gigabyte: were it read in the request, the answer would say so.
    bomb = declare_size(xlsx(sheet_xml([["entity", "account", "period", "amount"]])), SHEET, 1_000_000_000)

    with django_capture_on_commit_callbacks() as callbacks:
        response = finance.post(url("version_upload", pk=draft.pk), {"file": SimpleUploadedFile("plan.xlsx", bomb)})

    with tenant_context(books.org):
        job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == url("upload_detail", pk=job.pk)
    assert len(callbacks) == 1
    assert (job.kind, job.status, job.filename, bytes(job.content), job.params) == (
        "budget", JobStatus.QUEUED, "plan.xlsx", bomb, {"version_id": draft.pk})

    assert budget_upload_run_task(books.org.pk, job.pk) == "failed"

    job = job_of(books, job.pk)
    assert job.errors[0]["message"].startswith("The XLSX part xl/worksheets/sheet1.xml would unzip to 1,000.0 MB")
    assert job.message == "1 problem found: nothing was imported."
    assert cells(books, draft) == {}


def test_the_page_polls_while_the_job_waits_and_runs_then_shows_the_result(finance, books, draft):
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=WIDE,
                               enqueue=False)
    detail = url("upload_detail", pk=job.pk)

    queued = finance.get(detail, headers={"HX-Request": "true"}).content.decode()
    assert queued.lstrip().startswith('<section id="upload-status"')
    assert 'hx-trigger="every 1s"' in queued and "Waiting for a worker" in queued

    with tenant_context(books.org):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job_progress_reporter(job.pk)(1, 4, "check")
    running = finance.get(detail, headers={"HX-Request": "true"}).content.decode()
    assert "Checking rows: 1 of 4" in running and 'value="25"' in running

    with tenant_context(books.org):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    budget_upload_run_task(books.org.pk, job.pk)

    page = finance.get(detail).content.decode()
    assert "every 1s" not in page
    assert "3 rows into Plan 2026 v1: 3 cells created, 0 changed, 0 unchanged." in page
    assert f'href="{url("version", pk=draft.pk)}"' in page
    assert cells(books, draft) == {("6100", "OPS", 1): Decimal("100.00"), ("6100", "OPS", 2): Decimal("200.50"),
                                   ("4000", "", 1): Decimal("900.00")}


def test_a_failed_upload_lists_every_bad_cell_and_offers_the_form_again(finance, books, draft):
    data = WIDE.replace(b"200.50", b"abc").replace(b"US,4000", b"US,9999")
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=data,
                               enqueue=False)

    budget_upload_run(tenant=books.org, job_id=job.pk)

    job = job_of(books, job.pk)
    assert (job.status, job.rows, job.error_count) == (JobStatus.FAILED, 3, 2)
    assert job.errors == [
        {"line": 2, "message": "line 2 (6100 / OPS), 2026-02: Amount “abc” is not a number like 1234.56, -1234.56, "
                               "1,234.56 or (1,234.56)."},
        {"line": 3, "message": "line 3 (9999), 2026-01: Unknown account “9999”."},
    ]
    page = finance.get(url("upload_detail", pk=job.pk)).content.decode()
    assert "Nothing was imported" in page
    assert "<li>line 3 (9999), 2026-01: Unknown account “9999”.</li>" in page
    assert f'action="{url("version_upload", pk=draft.pk)}"' in page  # upload the corrected file from here
    assert cells(books, draft) == {}


def test_a_template_row_with_more_values_than_columns_is_named_not_cut(books, draft):
    # An unquoted "12,500.00" makes two values: the second must not be dropped silently.
    data = WIDE.replace(b"200.50", b"12,500.00").replace(b"US,4000", b"US,9999")
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=data,
                               enqueue=False)

    budget_upload_run(tenant=books.org, job_id=job.pk)

    assert job_of(books, job.pk).errors == [
        {"line": 2, "message": "line 2 (6100 / OPS): This line has 7 values but the header has 6 columns: quote "
                               "values that contain commas (e.g. \"1,234.56\")."},
        {"line": 3, "message": "line 3 (9999), 2026-01: Unknown account “9999”."},
    ]
    assert cells(books, draft) == {}


def revise(books, version):
    """Approve `version` (with one cell) and start v2, the newest."""
    january = budget_periods(tenant=books.org, budget=version.budget)[0]
    services.budget_lines_set(tenant=books.org, actor=None, version=version,
                              cells=[(books.rent, books.ops, january, Decimal("1.00"))])
    services.version_submit(tenant=books.org, actor=None, version=version)
    services.version_approve(tenant=books.org, actor=None, version=version)
    services.version_revise(tenant=books.org, actor=None, version=version)


def test_an_upload_into_an_older_version_is_refused_at_once(finance, books, draft):
    revise(books, draft)

    response = finance.post(url("version_upload", pk=draft.pk), {"file": SimpleUploadedFile("plan.csv", WIDE)})

    assert response.status_code == 400
    assert "Upload into the newest version (v2); v1 is not the one being worked on." in response.content.decode()
    with tenant_context(books.org):
        assert not Job.objects.exists()


def test_the_newest_version_is_checked_again_when_the_job_runs(books, draft):
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=WIDE,
                               enqueue=False)
    revise(books, draft)

    budget_upload_run(tenant=books.org, job_id=job.pk)

    assert job_of(books, job.pk).errors == [
        {"line": None, "message": "Upload into the newest version (v2); v1 is not the one being worked on."}]


def test_a_job_runs_once_even_if_its_task_is_delivered_twice(books, users, draft):
    job = budget_upload_create(tenant=books.org, actor=users["finance"], version=draft, filename="plan.csv",
                               data=WIDE, enqueue=False)

    assert budget_upload_run_task(books.org.pk, job.pk) == "succeeded"
    assert budget_upload_run_task(books.org.pk, job.pk) == "succeeded"

    with tenant_context(books.org):
        assert AuditEvent.objects.filter(action="budget.import").count() == 1
    assert job_of(books, job.pk).message == "3 rows into Plan 2026 v1: 3 cells created, 0 changed, 0 unchanged."


def test_the_same_file_may_be_uploaded_twice(books, draft):
    """Unlike GL actuals, a budget file may succeed twice: the second time every cell is unchanged."""
    first, second = (budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv",
                                          data=WIDE, enqueue=False) for _ in range(2))

    budget_upload_run(tenant=books.org, job_id=first.pk)
    budget_upload_run(tenant=books.org, job_id=second.pk)

    assert job_of(books, second.pk).status == JobStatus.SUCCEEDED
    assert job_of(books, second.pk).message == "3 rows into Plan 2026 v1: 0 cells created, 0 changed, 3 unchanged."


def test_an_unexpected_failure_fails_the_job_readably_and_writes_nothing(books, draft, monkeypatch):
    from budgets import importers

    def broken(**kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(importers, "budget_cells_write_checked", broken)
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=WIDE,
                               enqueue=False)

    assert budget_upload_run_task(books.org.pk, job.pk) == "failed"
    assert job_of(books, job.pk).message == ("The upload stopped on an unexpected error (OSError); nothing was "
                                             "written. Try again; if it fails again, tell your administrator.")
    assert cells(books, draft) == {}


def test_a_file_over_the_size_limit_is_refused_before_it_is_recorded(books, draft, settings):
    settings.IMPORT_MAX_BYTES = 1_000_000
    data = WIDE + b"US,6200,Software,,1,\n" * 60_000

    with pytest.raises(DomainError) as refused:
        budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=data)

    assert refused.value.message == "The file is 1.3 MB; the limit is 1 MB. Split it into several files."
    with tenant_context(books.org):
        assert not Job.objects.exists()


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_beat_requeues_a_lost_budget_upload_to_the_budget_importer(books, draft, eager_celery):
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="plan.csv", data=WIDE,
                               enqueue=False)
    with tenant_context(books.org):
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    assert jobs_requeue_stale_all() == 1

    assert job_of(books, job.pk).status == JobStatus.SUCCEEDED
    assert cells(books, draft)[("4000", "", 1)] == Decimal("900.00")
    with tenant_context(books.org):
        assert not JournalEntry.objects.exists()


def test_the_gl_import_pages_do_not_show_budget_uploads(client, users, books, draft):
    job = budget_upload_create(tenant=books.org, actor=None, version=draft, filename="budget-plan.csv", data=WIDE,
                               enqueue=False)
    client.force_login(users["finance"])

    page = client.get(reverse("ledger:import_list", kwargs={"org_slug": "acme"})).content.decode()

    assert "budget-plan.csv" not in page
    assert client.get(reverse("ledger:import_detail", kwargs={"org_slug": "acme", "pk": job.pk})).status_code == 404
