"""A chart uploaded in the app is a background job: finance uploads it, a worker imports it all or
nothing, the page shows what changed or every bad line; viewers cannot upload, and another
organisation's job is a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from finops.jobs.models import Job
from finops.ledger.chart_import import chart_import_job_run
from finops.ledger.models import Account
from finops.tenancy.context import tenant_context

GOOD = b"kind,code,name,type,parent\naccount,7000,Travel,expense,\naccount,7010,Hotels,expense,7000\n"
BAD = b"kind,code,name,type\naccount,7000,Travel,expense\naccount,7010,Hotels,spending\n"


def url(name, **kwargs):
    return reverse(f"ledger:{name}", kwargs={"org_slug": "acme", **kwargs})


def upload(client, data: bytes, name: str = "chart.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(url("chart_import"), {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def only_job(org) -> Job:
    with tenant_context(org):
        return Job.objects.get(kind="chart")


def test_finance_uploads_a_chart_a_worker_imports_it_and_the_page_says_what_changed(client, users, org):
    client.force_login(users["finance"])
    response = upload(client, GOOD)
    job = only_job(org)
    assert response.status_code == 302 and response["Location"] == url("chart_import_detail", pk=job.pk)
    assert "Waiting for a worker to pick the file up…" in client.get(response["Location"]).content.decode()

    done = chart_import_job_run(tenant=org, job_id=job.pk)  # what the worker does (tasks.chart_import_run)

    assert (done.status, done.rows, done.result) == ("succeeded", 2, {"created": {"account": 2}, "updated": {},
                                                                         "unchanged": 0})
    page = client.get(url("chart_import_detail", pk=job.pk)).content.decode()
    assert "2 rows: 2 accounts created; nothing updated; 0 unchanged." in page
    with tenant_context(org):
        assert sorted((a.code, a.parent.code if a.parent else None)
                      for a in Account.objects.filter(code__in=["7000", "7010"])) == [("7000", None), ("7010", "7000")]
    assert chart_import_job_run(tenant=org, job_id=job.pk).finished_at == done.finished_at  # run once only


def test_a_chart_with_a_bad_line_imports_nothing_and_the_page_lists_the_line(client, users, org):
    client.force_login(users["admin"])
    upload(client, BAD)
    job = chart_import_job_run(tenant=org, job_id=only_job(org).pk)
    assert (job.status, job.error_count, [e["line"] for e in job.errors]) == ("failed", 1, [3])
    page = client.get(url("chart_import_detail", pk=job.pk)).content.decode()
    assert "1 problem found: nothing was imported." in page and "<td class=\"num\">3</td>" in page
    with tenant_context(org):
        assert not Account.objects.filter(code__in=["7000", "7010"]).exists()


def test_a_viewer_reads_the_page_but_cannot_upload(client, users, org):
    client.force_login(users["viewer"])
    assert client.get(url("chart_import")).status_code == 200
    assert upload(client, GOOD).status_code == 403
    with tenant_context(org):
        assert not Job.objects.exists()


def test_another_organisations_chart_import_is_not_found(client, users, org, other_org):
    from finops.ledger.chart_import import chart_import_job_create

    theirs = chart_import_job_create(tenant=other_org, actor=None, filename="theirs.csv", data=GOOD, enqueue=False)
    client.force_login(users["admin"])
    assert client.get(url("chart_import_detail", pk=theirs.pk)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_handed_to_its_task_after_commit(client, users, org, settings):
    from finops.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    try:
        client.force_login(users["finance"])
        upload(client, GOOD)
    finally:
        celery_app.conf.task_always_eager = False
    assert only_job(org).status == "succeeded"
