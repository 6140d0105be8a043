"""A budget figure's link (budget vs actual → …/versions/<pk>/#row-<account>-<cost center>) lands on
its grid row in a real browser: the row is visible just below the sticky header, highlighted, and
its cost-center group is opened if it was collapsed. Screenshot: artifacts/screenshots/."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from budgets import services as budgets
from budgets.selectors import budget_periods, version_latest
from finops.ledger import services as ledger
from finops.ledger.models import AccountType
from tests.builders import make_books, make_org
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed(org):
    books = make_books(org)
    accounts = [ledger.account_save(tenant=org, actor=None, code=f"7{n:03d}", name=f"Expense {n}",
                                    type=AccountType.EXPENSE) for n in range(60)]
    budget = budgets.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    periods = budget_periods(tenant=org, budget=budget)
    budgets.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (account, books.ops, periods[0], Decimal(100 + n)) for n, account in enumerate(accounts)])
    return books, accounts, version


def geometry(page, row_id: str) -> dict:
    return page.evaluate("""(id) => {
        const row = document.getElementById(id), wrap = row.closest('.table-wrap');
        const head = wrap.querySelector('thead th').getBoundingClientRect();
        const box = row.getBoundingClientRect(), frame = wrap.getBoundingClientRect();
        return {rowTop: box.top, headBottom: head.bottom, headTop: head.top, frameTop: frame.top, headH: head.height, margin: getComputedStyle(row).scrollMarginTop, frameBottom: frame.bottom, hidden: row.hidden,
                background: getComputedStyle(row.querySelector('td')).backgroundColor,
                wrapScrolled: wrap.scrollTop};
    }""", row_id)


def test_a_budget_figures_link_lands_on_its_row_below_the_sticky_header(live_server, page, screenshot):
    org = make_org("acme", "Acme")
    books, accounts, version = seed(org)
    sign_in(page, live_server.url, "finance@acme.test")
    grid = f"{live_server.url}/o/acme/budgets/versions/{version.pk}/"
    target = f"row-{accounts[30].pk}-{books.ops.pk}"

    page.goto(f"{grid}#{target}")
    expect(page.locator(f"#{target}")).to_be_visible()
    at = geometry(page, target)
    assert at["wrapScrolled"] > 0  # row 31 of 60 is below the fold of the grid's scroll box
    assert at["headBottom"] - 1 <= at["rowTop"] <= at["headBottom"] + 2  # just below the header, not under it
    assert at["rowTop"] < at["frameBottom"]
    assert at["background"] == "rgb(238, 238, 252)"  # --accent-soft
    screenshot("grid-row-link")

    # Collapsed in an earlier visit: the link opens the group again rather than landing nowhere.
    page.goto(grid)
    page.locator(f"#sub-{books.ops.pk} th").click()
    expect(page.locator(f"#{target}")).to_be_hidden()
    page.goto(f"{grid}#row-{accounts[25].pk}-{books.ops.pk}")
    page.reload()
    expect(page.locator(f"#row-{accounts[25].pk}-{books.ops.pk}")).to_be_visible()
    at = geometry(page, f"row-{accounts[25].pk}-{books.ops.pk}")
    assert not at["hidden"] and at["headBottom"] - 1 <= at["rowTop"] <= at["headBottom"] + 2
    expect(page.locator(f"#sub-{books.ops.pk} .toggle")).to_have_attribute("aria-expanded", "true")
    assert re.search(r"#row-\d+-\d+$", page.url)
    assert page.console_errors == []
