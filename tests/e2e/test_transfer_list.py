"""The transfer requests list in a real browser: finance opens it, narrows it with the "pending"
chip (htmx swaps the table and the address bar keeps the filter), pages through, and rejects a
request with a comment, landing back on the same filtered page. Screenshots of the list go to
artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from budgets import services as budgets
from budgets.models import BudgetLine
from budgets.selectors import budget_periods, version_latest
from budgets.transfers.requests import transfer_approve, transfer_reject, transfer_request
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership
from tests.builders import PASSWORD, make_books, make_org

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed(org):
    books = make_books(org)
    budget = budgets.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    periods = budget_periods(tenant=org, budget=budget)
    budgets.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (books.rent, books.ops, periods[2], Decimal("90000")), (books.rent, books.ops, periods[3], Decimal("500")),
        (books.software, books.sales, periods[2], Decimal("2000"))])
    budgets.version_submit(tenant=org, actor=None, version=version)
    budgets.version_approve(tenant=org, actor=None, version=version)
    ledger.journal_post(tenant=org, actor=None, entity=books.usd, date=date(2026, 3, 5), lines=[
        LineSpec(books.rent.pk, Decimal("1250"), books.ops.pk), LineSpec(books.cash.pk, Decimal("-1250"))])
    with tenant_context(org):
        march, april, software = (BudgetLine.objects.get(version=version, account=a, cost_center=c, period=p)
                                  for a, c, p in ((books.rent, books.ops, periods[2]),
                                                  (books.rent, books.ops, periods[3]),
                                                  (books.software, books.sales, periods[2])))
    with tenant_context(org):
        users = {m.role: m.user for m in Membership.objects.filter(organization=org).select_related("user")}

    def ask(source, destination, amount, reason, role="director", **kwargs):
        return transfer_request(tenant=org, actor=users[role], version=version, source=source,
                                destination=destination, amount=Decimal(amount), reason=reason, **kwargs)

    for i in range(52):
        ask(march, april, "100.00", f"Spread the office move, step {i + 1}")
    transfer_approve(tenant=org, actor=users["finance"], transfer=ask(march, april, "250.00", "Lease signed early"))
    transfer_reject(tenant=org, actor=users["finance"], transfer=ask(software, april, "300.00", "Licences unused"),
                    comment="Renewal is in April")
    ask(software, (books.software, books.sales, periods[5]), "2500.00", "Prepay the annual plan", role="finance",
        override_reason="Vendor discount ends in March")
    return books


def test_finance_filters_pages_and_decides_from_the_transfer_list(live_server, page, screenshot):
    org = make_org("acme", "Acme")
    seed(org)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "finance@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/o/acme/$"))

    page.goto(f"{live_server.url}/o/acme/budgets/transfers/")
    chips = page.locator(".status-chips")
    expect(chips).to_contain_text("55 all")
    expect(chips).to_contain_text("53 pending")
    expect(page.locator("tr.transfer-row")).to_have_count(50)
    expect(page.locator("tbody")).to_contain_text("Vendor discount ends in March")
    screenshot("transfers-list")

    page.locator(".status-chips a", has_text="rejected").click()
    expect(page).to_have_url(re.compile(r"\?status=rejected$"))
    expect(page.locator("tr.transfer-row")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Renewal is in April")

    page.locator(".status-chips a", has_text="pending").click()
    expect(page).to_have_url(re.compile(r"\?status=requested$"))
    page.locator(".pager a", has_text="Older").click()
    expect(page).to_have_url(re.compile(r"\?status=requested&page=2$"))
    expect(page.locator("tr.transfer-row")).to_have_count(3)
    screenshot("transfers-list-page-2")

    row = page.locator("tr.transfer-row").first
    row.locator("input[name=comment]").fill("Not this quarter")
    row.locator("button", has_text="Reject").click()
    expect(page).to_have_url(re.compile(r"\?status=requested&page=2#transfer-\d+$"))
    expect(page.locator(".status-chips")).to_contain_text("52 pending")
    assert page.console_errors == []
