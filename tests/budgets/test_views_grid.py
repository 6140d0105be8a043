"""The budget grid: one cell edited inline, a pasted block, spreading, read-only versions,
permissions, and a query count that does not grow with the rows."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets import services
from budgets.models import BudgetLine
from finops.ledger import services as ledger
from finops.ledger.models import AccountType
from finops.tenancy.context import tenant_context

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, version, org_slug="acme"):
    return reverse(f"budgets:{name}", kwargs={"org_slug": org_slug, "pk": version.pk})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def cells_of(books, version):
    with tenant_context(books.org):
        return {(line.account_id, line.cost_center_id, line.period.number): line.amount
                for line in BudgetLine.objects.filter(version=version).select_related("period")}


def test_editing_one_cell_saves_it_and_answers_with_the_row_and_the_totals(finance, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, books.ops, periods[0], Decimal("100.00"))])
    response = finance.post(url("grid_cell", draft), {"account": books.rent.pk, "cost_center": books.ops.pk,
                                                      "month": 3, "amount": "1,234.50"}, **HTMX)
    assert response.status_code == 200
    assert cells_of(books, draft) == {(books.rent.pk, books.ops.pk, 1): Decimal("100.00"),
                                      (books.rent.pk, books.ops.pk, 3): Decimal("1234.50")}
    html = response.content.decode()
    assert f'id="row-{books.rent.pk}-{books.ops.pk}"' in html
    assert 'value="1,234.50"' in html
    assert re.search(r'<td class="num total">1,334.50</td>', html)  # row total and grand total
    assert 'id="grid-totals" class="totals" hx-swap-oob="true"' in html


def test_emptying_a_cell_removes_the_line(finance, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, None, periods[1], Decimal("50.00"))])
    response = finance.post(url("grid_cell", draft), {"account": books.rent.pk, "cost_center": "",
                                                      "month": 2, "amount": ""}, **HTMX)
    assert response.status_code == 200
    assert cells_of(books, draft) == {}


def test_a_bad_amount_is_shown_in_the_cell_keeping_what_was_typed_and_saves_nothing(finance, books, draft):
    response = finance.post(url("grid_cell", draft), {"account": books.rent.pk, "cost_center": books.ops.pk,
                                                      "month": 5, "amount": "12x"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="12x"' in html and "“12x” is not a number like 1,234.50." in html
    assert 'aria-invalid="true"' in html
    assert cells_of(books, draft) == {}


def test_pasting_a_block_saves_every_cell_exactly(finance, books, draft):
    block = [[books.rent.pk, books.ops.pk, 2, "1,000.00"], [books.rent.pk, books.ops.pk, 3, "(25.50)"],
             [books.software.pk, None, 2, "300"], [books.software.pk, None, 3, "0.01"]]
    response = finance.post(url("grid_paste", draft), {"cells": json.dumps(block)}, **HTMX)
    assert response.status_code == 200
    assert cells_of(books, draft) == {(books.rent.pk, books.ops.pk, 2): Decimal("1000.00"),
                                      (books.rent.pk, books.ops.pk, 3): Decimal("-25.50"),
                                      (books.software.pk, None, 2): Decimal("300.00"),
                                      (books.software.pk, None, 3): Decimal("0.01")}
    html = response.content.decode()
    assert "Pasted 4 cells: 4 new, 0 changed, 0 cleared." in html
    assert '<td class="num total">1,274.51</td>' in html  # the grand total


def test_a_paste_with_one_bad_cell_saves_nothing_and_names_the_cell(finance, books, draft):
    block = [[books.rent.pk, books.ops.pk, 1, "10"], [books.rent.pk, books.ops.pk, 2, "ten"],
             [books.software.pk, books.sales.pk, 13, "5"]]
    response = finance.post(url("grid_paste", draft), {"cells": json.dumps(block)}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#grid-messages"
    html = response.content.decode()
    assert "Row 6100 / OPS, Feb 2026: “ten” is not a number like 1,234.50." in html
    assert "Row 6200 / SALES: the block is wider than the months to the right of the cursor." in html
    assert "Nothing was pasted." in html
    assert cells_of(books, draft) == {}


def test_a_spread_puts_the_annual_amount_on_the_months_exactly(finance, books, draft):
    response = finance.post(url("grid_spread", draft), {"row": f"{books.rent.pk}:{books.ops.pk}", "method": "even",
                                                        "annual": "1,000.00"}, **HTMX)
    assert response.status_code == 200
    cells = cells_of(books, draft)
    assert [cells[(books.rent.pk, books.ops.pk, n)] for n in range(1, 13)] == [Decimal("83.33")] * 11 + [
        Decimal("83.37")]


def test_fill_right_copies_a_month_into_the_later_months(finance, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.software, None, periods[9], Decimal("42.00"))])
    response = finance.post(url("grid_spread", draft), {"row": f"{books.software.pk}:", "method": "fill_right",
                                                        "start": "10"}, **HTMX)
    assert response.status_code == 200
    assert sorted((n, a) for (_, _, n), a in cells_of(books, draft).items()) == [
        (10, Decimal("42.00")), (11, Decimal("42.00")), (12, Decimal("42.00"))]


def test_a_spread_without_an_annual_amount_is_refused_in_words(finance, books, draft):
    response = finance.post(url("grid_spread", draft), {"row": f"{books.rent.pk}:", "method": "even"}, **HTMX)
    assert response.status_code == 422
    assert "Annual amount: Give the annual amount to spread." in response.content.decode()
    assert cells_of(books, draft) == {}


def approved(books, users, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, None, periods[0], Decimal("10.00"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    return services.version_approve(tenant=books.org, actor=users["finance"], version=draft)


def test_an_approved_version_is_read_only_and_refuses_an_edit_with_a_message(finance, books, users, draft, periods):
    version = approved(books, users, draft, periods)
    page = finance.get(url("version", version)).content.decode()
    assert "<input id=\"c-" not in page and "read-only" in page
    response = finance.post(url("grid_cell", version), {"account": books.rent.pk, "cost_center": "", "month": 1,
                                                        "amount": "99"}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#grid-messages"
    assert "Plan 2026 v1 is approved: approved and locked budgets are read-only" in response.content.decode()
    paste = finance.post(url("grid_paste", version), {"cells": json.dumps([[books.rent.pk, None, 1, "5"]])}, **HTMX)
    assert paste.status_code == 422
    assert cells_of(books, version) == {(books.rent.pk, None, 1): Decimal("10.00")}


@pytest.mark.parametrize("name", ["grid_cell", "grid_paste", "grid_spread"])
def test_a_viewer_cannot_write_to_the_grid(client, users, books, draft, name):
    client.force_login(users["viewer"])
    response = client.post(url(name, draft), {"account": books.rent.pk, "month": 1, "amount": "5",
                                              "cells": json.dumps([[books.rent.pk, None, 1, "5"]]),
                                              "row": f"{books.rent.pk}:", "method": "even", "annual": "12"})
    assert response.status_code == 403
    assert cells_of(books, draft) == {}


def test_a_viewer_sees_the_grid_without_inputs(client, users, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.revenue, books.sales, periods[0], Decimal("500.00"))])
    client.force_login(users["viewer"])
    page = client.get(url("version", draft)).content.decode()
    assert "500.00" in page and "<input id=\"c-" not in page and "Submit for approval" not in page


def test_another_organisations_version_is_not_found(client, other_books, books, draft):
    client.force_login(other_books.org.memberships.first().user if hasattr(other_books.org, "memberships") else None)
    from django.contrib.auth import get_user_model
    client.force_login(get_user_model().objects.get(email="finance@globex.test"))
    assert client.get(reverse("budgets:version", kwargs={"org_slug": "globex", "pk": draft.pk})).status_code == 404
    response = client.post(reverse("budgets:grid_cell", kwargs={"org_slug": "globex", "pk": draft.pk}),
                           {"account": books.rent.pk, "month": 1, "amount": "5"})
    assert response.status_code == 404


def test_adding_a_row_answers_with_an_empty_row(finance, books, draft):
    response = finance.get(url("version", draft), {"account": books.software.pk, "cost_center": books.sales.pk},
                           HTTP_HX_TARGET="grid-added", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="row-{books.software.pk}-{books.sales.pk}"')
    assert html.count("<input ") == 12


def test_an_asset_account_cannot_be_added_as_a_row(finance, books, draft):
    response = finance.get(url("version", draft), {"account": books.cash.pk}, HTTP_HX_TARGET="grid-added", **HTMX)
    assert response.status_code == 422


def test_the_grid_of_sixty_six_rows_reads_in_a_bounded_number_of_queries(finance, books, draft, periods,
                                                                         django_assert_max_num_queries):
    accounts = [ledger.account_save(tenant=books.org, actor=None, code=f"7{n:03d}", name=f"Expense {n}",
                                    type=AccountType.EXPENSE) for n in range(22)]
    cells = [(a, cc, p, Decimal(n + 1)) for a in accounts for cc in (None, books.ops, books.sales)
             for n, p in enumerate(periods)]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=cells)
    # 22 today, savepoints of the nested tenant contexts included; none per row.
    with django_assert_max_num_queries(24):
        response = finance.get(url("version", draft))
    html = response.content.decode()
    assert html.count('class="grid-row"') == 66
    assert "Total expenses · 66 rows" in html and "Net result" not in html
    assert '<td class="num total">5,148.00</td>' in html  # 66 rows × (1 + … + 12)


# --- in a real browser: typing, keyboard, paste ---------------------------------------------------

SCREENSHOTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_chromium_finance_types_moves_with_enter_and_pastes_a_block(live_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import PASSWORD, make_books, make_org

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    books = make_books(make_org("acme", "Acme"))
    budget = services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2026, name="Opex 2026")
    with tenant_context(books.org):
        draft = budget.versions.get()
    periods = services.budget_periods(tenant=books.org, budget=budget)
    rows = [(books.revenue, books.sales), (books.rent, books.ops), (books.software, books.ops), (books.rent, None)]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(a, cc, p, Decimal(1000 * (i + 1) + 10 * n)) for i, (a, cc) in enumerate(rows)
                                     for n, p in enumerate(periods)])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "finance@acme.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/o/acme/budgets/versions/{draft.pk}/")
        first = page.locator(f"#c-{books.rent.pk}-{books.ops.pk}-1")
        first.click()
        page.keyboard.type("1,234.50")
        page.keyboard.press("Enter")  # saves, and moves down to the software row
        expect(page.locator(f"#c-{books.software.pk}-{books.ops.pk}-1")).to_be_focused()
        expect(first).to_have_value("1,234.50")
        page.keyboard.press("ArrowRight")
        expect(page.locator(f"#c-{books.software.pk}-{books.ops.pk}-2")).to_be_focused()
        # Paste a 2 × 2 block at the software row, March.
        target = page.locator(f"#c-{books.software.pk}-{books.ops.pk}-3")
        target.focus()
        page.evaluate("""(id) => {
            const data = new DataTransfer(); data.setData("text/plain", "5\\t6\\n7,000.00\\t8\\n");
            document.getElementById(id).dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""", f"c-{books.software.pk}-{books.ops.pk}-3")
        expect(page.locator(".grid-message")).to_have_text("Pasted 4 cells: 0 new, 4 changed, 0 cleared.")
        bad = page.locator(f"#c-{books.rent.pk}-0-6")
        bad.fill("abc")
        bad.press("Tab")
        expect(page.locator(f"#row-{books.rent.pk}-0 .cell-error")).to_contain_text("“abc” is not a number")
        expect(page.locator(f"#c-{books.rent.pk}-0-6")).to_have_value("abc")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "budget-grid.png"), full_page=True)
        browser.close()
    assert errors == []
    cells = cells_of(books, draft)
    assert cells[(books.rent.pk, books.ops.pk, 1)] == Decimal("1234.50")
    assert [cells[(books.software.pk, books.ops.pk, n)] for n in (3, 4)] == [Decimal(5), Decimal(6)]
    # The row below software / OPS is revenue / SALES (cost centers in code order, none first).
    assert [cells[(books.revenue.pk, books.sales.pk, n)] for n in (3, 4)] == [Decimal(7000), Decimal(8)]
    assert cells[(books.rent.pk, None, 6)] == Decimal(4050)  # "abc" saved nothing
