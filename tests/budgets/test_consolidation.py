"""Consolidated budget vs actual (`budgets.consolidation`): every entity's budget in force in the
reporting currency, actuals at the month's average rate, budgets at the fiscal year's budget
rate, and the variance split into operational and FX effect, exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from budgets import services
from budgets.consolidation import consolidated_budget_vs_actual, consolidation_versions
from budgets.selectors import budget_periods, version_latest
from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.models import FxRate
from finops.tenancy.context import tenant_context
from tests.budgets.test_reports import book


@pytest.fixture
def group(books, users, budget, periods, draft):
    """US (USD) and UK (GBP) budgets of FY2026, approved; March booked in both; GBP→USD average
    for March 1.27 (tests/builders.py), budget rate for FY2026 1.25."""
    march = periods[2]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.revenue, None, march, D("1000")), (books.rent, books.ops, march, D("300"))])
    uk_budget = services.budget_create(tenant=books.org, actor=users["finance"], entity=books.gbp, fiscal_year=2026,
                                       name="UK 2026")
    uk = version_latest(tenant=books.org, budget=uk_budget)
    uk_march = budget_periods(tenant=books.org, budget=uk_budget)[2]
    services.budget_lines_set(tenant=books.org, actor=None, version=uk, cells=[
        (books.revenue, None, uk_march, D("500")), (books.rent, books.ops, uk_march, D("200"))])
    for version in (draft, uk):
        services.version_submit(tenant=books.org, actor=users["finance"], version=version)
        services.version_approve(tenant=books.org, actor=users["admin"], version=version)
    book(books, date(2026, 3, 15), books.revenue, "-1100")
    book(books, date(2026, 3, 5), books.rent, "340", cc=books.ops)
    book(books, date(2026, 3, 15), books.revenue, "-600", entity=books.gbp)
    book(books, date(2026, 3, 5), books.rent, "180", cc=books.ops, entity=books.gbp)
    ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 7, 1), from_currency="GBP", to_currency="USD",
                       rate=D("1.25"), kind="budget")
    return uk_budget


def figures(rows):
    return [(r.account_code, r.actual, r.budget, r.actual_at_budget_rate, r.variance, r.operational, r.fx_effect,
             r.favourable) for r in rows]


def test_actuals_at_the_actual_rate_budgets_at_the_budget_rate_and_the_variance_split_exactly(books, group):
    report = consolidated_budget_vs_actual(tenant=books.org, fiscal_year=2026, period=date(2026, 3, 1),
                                           basis="month", as_of=date(2026, 4, 10))
    assert report.currency == "USD" and not report.paced and report.missing_rates == []
    assert [ver.budget.entity.code for ver in report.versions] == ["UK", "US"]
    assert figures(report.rows) == [
        # 1100 + 600 × 1.27; 1000 + 500 × 1.25; 1100 + 600 × 1.25
        ("4000", D("1862.00"), D("1625.00"), D("1850.00"), D("237.00"), D("225.00"), D("12.00"), True),
        # 340 + 180 × 1.27; 300 + 200 × 1.25; 340 + 180 × 1.25
        ("6100", D("568.60"), D("550.00"), D("565.00"), D("18.60"), D("15.00"), D("3.60"), False),
    ]
    assert [(t.label, t.actual, t.budget, t.variance, t.operational, t.fx_effect) for t in report.totals] == [
        ("Revenue", D("1862.00"), D("1625.00"), D("237.00"), D("225.00"), D("12.00")),
        ("Expense", D("568.60"), D("550.00"), D("18.60"), D("15.00"), D("3.60")),
        ("Net result", D("1293.40"), D("1075.00"), D("218.40"), D("210.00"), D("8.40")),
    ]


def test_by_entity_each_entity_keeps_its_own_lines(books, group):
    report = consolidated_budget_vs_actual(tenant=books.org, fiscal_year=2026, period=date(2026, 3, 1),
                                           basis="month", group_by=["entity", "account"], as_of=date(2026, 4, 10))
    assert [(r.entity_code, r.account_code, r.actual, r.budget) for r in report.rows] == [
        ("UK", "4000", D("762.00"), D("625.00")), ("US", "4000", D("1100.00"), D("1000.00")),
        ("UK", "6100", D("228.60"), D("250.00")), ("US", "6100", D("340.00"), D("300.00"))]


def test_a_month_in_progress_is_paced_in_each_entity_then_translated(books, group):
    report = consolidated_budget_vs_actual(tenant=books.org, fiscal_year=2026, period=date(2026, 3, 1),
                                           basis="month", as_of=date(2026, 3, 10))
    rent = report.rows[1]
    # US 300 × 10/31 = 96.77; UK 200 × 10/31 = 64.52 GBP × 1.25 = 80.65
    assert report.paced and (rent.pacing, rent.compared_with, rent.budget) == (D("177.42"), D("177.42"), D("550.00"))
    assert rent.variance == rent.actual - D("177.42")
    assert "against the budget paced to the date" in report.basis_words


def test_a_missing_budget_rate_leaves_those_budgets_out_and_says_so(books, group):
    with tenant_context(books.org):
        FxRate.objects.filter(kind="budget").delete()
    report = consolidated_budget_vs_actual(tenant=books.org, fiscal_year=2026, period=date(2026, 3, 1),
                                           basis="month", as_of=date(2026, 4, 10))
    assert [m.message for m in report.missing_rates] == [
        "No GBP→USD budget rate for the fiscal year from Jan 2026: the budgets of UK are left out of the "
        "consolidated figures. Add it under FX rates (kind: budget rate)."]
    assert report.rows[0].budget == D("1000.00") and report.rows[0].actual == D("1862.00")


def test_two_budgets_of_one_entity_would_count_it_twice_and_are_refused(books, users, group, budget):
    second = services.budget_create(tenant=books.org, actor=users["finance"], entity=books.usd, fiscal_year=2026,
                                    name="Stretch 2026")
    version = version_latest(tenant=books.org, budget=second)
    services.budget_lines_set(tenant=books.org, actor=None, version=version, cells=[
        (books.rent, books.ops, budget_periods(tenant=books.org, budget=second)[2], D("1"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=version)
    services.version_approve(tenant=books.org, actor=users["admin"], version=version)
    by_default = consolidation_versions(tenant=books.org, fiscal_year=2026)
    assert [ver.budget.name for ver in by_default] == ["UK 2026", "Plan 2026"]  # the first of US by name
    with pytest.raises(DomainError, match="Plan 2026 and Stretch 2026 are both budgets of US"):
        consolidation_versions(tenant=books.org, fiscal_year=2026, budgets=[budget, second])
    assert [ver.budget.name for ver in consolidation_versions(tenant=books.org, fiscal_year=2026,
                                                              budgets=[second, group])] == ["UK 2026", "Stretch 2026"]


def test_nothing_in_force_or_another_years_budget_is_refused(books, group, other_books):
    with pytest.raises(DomainError, match="No budget of FY2027 is in force"):
        consolidated_budget_vs_actual(tenant=books.org, fiscal_year=2027, period=date(2027, 3, 1))
    with pytest.raises(DomainError, match="Choose budgets of FY2027"):
        consolidation_versions(tenant=books.org, fiscal_year=2027, budgets=[group])
    with pytest.raises(DomainError, match="No budget of FY2026 is in force"):  # another organisation sees none
        consolidated_budget_vs_actual(tenant=other_books.org, fiscal_year=2026, period=date(2026, 3, 1))


def test_a_rate_of_an_unknown_kind_is_refused_and_a_budget_rate_is_dated_on_its_fiscal_year(books):
    with pytest.raises(DomainError, match="Unknown kind of rate 'spot'"):
        ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 5, 1), from_currency="EUR",
                           to_currency="USD", rate=D("1.1"), kind="spot")
    rate = ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 5, 17), from_currency="EUR",
                              to_currency="USD", rate=D("1.1"), kind="budget")
    assert rate.date == date(2026, 1, 1)


# --- the page -------------------------------------------------------------------------------------

def page_url(slug="acme", **params):
    from django.urls import reverse

    base = reverse("budgets:consolidated", kwargs={"org_slug": slug})
    return base + ("?" + "&".join(f"{k}={val}" for k, val in params.items()) if params else "")


def test_the_page_and_its_xlsx_show_the_same_split_figures(client, users, books, group):
    import io

    from openpyxl import load_workbook

    client.force_login(users["viewer"])
    page = client.get(page_url(fiscal_year=2026, month="2026-03"))
    assert page.status_code == 200
    report = page.context["report"]
    assert [(r.account_code, r.actual, r.operational, r.fx_effect) for r in report.rows] == [
        ("4000", D("1862.00"), D("225.00"), D("12.00")), ("6100", D("568.60"), D("15.00"), D("3.60"))]
    html = page.content.decode()
    assert "1,862.00" in html and "FX effect" in html and "UK UK 2026 v1" in html
    response = client.get(page_url(fiscal_year=2026, month="2026-03", format="xlsx"))
    assert response["Content-Disposition"] == ('attachment; filename="consolidated-budget-vs-actual_acme_fy2026_'
                                               'month-2026-03.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "Consolidated budget vs actual" and sheet.freeze_panes == "A5"
    assert [c.value for c in sheet[4]] == ["Account", "Account name", "Type", "Actual", "Budget", "Variance",
                                          "Variance %", "F/U", "Actual at budget rate", "Operational variance",
                                          "FX effect", "Whole budget", "Consumed %"]
    net = list(sheet.iter_rows(min_row=5, values_only=True))[-1]
    assert net[:6] == ("Net result", None, None, 1293.4, 1075, 218.4) and net[9:11] == (210, 8.4)


def test_a_bad_month_is_named_on_its_field_and_a_year_without_budgets_says_so(client, users, books, group):
    client.force_login(users["viewer"])
    bad = client.get(page_url(fiscal_year=2026, month="2027-02"))
    assert bad.status_code == 200 and "month" in bad.context["form"].errors
    from budgets.reports import report_default_month

    assert bad.context["report"].month == report_default_month(tenant=books.org, fiscal_year=2026, today=date.today())
    empty = client.get(page_url(fiscal_year=2031))
    assert empty.status_code == 200 and empty.context["report"] is None
    assert "No budget of FY2031 is in force yet" in empty.content.decode()
    assert client.get(page_url(slug="globex")).status_code == 404
