"""The transfer form's pickers in a real browser: typing in From line fills its suggestions from the
server (htmx), and To line then suggests only lines of the same kind. Screenshot: artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from budgets import services as budgets
from budgets.selectors import budget_periods, version_latest
from tests.builders import make_books, make_org
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_typing_fills_the_suggestions_and_the_to_line_keeps_to_the_source_kind(live_server, page, screenshot):
    org = make_org("acme", "Acme")
    books = make_books(org)
    budget = budgets.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    periods = budget_periods(tenant=org, budget=budget)
    budgets.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (a, cc, p, Decimal("100")) for a in (books.rent, books.software, books.revenue)
        for cc in (None, books.ops, books.sales) for p in periods])
    budgets.version_submit(tenant=org, actor=None, version=version)
    budgets.version_approve(tenant=org, actor=None, version=version)
    sign_in(page, live_server.url, "director@acme.test")
    page.goto(f"{live_server.url}/o/acme/budgets/versions/{version.pk}/transfers/new/")

    page.locator("#id_source").press_sequentially("subscription ops 2026-03", delay=20)
    expect(page.locator("#source-lines option")).to_have_count(1)
    assert page.locator("#source-lines option").get_attribute("value") == "4000 Subscription revenue / OPS / 2026-03"
    page.locator("#id_source").fill("4000 Subscription revenue / OPS / 2026-03")
    page.locator("#id_destination").press_sequentially("2026-04", delay=20)
    expect(page.locator("#destination-lines option")).to_have_count(3)
    values = page.locator("#destination-lines option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["4000 Subscription revenue / 2026-04", "4000 Subscription revenue / OPS / 2026-04",
                      "4000 Subscription revenue / SALES / 2026-04"]
    screenshot("transfer-form-pickers", full_page=False)
    assert page.console_errors == []
