"""A finance user's journey in a real browser: sign in, read the dashboard and its chart, post a
manual entry, find it in the journal, reverse it."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from finops.ledger import services as ledger
from finops.ledger.models import JournalEntry, PeriodBalance
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from tests.builders import PASSWORD, make_books, make_org

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed_months(books):
    """Six months of revenue and expenses, so the dashboard's chart has a trend to draw."""
    for month in range(6, 12):
        day = date(2026, month, 15)
        revenue = Decimal(40000 + 2500 * month)
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=day, memo=f"Sales {day:%b}",
                            lines=[LineSpec(books.cash.pk, revenue),
                                   LineSpec(books.revenue.pk, -revenue, books.sales.pk)])
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=day, memo=f"Rent {day:%b}",
                            lines=[LineSpec(books.rent.pk, Decimal("12500.00"), books.ops.pk),
                                   LineSpec(books.cash.pk, Decimal("-12500.00"))])


def test_finance_posts_finds_and_reverses_an_entry(live_server, page, screenshot):
    org = make_org("acme", "Acme")
    books = make_books(org)
    seed_months(books)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "finance@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/o/acme/$"))
    chart = page.locator("canvas.trend-chart")
    expect(chart).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length > 0")
    screenshot("e2e-1-dashboard")

    page.goto(f"{live_server.url}/o/acme/ledger/entries/new/")
    page.select_option("select[name=entity]", str(books.usd.pk))
    page.fill("input[name=date]", "2026-11-20")
    page.fill("input[name=memo]", "E2E office fit-out")
    page.select_option("select[name=lines-0-account]", str(books.rent.pk))
    page.select_option("select[name=lines-0-cost_center]", str(books.ops.pk))
    page.fill("input[name=lines-0-debit]", "1,500.00")
    page.select_option("select[name=lines-1-account]", str(books.cash.pk))
    page.fill("input[name=lines-1-credit]", "1500")
    expect(page.locator("#entry-totals")).to_contain_text("Balanced")
    screenshot("e2e-2-entry-form")
    page.click("button[name=post]")
    expect(page).to_have_url(re.compile(r"/o/acme/ledger/entries/\d+/$"))
    entry_id = int(re.search(r"/entries/(\d+)/", page.url).group(1))
    expect(page.locator("main")).to_contain_text("E2E office fit-out")

    page.goto(f"{live_server.url}/o/acme/ledger/?q=fit-out")
    rows = page.locator("table.data tbody tr", has_text="E2E office fit-out")
    expect(rows).to_have_count(2)
    screenshot("e2e-3-journal")
    rows.first.locator("a", has_text=f"JE-{entry_id}").first.click()
    expect(page).to_have_url(re.compile(rf"/entries/{entry_id}/$"))

    page.click(f"text=Reverse JE-{entry_id}")
    expect(page.locator("main")).to_contain_text(f"Reversal of JE-{entry_id}")
    screenshot("e2e-4-reversal")

    with tenant_context(org):
        reversal = JournalEntry.objects.get(reverses_id=entry_id)
        assert sorted(reversal.lines.values_list("amount", flat=True)) == [Decimal("-1500.0000"), Decimal("1500.0000")]
        rent_november = PeriodBalance.objects.get(account=books.rent, period=reversal.period, cost_center=books.ops)
        # the seeded November rent stays; the entry and its reversal cancel out
        assert (rent_november.amount, rent_november.line_count) == (Decimal("12500.0000"), 3)
    assert page.console_errors == []
