"""The budget grid: one cell edited inline, a pasted block, spreading, read-only versions,
permissions, and a query count that does not grow with the rows."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets import services
from budgets.models import BudgetLine
from budgets.selectors import budget_periods
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
    return services.version_approve(tenant=books.org, actor=users["admin"], version=draft)


def test_an_approved_version_is_read_only_and_refuses_an_edit_with_a_message(finance, books, users, draft, periods):
    version = approved(books, users, draft, periods)
    page = finance.get(url("version", version)).content.decode()
    assert "<input id=\"c-" not in page and "read-only" in page
    import re

    trail = re.search(r'<p class="muted version-trail">(.*?)</p>', page).group(1)
    assert re.fullmatch(r"Created by finance@acme\.test \d{4}-\d\d-\d\d · submitted by finance@acme\.test "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d · approved by admin@acme\.test \d{4}-\d\d-\d\d \d\d:\d\d", trail)
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
    # 25 today (the cost-center tree is one of them), savepoints of the nested tenant contexts
    # included; none per row or per cost center.
    with django_assert_max_num_queries(26):  # +1: the organisation by slug, before its tenant context
        response = finance.get(url("version", draft))
    html = response.content.decode()
    assert html.count('class="grid-row"') == 66
    assert "Total expenses · 66 rows" in html and "Net result" not in html
    assert '<td class="num total">5,148.00</td>' in html  # 66 rows × (1 + … + 12)


# --- the cost-center tree: groups, subtotals, collapse markup, links, 300 rows -------------------

def head_cells(html, key):
    """The month subtotals and the total of group header `sub-<key>` as shown."""
    match = re.search(rf'<tr id="sub-{key}" class="group-head[^"]*"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no header sub-{key}"
    return re.findall(r'<td class="num (?:subtotal|total)"[^>]*>([^<]*)</td>', match.group(1))


def tree_books(books, draft, periods):
    """OPS > SALES > SALES-EU, and FIN, with expense and revenue lines, and one without a cost center."""
    eu = ledger.cost_center_save(tenant=books.org, actor=None, code="SALES-EU", name="Sales Europe", parent=books.sales)
    fin = ledger.cost_center_save(tenant=books.org, actor=None, code="FIN", name="Finance")
    jan, feb = periods[0], periods[1]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, None, jan, Decimal("10.00")),
        (books.rent, books.ops, jan, Decimal("100.00")), (books.rent, books.ops, feb, Decimal("50.50")),
        (books.software, books.sales, jan, Decimal("0.25")),
        (books.software, eu, jan, Decimal("20.25")), (books.revenue, eu, feb, Decimal("1000.00")),
        (books.software, fin, jan, Decimal("7.00"))])
    return eu, fin


def test_the_grid_groups_rows_by_the_cost_center_tree_with_exact_subtotals(finance, books, draft, periods):
    eu, fin = tree_books(books, draft, periods)
    html = finance.get(url("version", draft)).content.decode()
    groups = re.findall(r'<tbody class="cc-group" id="group-(\d+)" data-cc="\d+" data-ancestors="([\d ]*)">', html)
    assert groups == [("0", ""), (str(fin.pk), ""), (str(books.ops.pk), ""), (str(books.sales.pk), f"{books.ops.pk}"),
                      (str(eu.pk), f"{books.ops.pk} {books.sales.pk}")]
    assert re.findall(r'<tr id="row-(\d+-\d+)" class="grid-row".*?<th scope="row" class="acct (lvl-\d)"', html) == [
        (f"{books.rent.pk}-0", "lvl-1"), (f"{books.software.pk}-{fin.pk}", "lvl-1"),
        (f"{books.rent.pk}-{books.ops.pk}", "lvl-1"), (f"{books.software.pk}-{books.sales.pk}", "lvl-2"),
        (f"{books.revenue.pk}-{eu.pk}", "lvl-3"), (f"{books.software.pk}-{eu.pk}", "lvl-3")]
    zeros = ["0.00"] * 10
    assert head_cells(html, 0) == ["10.00", "0.00", *zeros, "10.00"]
    assert head_cells(html, fin.pk) == ["7.00", "0.00", *zeros, "7.00"]
    # OPS has revenue and expenses below it: its subtotal is the net result, revenue − expenses.
    assert head_cells(html, books.ops.pk) == ["(120.50)", "949.50", *zeros, "829.00"]
    assert head_cells(html, books.sales.pk) == ["(20.50)", "1,000.00", *zeros, "979.50"]
    assert head_cells(html, eu.pk) == ["(20.25)", "1,000.00", *zeros, "979.75"]
    assert ('title="Net result of OPS Operations and the cost centers under it: revenue 1,000.00 − expenses '
            '171.00 = 829.00.') in html
    assert 'title="Subtotal of FIN Finance and the cost centers under it: expenses, 1 row."' in html
    assert '<span class="muted">· 4 rows</span> <span class="sub-kind sub-net">net</span>' in html
    assert re.search(rf'<tr id="sub-{eu.pk}" class="group-head net">\s*<th scope="rowgroup" class="acct lvl-2"', html)


def test_the_grid_carries_what_collapsing_needs_and_starts_expanded(finance, books, draft, periods):
    _, fin = tree_books(books, draft, periods)
    html = finance.get(url("version", draft)).content.decode()
    assert f'data-collapse-key="finops:grid-collapsed:{draft.pk}"' in html
    assert '<button type="button" class="btn btn-sm" data-grid-fold="collapse">Collapse all</button>' in html
    assert '<button type="button" class="btn btn-sm" data-grid-fold="expand">Expand all</button>' in html
    assert (f'<button type="button" class="toggle" aria-expanded="true" aria-controls="group-{fin.pk}" '
            'aria-label="FIN Finance: collapse or expand"><span aria-hidden="true">▾</span></button>') in html
    assert html.count('aria-expanded="true"') == 5 and 'aria-expanded="false"' not in html
    assert " hidden" not in html.split('id="grid"')[1]  # the script hides what localStorage says is collapsed


def test_editing_a_cell_answers_with_fresh_subtotals_of_its_cost_center_and_those_above(finance, books, draft,
                                                                                          periods):
    eu, fin = tree_books(books, draft, periods)
    response = finance.post(url("grid_cell", draft), {"account": books.software.pk, "cost_center": eu.pk,
                                                      "month": 2, "amount": "0.05"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    heads = re.findall(r'<template><tr id="sub-(\d+)" class="group-head[^"]*" hx-swap-oob="true">', html)
    assert heads == [str(books.ops.pk), str(books.sales.pk), str(eu.pk)]  # not FIN, not "no cost center"
    zeros = ["0.00"] * 10
    assert head_cells(html, eu.pk) == ["(20.25)", "999.95", *zeros, "979.70"]
    assert head_cells(html, books.sales.pk) == ["(20.50)", "999.95", *zeros, "979.45"]
    assert head_cells(html, books.ops.pk) == ["(120.50)", "949.45", *zeros, "828.95"]
    assert 'id="grid-totals" class="totals" hx-swap-oob="true"' in html
    # The script says which headers the page shows; only those come back.
    response = finance.post(url("grid_cell", draft), {"account": books.software.pk, "cost_center": eu.pk,
                                                      "month": 3, "amount": "1", "groups": f"0,{books.ops.pk}"}, **HTMX)
    html = response.content.decode()
    assert re.findall(r'<tr id="sub-(\d+)" class="group-head', html) == [str(books.ops.pk)]
    assert head_cells(html, books.ops.pk) == ["(120.50)", "949.45", "(1.00)", *zeros[1:], "827.95"]


def test_clearing_the_last_cell_of_a_cost_center_sends_its_header_with_zero(finance, books, draft, periods):
    _, fin = tree_books(books, draft, periods)
    response = finance.post(url("grid_cell", draft), {"account": books.software.pk, "cost_center": fin.pk,
                                                      "month": 1, "amount": ""}, **HTMX)
    html = response.content.decode()
    assert head_cells(html, fin.pk) == ["0.00"] * 13
    assert f'<tr id="row-{books.software.pk}-{fin.pk}"' in html


def test_a_pasted_block_answers_with_the_grid_and_its_new_subtotals(finance, books, draft, periods):
    eu, _ = tree_books(books, draft, periods)
    block = [[books.rent.pk, books.ops.pk, 1, "1,000.00"], [books.software.pk, books.sales.pk, 1, "1"]]
    html = finance.post(url("grid_paste", draft), {"cells": json.dumps(block)}, **HTMX).content.decode()
    zeros = ["0.00"] * 10
    assert head_cells(html, books.sales.pk) == ["(21.25)", "1,000.00", *zeros, "978.75"]
    assert head_cells(html, books.ops.pk) == ["(1,021.25)", "949.50", *zeros, "(71.75)"]


@pytest.mark.parametrize(("role", "status", "links"), [
    ("finance", "approved", ["Budget vs actual", "Transfers", "Request a transfer", "ROI proposal"]),
    ("director", "approved", ["Budget vs actual", "Transfers", "Request a transfer", "ROI proposal"]),
    ("viewer", "approved", ["Budget vs actual", "Transfers"]),
    ("finance", "draft", ["Budget vs actual", "Transfers"]),  # transfers move money in a version in force
])
def test_the_toolbar_links_to_what_the_user_may_do_with_this_version(client, users, books, draft, periods, role,
                                                                    status, links):
    version = approved(books, users, draft, periods) if status == "approved" else draft
    client.force_login(users[role])
    html = client.get(url("version", version)).content.decode()
    toolbar = html[html.index('role="toolbar"'):html.index('<nav class="version-tabs"')]
    hrefs = {"Budget vs actual": url("variance", version), "Transfers": reverse("budgets:transfers",
                                                                                  kwargs={"org_slug": "acme"}),
             "Request a transfer": reverse("budgets:transfer_create", kwargs={"org_slug": "acme",
                                                                              "version_pk": version.pk}),
             "ROI proposal": reverse("budgets:transfer_proposal", kwargs={"org_slug": "acme",
                                                                          "version_pk": version.pk})}
    shown = [name for name, href in hrefs.items() if f'href="{href}"' in toolbar]
    assert shown == links


def test_an_approved_transfer_is_pointed_out_with_where_the_effective_amounts_are(client, users, books, draft,
                                                                                    periods):
    from budgets.transfers.requests import transfer_approve, transfer_request

    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, periods[2], Decimal("1000.00")), (books.rent, books.ops, periods[3], Decimal("500.00"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    version = services.version_approve(tenant=books.org, actor=users["admin"], version=draft)
    with tenant_context(books.org):
        march, april = (BudgetLine.objects.get(version=version, period=p) for p in periods[2:4])
    transfer = transfer_request(tenant=books.org, actor=users["director"], version=version, source=march,
                                destination=april, amount=Decimal("250.00"), reason="Fit-out slips to April")
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer)
    transfer_request(tenant=books.org, actor=users["director"], version=version, source=april,
                     destination=march, amount=Decimal("1.00"), reason="Back")
    client.force_login(users["viewer"])
    html = client.get(url("version", version)).content.decode()
    assert "1 approved transfer moves money between lines of this version." in html
    assert "the effective amounts (after transfers) are in" in html
    assert 'Transfers <span class="badge">1 pending</span>' in html
    assert head_cells(html, books.ops.pk)[2:4] == ["1,000.00", "500.00"]  # the grid keeps the amounts as budgeted


def three_hundred_rows(books, draft, periods):
    """25 accounts × 12 cost centers nested three deep (OPS > SALES > SALES-EU …), 12 months each."""
    cc = lambda code, parent: ledger.cost_center_save(tenant=books.org, actor=None, code=code,  # noqa: E731
                                                      name=code.title(), parent=parent)
    fin, it, hr = cc("FIN", None), cc("OPS-IT", books.ops), cc("HR", None)
    ap = cc("FIN-AP", fin)
    centers = [books.ops, books.sales, cc("SALES-EU", books.sales), cc("SALES-US", books.sales), it,
               cc("OPS-IT-NET", it), fin, ap, cc("FIN-AP-EU", ap), cc("FIN-AR", fin), hr, cc("HR-REC", hr)]
    accounts = [books.revenue] + [ledger.account_save(tenant=books.org, actor=None, code=f"7{n:03d}",
                                                      name=f"Expense {n}", type=AccountType.EXPENSE)
                                  for n in range(24)]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (a, c, p, Decimal(n + 1) + Decimal("0.25")) for a in accounts for c in centers
        for n, p in enumerate(periods)])
    return centers


def test_the_grid_of_three_hundred_rows_in_a_three_deep_tree_reads_in_a_constant_number_of_queries(
        finance, books, draft, periods, django_assert_max_num_queries):
    centers = three_hundred_rows(books, draft, periods)
    # The same 25 as for 66 rows in one level: the tree costs one query whatever its size.
    with django_assert_max_num_queries(26):  # +1: the organisation by slug, before its tenant context
        response = finance.get(url("version", draft))
    html = response.content.decode()
    assert html.count('class="grid-row"') == 300 and html.count('class="group-head') == 12
    assert html.count("<input id=\"c-") == 3600
    # FIN-AP-EU: 24 expense rows and one revenue row, each n + 0.25 in month n → net = −23 × (n + 0.25).
    assert head_cells(html, centers[8].pk)[:2] == ["(28.75)", "(51.75)"]
    assert head_cells(html, centers[8].pk)[-1] == "(1,863.00)"  # −23 × (78 + 3)
    # FIN holds FIN, FIN-AP, FIN-AP-EU and FIN-AR: four times that.
    assert head_cells(html, centers[6].pk)[-1] == "(7,452.00)"


# --- in a real browser: typing, keyboard, paste ---------------------------------------------------

SCREENSHOTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_chromium_finance_types_moves_with_enter_and_pastes_a_block(live_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    from tests.builders import PASSWORD, make_books, make_org

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    books = make_books(make_org("acme", "Acme"))
    budget = services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2026, name="Opex 2026")
    with tenant_context(books.org):
        draft = budget.versions.get()
    periods = budget_periods(tenant=books.org, budget=budget)
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


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_chromium_finance_collapses_the_cost_center_tree_and_the_keys_skip_what_is_hidden(live_server,
                                                                                           monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    from tests.builders import PASSWORD, make_books, make_org

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    books = make_books(make_org("acme", "Acme"))
    zed = ledger.cost_center_save(tenant=books.org, actor=None, code="ZED", name="Zed projects")
    budget = services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2026, name="Opex 2026")
    with tenant_context(books.org):
        draft = budget.versions.get()
    periods = budget_periods(tenant=books.org, budget=budget)
    # Tree order: no cost center, OPS (rent, software) > SALES (revenue), then ZED (software).
    rows = [(books.revenue, books.sales), (books.rent, books.ops), (books.software, books.ops), (books.rent, None),
            (books.software, zed)]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(a, cc, p, Decimal(1000 * (i + 1) + 10 * n)) for i, (a, cc) in enumerate(rows)
                                     for n, p in enumerate(periods)])
    ops, sales = books.ops.pk, books.sales.pk
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "finance@acme.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/o/acme/budgets/versions/{draft.pk}/")
        ops_jan = page.locator(f"#sub-{ops} td.subtotal").first
        # OPS, January: revenue 1,000 (SALES) − expenses 2,000 + 3,000 → net (4,000.00).
        expect(ops_jan).to_have_text("(4,000.00)")

        # An edit updates the subtotals of its cost center and the ones above it.
        cell = page.locator(f"#c-{books.revenue.pk}-{sales}-1")
        cell.click()
        page.keyboard.type("1,500.55")
        page.keyboard.press("Enter")
        expect(page.locator(f"#sub-{sales} td.subtotal").first).to_have_text("1,500.55")
        expect(ops_jan).to_have_text("(3,499.45)")
        expect(page.locator(f"#sub-{ops} td.total")).to_have_text("(48,159.45)")  # 13,160.55 − 24,660 − 36,660

        # Collapse SALES, then OPS: their rows hide, and so does SALES's header under OPS.
        page.click(f"#sub-{sales} .toggle")
        expect(page.locator(f"#row-{books.revenue.pk}-{sales}")).to_be_hidden()
        expect(page.locator(f"#row-{books.rent.pk}-{ops}")).to_be_visible()
        page.click(f"#sub-{ops} .toggle")
        for hidden in (f"#row-{books.rent.pk}-{ops}", f"#row-{books.software.pk}-{ops}", f"#sub-{sales}"):
            expect(page.locator(hidden)).to_be_hidden()
        expect(page.locator(f"#sub-{ops} .toggle")).to_have_attribute("aria-expanded", "false")

        # A reload keeps what was collapsed (localStorage, per version).
        page.reload()
        expect(page.locator(f"#row-{books.software.pk}-{ops}")).to_be_hidden()
        expect(page.locator(f"#sub-{ops} .toggle")).to_have_attribute("aria-expanded", "false")

        # Keys over a collapsed group: down from the row without a cost center lands on ZED's row.
        page.locator(f"#c-{books.rent.pk}-0-2").click()
        page.keyboard.press("ArrowDown")
        expect(page.locator(f"#c-{books.software.pk}-{zed.pk}-2")).to_be_focused()
        page.keyboard.press("ArrowUp")
        expect(page.locator(f"#c-{books.rent.pk}-0-2")).to_be_focused()

        # On a header: → expands, ← collapses, Enter toggles; ↓ goes to the next visible line.
        toggle = page.locator(f"#sub-{ops} .toggle")
        toggle.focus()
        page.keyboard.press("ArrowRight")
        expect(page.locator(f"#row-{books.rent.pk}-{ops}")).to_be_visible()
        expect(page.locator(f"#row-{books.revenue.pk}-{sales}")).to_be_hidden()  # SALES itself stays collapsed
        page.keyboard.press("ArrowDown")
        expect(page.locator(f"#c-{books.rent.pk}-{ops}-1")).to_be_focused()
        toggle.focus()
        page.keyboard.press("ArrowLeft")
        expect(page.locator(f"#row-{books.rent.pk}-{ops}")).to_be_hidden()
        page.keyboard.press("Enter")
        expect(page.locator(f"#row-{books.rent.pk}-{ops}")).to_be_visible()

        # A click anywhere on a header's label toggles it too.
        page.click(f"#sub-{zed.pk} th .code")
        expect(page.locator(f"#row-{books.software.pk}-{zed.pk}")).to_be_hidden()
        expect(page.locator(f"#sub-{zed.pk} .toggle")).to_be_focused()
        page.keyboard.press(" ")
        expect(page.locator(f"#row-{books.software.pk}-{zed.pk}")).to_be_visible()

        page.get_by_role("button", name="Expand all").click()
        expect(page.locator("#grid tr.grid-row:visible")).to_have_count(5)
        page.get_by_role("button", name="Collapse all").click()
        expect(page.locator("#grid tr.grid-row:visible")).to_have_count(0)
        expect(page.locator("#grid tr.group-head:visible")).to_have_count(3)  # the roots: none, OPS, ZED
        page.get_by_role("button", name="Expand all").click()
        page.click(f"#sub-{sales} .toggle")
        expect(page.locator("#grid tr.grid-row:visible")).to_have_count(4)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "budget-grid-collapsed.png"), full_page=True)
        browser.close()
    assert errors == []
    assert cells_of(books, draft)[(books.revenue.pk, books.sales.pk, 1)] == Decimal("1500.55")


def test_names_are_escaped_in_the_rows_the_group_headers_and_the_row_picker(finance, books, draft, periods):
    from finops.ledger import services as ledger
    from finops.ledger.models import AccountType

    evil = '<script>alert(1)</script> & "quoted"'
    account = ledger.account_save(tenant=books.org, actor=None, code="6900", name=evil, type=AccountType.EXPENSE)
    center = ledger.cost_center_save(tenant=books.org, actor=None, code="X1", name=f"{evil} centre")
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(account, center, periods[0], Decimal("1.00"))])
    page = finance.get(url("version", draft)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in page


# --- a link to a row (budget vs actual's budget figures: …/versions/<pk>/#row-<account>-<cost center or 0>) ---

def test_every_grid_row_carries_the_id_a_budget_figures_link_points_at(finance, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, periods[0], Decimal("100.00")), (books.rent, None, periods[0], Decimal("5.00")),
        (books.software, books.sales, periods[1], Decimal("7.00"))])
    html = finance.get(url("version", draft)).content.decode()
    assert re.findall(r'<tr id="(row-[\d-]+)" class="grid-row"', html) == [
        f"row-{books.rent.pk}-0", f"row-{books.rent.pk}-{books.ops.pk}", f"row-{books.software.pk}-{books.sales.pk}"]


def test_a_targeted_row_is_highlighted_and_scrolls_to_just_below_the_sticky_header():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static/css/budgets.css").read_text()
    head = re.search(r"\.grid-table thead th \{([^}]*)\}", css).group(1)
    assert "position: sticky" in head and "height: var(--grid-head-h)" in head and "box-sizing: border-box" in head
    assert ".grid-table tr.grid-row { scroll-margin-top: var(--grid-head-h); }" in css
    assert re.search(r"\.grid-table tr\.grid-row:target > th, \.grid-table tr\.grid-row:target > td \{ background:", css)
