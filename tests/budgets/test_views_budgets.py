"""Budget pages: the list and creating a budget, the version workflow by POST, the diff of a
revision, and the XLSX template that round-trips through the upload."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from budgets import services
from budgets.models import Budget, BudgetLine, BudgetVersion
from budgets.selectors import version_latest
from budgets.tasks import budget_upload_run_task
from finops.jobs.models import Job
from finops.tenancy.context import tenant_context


def url(name, org_slug="acme", **kwargs):
    return reverse(f"budgets:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def cells_of(books, version):
    with tenant_context(books.org):
        return {(line.account.code, line.cost_center.code if line.cost_center else "", line.period.number): line.amount
                for line in BudgetLine.objects.filter(version=version).select_related("period", "account",
                                                                                      "cost_center")}


def test_the_list_shows_each_budget_with_its_latest_version_and_status(finance, books, budget):
    page = finance.get(url("index")).content.decode()
    assert "Plan 2026" in page and "FY2026" in page and "v1" in page
    assert '<span class="badge budget-status status-draft">Draft</span>' in page
    assert "New budget" in page


def test_finance_creates_a_budget_and_lands_on_its_grid(finance, books):
    response = finance.post(url("index"), {"name": "Opex 2027", "entity": books.gbp.pk, "fiscal_year": 2027})
    with tenant_context(books.org):
        budget = Budget.objects.get(name="Opex 2027")
        version = BudgetVersion.objects.get(budget=budget)
    assert (budget.entity_id, budget.fiscal_year, version.number, version.status) == (books.gbp.pk, 2027, 1, "draft")
    assert response.status_code == 302
    assert response["Location"] == url("version", pk=version.pk)


def test_a_duplicate_name_is_refused_next_to_the_form_keeping_what_was_typed(finance, books, budget):
    response = finance.post(url("index"), {"name": "plan 2026", "entity": books.usd.pk, "fiscal_year": 2027})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A budget named “plan 2026” exists already: choose another name." in page
    assert 'value="plan 2026"' in page


def test_a_viewer_reads_the_list_but_cannot_create(client, users, books, budget):
    client.force_login(users["viewer"])
    assert "New budget" not in client.get(url("index")).content.decode()
    response = client.post(url("index"), {"name": "X", "entity": books.usd.pk, "fiscal_year": 2027})
    assert response.status_code == 403


def test_the_version_moves_through_submit_reject_submit_approve_lock_and_revise(finance, books, users, draft,
                                                                                 periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, books.ops, periods[0], Decimal("100.00"))])

    def act(action, version=draft, follow=False, **data):
        return finance.post(url("version_workflow", pk=version.pk, action=action), data, follow=follow)

    def status():
        with tenant_context(books.org):
            return BudgetVersion.objects.get(pk=draft.pk).status

    assert act("submit").status_code == 302 and status() == "submitted"
    act("reject", comment="")
    assert status() == "submitted"  # no comment, no rejection
    act("reject", comment="Rent is too low")
    assert status() == "rejected"
    with tenant_context(books.org):
        assert BudgetVersion.objects.get(pk=draft.pk).rejection_comment == "Rent is too low"
    act("submit")
    refused = act("approve", follow=True)  # finance submitted it: another member approves
    assert status() == "submitted"
    assert ("You submitted Plan 2026 v1: another finance or admin member approves it (segregation of duties)."
            in refused.content.decode())
    from django.test import Client

    admin = Client()
    admin.force_login(users["admin"])
    assert admin.post(url("version_workflow", pk=draft.pk, action="approve")).status_code == 302
    assert status() == "approved"
    act("lock")
    assert status() == "locked"
    response = act("revise", kind="revision")
    revision = version_latest(tenant=books.org, budget=draft.budget)
    assert (revision.number, revision.kind, revision.status, revision.parent_id) == (2, "revision", "draft", draft.pk)
    assert response["Location"] == url("version", pk=revision.pk)
    assert cells_of(books, revision) == {("6100", "OPS", 1): Decimal("100.00")}


def test_a_refused_transition_says_why(finance, books, draft):
    response = finance.post(url("version_workflow", pk=draft.pk, action="submit"), follow=True)
    assert "There is nothing to submit: this version has no budget lines yet." in response.content.decode()


def test_a_director_cannot_approve(client, users, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, None, periods[0], Decimal("1.00"))])
    services.version_submit(tenant=books.org, actor=None, version=draft)
    client.force_login(users["director"])
    assert client.post(url("version_workflow", pk=draft.pk, action="approve")).status_code == 403
    with tenant_context(books.org):
        assert BudgetVersion.objects.get(pk=draft.pk).status == "submitted"


def test_the_diff_shows_only_the_changed_cells(finance, books, draft, periods, users):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, periods[0], Decimal("100.00")), (books.rent, books.ops, periods[1], Decimal("200.00"))])
    services.version_submit(tenant=books.org, actor=None, version=draft)
    services.version_approve(tenant=books.org, actor=None, version=draft)
    revision = services.version_revise(tenant=books.org, actor=None, version=draft)
    services.budget_lines_set(tenant=books.org, actor=None, version=revision,
                              cells=[(books.rent, books.ops, periods[1], Decimal("250.00"))])
    page = finance.get(url("version_diff", pk=revision.pk)).content.decode()
    assert page.count("<tr><td>") == 1
    assert "Feb 2026" in page and "200.00" in page and "250.00" in page and "50.00" in page
    assert "Jan 2026" not in page


def upload_and_run(client, books, version, upload, capture):
    """Upload as the page does, run the queued job as the worker would, then open the page the
    upload led to (the job's, which shows its result)."""
    with capture() as callbacks:
        response = client.post(url("version_upload", pk=version.pk), {"file": upload})
    assert response.status_code == 302 and len(callbacks) == 1
    with tenant_context(books.org):
        job = Job.objects.get(kind="budget")
    assert response["Location"] == url("upload_detail", pk=job.pk)
    budget_upload_run_task(books.org.pk, job.pk)
    return client.get(response["Location"])


def test_the_template_download_round_trips_through_the_upload(finance, books, draft, periods,
                                                              django_capture_on_commit_callbacks):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, periods[0], Decimal("100.00")), (books.revenue, None, periods[2], Decimal("900.00"))])
    response = finance.get(url("version_template", pk=draft.pk))
    assert response["Content-Disposition"] == 'attachment; filename="Plan-2026-v1.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:5] == ["entity", "account", "account_name", "cost_center", "2026-01"]
    assert len(rows) == 3
    # Change one cell, as a user would in the spreadsheet, and upload it back.
    row = next(i for i, r in enumerate(rows, start=1) if r[1] == "6100")
    sheet_w = load_workbook(io.BytesIO(response.content))
    ws = sheet_w.worksheets[0]
    ws.cell(row=row, column=5 + 1, value="1,500.25")  # February
    buffer = io.BytesIO()
    sheet_w.save(buffer)
    upload = SimpleUploadedFile("plan.xlsx", buffer.getvalue())
    response = upload_and_run(finance, books, draft, upload, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "3 rows into Plan 2026 v1: 1 cells created, 0 changed, 2 unchanged." in response.content.decode()
    assert cells_of(books, draft) == {("6100", "OPS", 1): Decimal("100.00"), ("6100", "OPS", 2): Decimal("1500.25"),
                                      ("4000", "", 3): Decimal("900.00")}


def test_an_upload_with_bad_cells_names_each_and_saves_nothing(finance, books, draft,
                                                              django_capture_on_commit_callbacks):
    csv = (b"entity,account,account_name,cost_center,2026-01,2026-02\n"
           b"US,6100,Rent,OPS,100,abc\n"
           b"US,9999,Nope,,5,\n")
    response = upload_and_run(finance, books, draft, SimpleUploadedFile("plan.csv", csv),
                              django_capture_on_commit_callbacks)
    assert response.status_code == 200
    page = response.content.decode()
    assert "line 2 (6100 / OPS), 2026-02: Amount “abc” is not a number" in page
    assert "line 3 (9999), 2026-01: Unknown account “9999”." in page
    assert "Nothing was imported" in page
    assert cells_of(books, draft) == {}


def test_a_foreign_budget_or_version_is_not_found(client, other_books, books, draft):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email="finance@globex.test"))
    for name, kwargs in [("budget_detail", {"pk": draft.budget_id}), ("version_diff", {"pk": draft.pk}),
                         ("version_template", {"pk": draft.pk}), ("version_upload", {"pk": draft.pk})]:
        assert client.get(url(name, org_slug="globex", **kwargs)).status_code == 404
    assert client.post(url("version_workflow", org_slug="globex", pk=draft.pk, action="submit")).status_code == 404
