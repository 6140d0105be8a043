"""Uploading into a budget in a real browser: finance uploads a file with bad cells from the
grid, watches the page wait for the worker and then list each bad cell (nothing imported),
uploads the corrected file from that same page, and lands back on the grid with the cells in it.
A real Celery worker imports both files."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from budgets import services
from budgets.selectors import version_latest
from tests.builders import make_books, make_org
from tests.e2e.browser import shot, sign_in
from tests.local_servers import celery_worker, child_env

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BAD = ("entity,account,account_name,cost_center,2026-01,2026-02\n"
       "US,6100,Rent,OPS,12500,12,500.00\n"
       "US,6300,Travel,OPS,800,800\n")
GOOD = ("entity,account,account_name,cost_center,2026-01,2026-02\n"
        "US,6100,Rent,OPS,12500,\"12,500.00\"\n"
        "US,6200,Software,OPS,2000,2250\n")


@pytest.fixture
def worker(tmp_path):
    with celery_worker(tmp_path / "worker.log", child_env()) as log:
        yield log


def test_finance_uploads_a_file_sees_each_bad_cell_then_uploads_the_fixed_one(live_server, page, worker, tmp_path):
    org = make_org("acme", "Acme")
    books = make_books(org)
    budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    bad, good = tmp_path / "plan.csv", tmp_path / "plan-fixed.csv"
    bad.write_text(BAD)
    good.write_text(GOOD)
    sign_in(page, live_server.url, "finance@acme.test")

    page.goto(f"{live_server.url}/o/acme/budgets/versions/{version.pk}/")
    page.set_input_files("form.upload input[name=file]", str(bad))
    page.locator("form.upload button").click()

    expect(page).to_have_url(re.compile(r"/budgets/uploads/\d+/$"))
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Nothing was imported", timeout=60_000)  # polled until the worker is done
    problems = status.locator(".errorlist li")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_have_text("line 2 (6100 / OPS): This line has 7 values but the header has "
                                         "6 columns: quote values that contain commas (e.g. \"1,234.56\").")
    expect(problems.nth(1)).to_have_text("line 3 (6300 / OPS), 2026-01: Unknown account “6300”.")
    expect(problems.nth(2)).to_have_text("line 3 (6300 / OPS), 2026-02: Unknown account “6300”.")
    shot(page, "upload-problems")

    status.locator("input[name=file]").set_input_files(str(good))
    status.locator("button[type=submit]").click()
    expect(page.locator("#upload-status")).to_contain_text(
        "4 rows into Plan 2026 v1: 4 cells created, 0 changed, 0 unchanged.", timeout=60_000)
    shot(page, "upload-done")

    page.locator("#upload-status a", has_text="Open the grid").click()
    expect(page).to_have_url(re.compile(rf"/budgets/versions/{version.pk}/$"))
    expect(page.locator("main")).to_contain_text("25,000.00")  # rent's year: 12,500.00 in January and February
    assert page.console_errors == []
