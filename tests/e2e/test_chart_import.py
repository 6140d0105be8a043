"""A chart import in a real browser: finance opens it from the chart of accounts on a phone,
uploads an XLSX with one bad line, reads the line, uploads the corrected file, and the page turns
to the result by itself once the worker is done. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from finops.jobs.models import Job
from finops.ledger.chart_import import chart_import_job_run
from finops.tenancy.context import tenant_context
from tests.builders import make_org
from tests.e2e.browser import shot, sign_in
from tests.xlsx_files import sheet_xml, xlsx

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = ["kind", "code", "name", "type", "parent"]


def chart(*rows) -> bytes:
    return xlsx(sheet_xml([HEADER, *rows]))


def run_latest(org) -> Job:
    with tenant_context(org):
        job = Job.objects.filter(kind="chart").order_by("-pk").first()
    return chart_import_job_run(tenant=org, job_id=job.pk)  # the worker's part


def test_finance_imports_a_chart_from_an_xlsx_on_a_phone(live_server, browser, tmp_path):
    org = make_org("acme", "Acme")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server.url, "finance@acme.test")

    page.goto(f"{live_server.url}/o/acme/ledger/accounts/")
    page.get_by_role("link", name="Import a chart").click()
    expect(page.locator("h1")).to_have_text("Import a chart")
    bad = tmp_path / "chart.xlsx"
    bad.write_bytes(chart(["account", "7000", "Travel", "expense", ""], ["account", "7010", "Hotels", "spending", "7000"]))
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Waiting for a worker")
    run_latest(org)
    expect(page.locator("#import-status")).to_contain_text("1 problem found: nothing was imported.", timeout=5000)
    expect(page.locator("table.import-errors tbody tr")).to_have_count(1)
    expect(page.locator("table.import-errors tbody tr td").first).to_have_text("3")
    shot(page, "chart-import-problem-phone")

    page.get_by_role("link", name="All chart imports").click()
    good = tmp_path / "chart-fixed.xlsx"
    good.write_bytes(chart(["account", "7000", "Travel", "expense", ""], ["account", "7010", "Hotels", "expense", "7000"]))
    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Import").click()
    run_latest(org)
    expect(page.locator("#import-status")).to_contain_text("2 rows: 2 accounts created; nothing updated; 0 unchanged.",
                                                          timeout=5000)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_role("link", name="All chart imports").click()
    expect(page.locator("table.imports tbody tr")).to_have_count(2)
    shot(page, "chart-import-list")
    page.goto(f"{live_server.url}/o/acme/ledger/accounts/")
    expect(page.locator("table.tree")).to_contain_text(re.compile(r"7010\s+Hotels"))
    assert errors == []
    context.close()
