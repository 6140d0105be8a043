"""A budget upload for real: the page receives the file, a Celery worker process imports it, and
the page shows the result. Needs committed data, hence `transaction=True`."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from budgets import services
from budgets.models import BudgetLine
from budgets.selectors import budget_periods, version_latest
from finops.jobs.models import Job
from finops.tenancy.context import tenant_context
from tests.builders import make_books, make_org
from tests.local_servers import celery_worker, child_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def worker(tmp_path):
    with celery_worker(tmp_path / "worker.log", child_env()) as log:
        yield log


def test_a_real_worker_imports_the_uploaded_template_and_the_page_shows_the_result(client, worker):
    from django.contrib.auth import get_user_model

    org = make_org("acme", "Acme")
    books = make_books(org)
    budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    services.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (books.rent, books.ops, budget_periods(tenant=org, budget=budget)[0], Decimal("100.00"))])
    client.force_login(get_user_model().objects.get(email="finance@acme.test"))
    kwargs = {"org_slug": "acme", "pk": version.pk}
    template = load_workbook(io.BytesIO(client.get(reverse("budgets:version_template", kwargs=kwargs)).content))
    template.worksheets[0].cell(row=2, column=6, value=250)  # February, next to January's 100.00
    buffer = io.BytesIO()
    template.save(buffer)

    response = client.post(reverse("budgets:version_upload", kwargs=kwargs),
                           {"file": SimpleUploadedFile("plan.xlsx", buffer.getvalue())})

    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with tenant_context(org):
            job = Job.objects.defer("content").get()
        if job.is_finished:
            break
        time.sleep(0.2)
    assert job.status == "succeeded", worker.read_text(errors="replace")[-3000:]
    assert "Task budgets.tasks.budget_upload_run_task[" in worker.read_text()
    page = client.get(response["Location"]).content.decode()
    assert "2 rows into Plan 2026 v1: 1 cells created, 0 changed, 1 unchanged." in page
    with tenant_context(org):
        assert sorted(BudgetLine.objects.values_list("period__number", "amount")) == [
            (1, Decimal("100.0000")), (2, Decimal("250.0000"))]
