"""Costs → Import and the cost items page: the upload only records the file (a worker imports
it), the job's page polls and then shows the result or every bad row, and the items it brought
are listed with totals per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from costs.services import cost_import_create
from costs.tasks import cost_import_run_task
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_reporter
from finops.tenancy.context import tenant_context

# session, user, organisation, tenant settings, membership, one page of items, the totals, the
# memberships of the shell, with their savepoints: the same whatever the number of items.
QUERIES = 15
APRIL = (b"ChargePeriodStart,ChargeCategory,ChargeClass,BilledCost,EffectiveCost,BillingCurrency,ProviderName,"
         b"ServiceName,ChargeDescription\n"
         b"2025-04-01T00:00:00Z,Usage,,10.004,9.5,USD,AWS,EC2,VM hours\n"
         b"2025-04-02T00:00:00Z,Credit,,-1.001,-1.001,USD,AWS,EC2,Promotional credit\n"
         b"2025-04-02T00:00:00Z,Usage,,3.10,3.10,EUR,Hetzner,Servers,Dedicated server\n")


def url(name, org_slug="acme", **kwargs):
    return reverse(f"costs:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def test_the_upload_only_records_the_file_and_the_worker_imports_it(finance, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = finance.post(url("import_list"), {"source_format": "focus",
                                                     "file": SimpleUploadedFile("april.csv", APRIL)})

    with tenant_context(org):
        job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == url("import_detail", pk=job.pk)
    assert len(callbacks) == 1
    assert (job.kind, job.status, job.filename, bytes(job.content), job.params, job.content_once) == (
        "costs", JobStatus.QUEUED, "april.csv", APRIL, {"format": "focus"}, True)

    assert cost_import_run_task(org.pk, job.pk) == "succeeded"

    page = finance.get(url("import_detail", pk=job.pk)).content.decode()
    assert "3 rows: 3 cost items created, 0 already imported (skipped)." in page
    assert f'href="{url("index")}?job={job.pk}"' in page
    items = finance.get(url("index"), {"job": job.pk}).content.decode()
    assert items.count('<tr>') == 4  # the header and three items
    assert "VM hours" in items and "Promotional credit" in items and "Dedicated server" in items
    assert "3 items" not in items  # totals are per currency
    assert "2 items · billed <strong>9.00</strong> · effective <strong>8.50</strong> USD" in " ".join(items.split())
    assert "1 item · billed <strong>3.10</strong> · effective <strong>3.10</strong> EUR" in " ".join(items.split())


def test_the_job_page_polls_while_the_import_waits_and_runs(finance, org):
    job = cost_import_create(tenant=org, actor=None, filename="april.csv", data=APRIL, source_format="focus",
                             enqueue=False)
    detail = url("import_detail", pk=job.pk)

    queued = finance.get(detail, headers={"HX-Request": "true"}).content.decode()
    assert queued.lstrip().startswith('<section id="import-status"')
    assert 'hx-trigger="every 1s"' in queued and "Waiting for a worker" in queued

    with tenant_context(org):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job_progress_reporter(job.pk)(1, 4, "check")
    running = finance.get(detail, headers={"HX-Request": "true"}).content.decode()
    assert "Checking rows: 1 of 4" in running and 'value="25"' in running


def test_a_refused_file_lists_every_bad_row_on_its_page_and_in_a_csv(finance, org):
    data = APRIL.replace(b"10.004", b"ten").replace(b"-1.001,-1.001,USD", b"-1,-1,US")
    job = cost_import_create(tenant=org, actor=None, filename="april.csv", data=data, source_format="focus",
                             enqueue=False)
    cost_import_run_task(org.pk, job.pk)

    page = finance.get(url("import_detail", pk=job.pk)).content.decode()
    assert "2 problems found: nothing was imported." in page
    assert "BilledCost “ten” is not a number" in page
    csv = finance.get(url("import_errors", pk=job.pk)).content.decode()
    assert csv.splitlines() == [
        "\ufeffline,problem",  # a BOM, so that Excel reads it as UTF-8
        "2,\"BilledCost “ten” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56).\"",
        "3,\"BillingCurrency “US” is not an ISO 4217 currency code (USD, EUR, …).\"",
    ]
    assert "No cost items" in finance.get(url("index")).content.decode()


def test_viewers_see_imports_but_cannot_upload(client, users, org):
    client.force_login(users["viewer"])

    page = client.get(url("import_list"))
    refused = client.post(url("import_list"), {"source_format": "csv", "file": SimpleUploadedFile("a.csv", b"x")})

    assert page.status_code == 200 and b"Upload a file" not in page.content
    assert refused.status_code == 403
    with tenant_context(org):
        assert not Job.objects.exists()


def test_the_items_page_pages_by_keyset_and_filters_by_month(finance, org, import_costs):
    rows = "".join(f"2025-0{4 + n % 2}-{n % 28 + 1:02d},Usage,{n}.5,{n}.5\n" for n in range(1, 106))
    import_costs(org, ("ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost\n" + rows).encode())

    first = finance.get(url("index"))
    older = first.content.decode().split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = finance.get(older)
    may = finance.get(url("index"), {"month": "2025-05"}, headers={"HX-Request": "true"})

    assert (first.content.decode().count("<tr>") - 1, second.content.decode().count("<tr>") - 1) == (100, 5)
    assert 'rel="next"' not in second.content.decode()
    may_page = " ".join(may.content.decode().split())
    assert may_page.startswith('<div id="cost-items"')
    # The odd n = 1, 3, …, 105 fall in May: 53 items, Σ (n + 0.5) = 53² + 26.5.
    assert "53 items · billed <strong>2,835.50</strong>" in may_page
    assert sum(Decimal(n) + Decimal("0.5") for n in range(1, 106, 2)) == Decimal("2835.50")


def test_the_items_page_costs_the_same_queries_for_three_items_as_for_a_hundred(finance, org, import_costs,
                                                                                django_assert_num_queries):
    import_costs(org, APRIL)
    with django_assert_num_queries(QUERIES):
        assert finance.get(url("index")).status_code == 200
    rows = "".join(f"2025-05-{n % 28 + 1:02d},Usage,{n},{n}\n" for n in range(1, 101))
    import_costs(org, ("ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost\n" + rows).encode(),
                 filename="may.csv")
    with django_assert_num_queries(QUERIES):
        assert finance.get(url("index")).status_code == 200
