"""The budget-vs-actual page: filters, the htmx partial, drill-down links, exports, permissions."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from budgets import services
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec


def book(books, d, account, amount, *, cc=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def plan(books, draft, periods):
    jan, feb, mar = periods[:3]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.revenue, None, jan, D("1000")), (books.revenue, None, mar, D("1000")),
        (books.rent, books.ops, mar, D("300"))])
    book(books, date(2026, 1, 15), books.revenue, "-1200")
    book(books, date(2026, 3, 15), books.revenue, "-1100")
    book(books, date(2026, 3, 5), books.rent, "340", cc=books.ops)
    book(books, date(2026, 3, 20), books.software, "80", cc=books.sales)
    return draft


def url(version, slug="acme", **params):
    base = reverse("budgets:variance", kwargs={"org_slug": slug, "pk": version.pk})
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def viewer(client, users):
    client.force_login(users["viewer"])
    return client


def test_the_page_shows_each_line_with_its_variance_coloured_by_nature(viewer, books, plan):
    response = viewer.get(url(plan, month="2026-03", basis="month"))
    assert response.status_code == 200
    rows = [(r.account_code, r.cost_center_code, r.actual, r.budget, r.favourable)
            for r in response.context["report"].rows]
    assert rows == [("4000", "", D("1100.00"), D("1000.00"), True), ("6100", "OPS", D("340.00"), D("300.00"), False),
                    ("6200", "SALES", D("80.00"), D("0.00"), False)]
    html = response.content.decode()
    assert '<td class="num good">100.00</td>' in html  # revenue above budget
    assert '<td class="num bad">40.00</td>' in html  # rent above budget
    assert "unbudgeted" in html
    revenue, expense, net = response.context["report"].totals
    assert (net.label, net.actual, net.budget, net.variance, net.favourable) == (
        "Net result", D("680.00"), D("700.00"), D("-20.00"), False)  # 1,100 − 420 against 1,000 − 300
    assert '<td class="num bad">(20.00)</td>' in html


def test_year_to_date_adds_the_months_of_the_fiscal_year(viewer, books, plan):
    response = viewer.get(url(plan, month="2026-03", basis="ytd"))
    first = response.context["report"].rows[0]
    assert (first.account_code, first.actual, first.budget, first.variance) == (
        "4000", D("2300.00"), D("2000.00"), D("300.00"))


def test_every_actual_links_to_the_journal_lines_behind_it(viewer, books, plan):
    response = viewer.get(url(plan, month="2026-03", basis="ytd"))
    rent = next(line for line in response.context["lines"] if line["row"].account_code == "6100")
    link = urlsplit(rent["actual_url"])
    assert link.path == reverse("ledger:journal", kwargs={"org_slug": "acme"})
    assert parse_qs(link.query) == {"entity": [str(books.usd.pk)], "account": [str(books.rent.pk)],
                                    "cost_center": [str(books.ops.pk)], "period_from": ["2026-01"],
                                    "period_to": ["2026-03"], "back": [url(plan, month="2026-03", basis="ytd")]}
    journal = viewer.get(rent["actual_url"])
    assert [(line.account.code, line.amount) for line in journal.context["page"].lines] == [("6100", D("340.0000"))]
    # The journal leads back to the report it was opened from, and to nowhere else.
    back = f'<a class="btn" href="{url(plan, month="2026-03", basis="ytd")}" data-back>← Back to budget vs actual</a>'
    assert back.replace("&", "&amp;") in journal.content.decode()
    for elsewhere in ("https://evil.example/o/acme/", "/o/globex/budgets/", "//evil.example/o/acme/", "/o/acme/nowhere/"):
        page = viewer.get(reverse("ledger:journal", kwargs={"org_slug": "acme"}), {"back": elsewhere})
        assert page.status_code == 200 and "data-back" not in page.content.decode()
    revenue = next(line for line in response.context["lines"] if line["row"].account_code == "4000")
    journal = viewer.get(revenue["actual_url"])  # Jan and March, not another month
    assert sorted(line.amount for line in journal.context["page"].lines) == [D("-1200.0000"), D("-1100.0000")]
    assert rent["budget_url"].endswith(f"versions/{plan.pk}/#row-{books.rent.pk}-{books.ops.pk}")


def test_the_htmx_request_gets_only_the_table(viewer, books, plan):
    response = viewer.get(url(plan, month="2026-03", account_type="expense"), HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="variance-table")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="variance-table"') and "<form" not in html
    assert "6100" in html and "6200" in html and "4000" not in html


def test_a_month_outside_the_budget_year_is_reported_on_the_field_and_the_page_still_shows(viewer, books, plan):
    response = viewer.get(url(plan, month="2031-05"))
    assert response.status_code == 200
    assert "is not in the fiscal year" in response.content.decode()
    assert response.context["form"].data["month"] == "2031-05"  # what was typed stays
    response = viewer.get(url(plan, month="May", basis="fortnight", group_by="colour"))
    assert response.status_code == 200
    assert "Enter a month as YYYY-MM." in response.content.decode()


def test_csv_and_xlsx_exports_carry_the_rows_and_neutralise_a_formula_looking_name(viewer, books, plan):
    evil = ledger.account_save(tenant=books.org, actor=None, code="6300", name="=HYPERLINK(\"http://x\")",
                               type="expense")
    book(books, date(2026, 3, 9), evil, "5")
    response = viewer.get(url(plan, month="2026-03", format="csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="budget-vs-actual_acme_US_fy2026_month-2026-03.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Entity", "Account", "Account name", "Cost center", "Month", "Type", "Actual", "Budget",
                       "Variance", "Variance %", "F/U", "Whole budget", "Consumed %", "Full-year run rate"]
    # Amounts in the currency's decimals, percentages as numbers.
    assert rows[2][:13] == ["US", "6100", "Rent", "OPS", "2026-03", "expense", "340.00", "300.00", "40.00", "13.33",
                            "U", "300.00", "113.33"]
    assert [r[1] for r in rows if r[1] in ("Revenue", "Expense", "Net result")] == ["Revenue", "Expense", "Net result"]
    assert ["6300", "'=HYPERLINK(\"http://x\")"] in [r[1:3] for r in rows]


def test_the_xlsx_export_is_ready_to_hand_on(viewer, books, plan):
    response = viewer.get(url(plan, month="2026-03", basis="ytd", format="xlsx"))
    assert response["Content-Disposition"] == 'attachment; filename="budget-vs-actual_acme_US_fy2026_ytd-2026-03.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Budget vs actual"
    assert sheet["A1"].value == "Budget vs actual" and sheet["A1"].font.bold
    assert sheet["A2"].value.startswith("Acme · Plan 2026 v1 · US · USD · Year to date through 31 March 2026")
    assert [c.value for c in sheet[4]][:8] == ["Entity", "Account", "Account name", "Cost center", "Month", "Type",
                                              "Actual", "Budget"]
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref.startswith("A4:N")
    rent = next(row for row in sheet.iter_rows(min_row=5) if row[1].value == "6100" and row[3].value == "OPS")
    assert (rent[6].value, rent[6].number_format) == (340, "#,##0.00;(#,##0.00);#,##0.00")
    assert rent[4].number_format == "mmm yyyy"
    variance_pct = rent[9]
    assert variance_pct.number_format == "0.00%;(0.00%);0.00%" and variance_pct.value == pytest.approx(0.1333, abs=1e-9)
    last = list(sheet.iter_rows(min_row=5))[-1]
    assert last[1].value == "Net result" and last[1].font.bold and last[6].font.bold
    assert sheet.column_dimensions["C"].width >= len("Account name")


def test_the_page_runs_a_fixed_number_of_queries_however_many_lines_it_shows(viewer, books, plan,
                                                                           django_assert_max_num_queries):
    viewer.get(url(plan))  # warm the session and caches
    with django_assert_max_num_queries(18):  # +1: the organisation by slug, before its tenant context
        small = viewer.get(url(plan, month="2026-03"))
    for i in range(12):
        code = f"7{i:03d}"
        account = ledger.account_save(tenant=books.org, actor=None, code=code, name=f"Travel {i}", type="expense")
        book(books, date(2026, 3, 2), account, str(i + 1), cc=books.sales)
    with django_assert_max_num_queries(18):  # +1: the organisation by slug, before its tenant context
        big = viewer.get(url(plan, month="2026-03"))
    assert len(big.context["lines"]) == len(small.context["lines"]) + 12


def test_a_foreign_version_is_not_found_and_members_of_every_role_may_read(client, users, books, other_books, plan):
    for role in ("viewer", "director", "finance", "admin"):
        client.force_login(users[role])
        assert client.get(url(plan)).status_code == 200
    assert client.get(url(plan, slug="globex")).status_code == 404  # not a member there
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email="viewer@globex.test"))
    assert client.get(url(plan, slug="globex")).status_code == 404  # another organisation's version


def test_a_long_report_is_paged_and_its_totals_cover_every_line(viewer, books, plan, monkeypatch):
    from budgets.views import variance as view

    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    first = viewer.get(url(plan, month="2026-03", basis="month"))
    assert [line["row"].account_code for line in first.context["lines"]] == ["4000", "6100"]
    html = first.content.decode()
    assert "Lines 1–2 of 3; the totals cover them all" in html
    assert f'href="{url(plan)}?month=2026-03&amp;basis=month&amp;page=2"' in html
    second = viewer.get(url(plan, month="2026-03", basis="month", page=2))
    assert [line["row"].account_code for line in second.context["lines"]] == ["6200"]
    revenue, expense, net = second.context["report"].totals
    assert (expense.actual, expense.budget) == (D("420.00"), D("300.00"))  # rent 340 + software 80, every line
    assert "page=" not in second.context["query"]


def test_rolled_up_sorted_and_narrowed_on_the_page_and_in_the_export(viewer, books, plan):
    opex = ledger.account_save(tenant=books.org, actor=None, code="6000", name="Operating expenses", type="expense")
    for account in (books.rent, books.software):
        ledger.account_save(tenant=books.org, actor=None, account=account, code=account.code, name=account.name,
                            type=account.type, parent=opex)
    page = viewer.get(url(plan, month="2026-03", rollup="1", sort="-actual"))
    assert page.status_code == 200
    rows = [(line["row"].account_code, line["row"].depth, line["row"].is_group) for line in page.context["lines"]]
    assert rows == [("4000", 0, False), ("6000", 0, True), ("6100", 1, False), ("6200", 1, False)]
    html = page.content.decode()
    assert html.split(">6000<")[0].rsplit("<tr", 1)[1].startswith(' class="unfavourable group">')  # 420 against 300
    assert 'aria-sort="descending"' in html and 'sort=actual"' in html  # the next click sorts ascending
    group = page.context["lines"][1]
    assert group["actual_url"] == "" and "#row-" not in group["budget_url"]
    assert "rolled up by account group · sorted by actual, largest first" in html

    sheet = load_workbook(io.BytesIO(viewer.get(url(plan, month="2026-03", rollup="1", format="xlsx")).content)).active
    assert "rolled up by account group" in sheet["A2"].value
    body = list(sheet.iter_rows(min_row=5, values_only=False))
    group_row = next(r for r in body if r[1].value == "6000")
    assert (group_row[2].value, group_row[6].value, group_row[1].font.bold) == ("Operating expenses (group)", 420, True)
    rent = next(r for r in body if r[1].value == "6100")
    assert rent[2].alignment.indent == 1 and not rent[1].font.bold

    narrowed = viewer.get(url(plan, month="2026-03", show="unbudgeted"))
    assert [line["row"].account_code for line in narrowed.context["lines"]] == ["6200"]
    assert [(t["row"].label, t["row"].actual) for t in narrowed.context["totals"]] == [
        ("Expense", D("80.00")), ("Net result", D("-80.00"))]
    bad = viewer.get(url(plan, month="2026-03", sort="colour", show="some"))
    assert bad.status_code == 200 and bad.context["form"].errors.keys() == {"sort", "show"}
    assert len(bad.context["lines"]) == 3  # the bad choices are refused, the report still shows
