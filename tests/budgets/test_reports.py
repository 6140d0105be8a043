"""Budget vs actual (`budgets.reports.budget_vs_actual`): exact numbers in natural sign, the
unbudgeted account and the unspent budget line, month / QTD / YTD windows, pacing, projection."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets import services
from budgets.reports import RowView, budget_vs_actual
from budgets.selectors import budget_periods, version_latest
from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.services import organization_update
from tests.builders import make_books


def book(books, d, account, amount, *, cc=None, entity=None):
    """`amount` debited to `account` (credit to cash): positive is an expense, negative revenue."""
    ledger.journal_post(tenant=books.org, actor=None, entity=entity or books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def plan(books, draft, periods):
    """FY2026 (January start). Revenue budget 1,000 a month Jan–Apr; rent in OPS 300 a month
    Jan–Mar; rent in SALES 500 in March (nothing booked); software in SALES booked, never budgeted."""
    jan, feb, mar, apr = periods[:4]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        *[(books.revenue, None, p, D("1000")) for p in (jan, feb, mar, apr)],
        *[(books.rent, books.ops, p, D("300")) for p in (jan, feb, mar)],
        (books.rent, books.sales, mar, D("500")),
    ])
    for d, amount in ((date(2026, 1, 15), "-1200"), (date(2026, 2, 15), "-900"), (date(2026, 3, 15), "-1100")):
        book(books, d, books.revenue, amount)
    for d, amount in ((date(2026, 1, 5), "250"), (date(2026, 2, 5), "350"), (date(2026, 3, 5), "300")):
        book(books, d, books.rent, amount, cc=books.ops)
    book(books, date(2026, 3, 20), books.software, "80", cc=books.sales)
    book(books, date(2026, 3, 20), books.software, "999", cc=books.sales, entity=books.gbp)  # another entity
    return draft


def table(report):
    return [(r.account_code, r.cost_center_code, r.actual, r.budget, r.variance, r.variance_pct, r.favourable,
             r.has_budget) for r in report.rows]


def test_one_month_compares_revenue_and_expense_in_natural_sign_with_the_unbudgeted_account_at_zero(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                              as_of=date(2026, 4, 10))
    assert report.window == [date(2026, 3, 1)] and report.currency == "USD"
    assert not report.paced and report.basis_words == "March 2026"
    assert table(report) == [
        ("4000", "", D("1100.00"), D("1000.00"), D("100.00"), D("10.00"), True, True),  # revenue above: good
        ("6100", "OPS", D("300.00"), D("300.00"), D("0.00"), D("0.00"), True, True),
        ("6100", "SALES", D("0.00"), D("500.00"), D("-500.00"), D("-100.00"), True, True),  # budget, no actual
        ("6200", "SALES", D("80.00"), D("0.00"), D("80.00"), None, False, False),  # unbudgeted spend
    ]
    revenue, expense, net = report.totals
    assert (revenue.label, revenue.actual, revenue.budget, revenue.favourable) == ("Revenue", D("1100.00"),
                                                                                   D("1000.00"), True)
    assert (expense.label, expense.actual, expense.budget, expense.variance, expense.favourable) == (
        "Expense", D("380.00"), D("800.00"), D("-420.00"), True)
    assert (net.label, net.actual, net.budget, net.variance, net.variance_pct, net.favourable) == (
        "Net result", D("720.00"), D("200.00"), D("520.00"), D("260.00"), True)


def test_revenue_below_and_expense_above_budget_are_unfavourable(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 2, 1), basis="month")
    assert table(report) == [
        ("4000", "", D("900.00"), D("1000.00"), D("-100.00"), D("-10.00"), False, True),
        ("6100", "OPS", D("350.00"), D("300.00"), D("50.00"), D("16.67"), False, True),
    ]


def test_year_to_date_of_a_complete_month_sums_the_months_and_projects_the_year(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="ytd",
                              as_of=date(2026, 4, 2))
    assert report.window == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert not report.paced and report.basis_words == "year to date through 31 March 2026"
    assert table(report)[:2] == [
        ("4000", "", D("3200.00"), D("3000.00"), D("200.00"), D("6.67"), True, True),
        ("6100", "OPS", D("900.00"), D("900.00"), D("0.00"), D("0.00"), True, True),
    ]
    revenue = report.rows[0]
    assert revenue.pacing == D("3000.00") and revenue.compared_with == D("3000.00")
    assert revenue.projection == D("12800.00")  # 3,200 / 3 complete months × 12
    assert revenue.latest_estimate == D("4200.00")  # 3,200 booked + April's 1,000 still to come


def test_year_to_date_on_a_mid_month_date_compares_with_the_budget_paced_to_the_date(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="ytd",
                              as_of=date(2026, 3, 10))
    assert report.paced and report.days == (10, 31)
    assert report.basis_words == ("year to date through 10 March 2026 (10 of 31 days), "
                                  "against the budget paced to the date")
    revenue, rent = report.rows[:2]
    # Jan and Feb (2,000) + March's 1,000 × 10 / 31 days = 2,322.58: 3,200 booked is 877.42 ahead.
    assert (revenue.actual, revenue.budget, revenue.pacing, revenue.compared_with) == (
        D("3200.00"), D("3000.00"), D("2322.58"), D("2322.58"))
    assert (revenue.variance, revenue.variance_pct, revenue.favourable) == (D("877.42"), D("37.78"), True)
    assert revenue.consumed_pct == D("106.67")  # consumed stays against the whole budget
    # Rent: 600 + 300 × 10 / 31 = 696.77 paced; March's rent, booked on the 5th, is ahead of pace.
    assert (rent.pacing, rent.variance, rent.variance_pct, rent.favourable, rent.consumed_pct) == (
        D("696.77"), D("203.23"), D("29.17"), False, D("100.00"))
    # The run rate reads the complete months only (January and February: 2,100), not ten days of March.
    assert revenue.projection == D("12600.00")
    assert revenue.latest_estimate == D("4100.00")  # 2,100 + the budget of March and April
    net = report.totals[-1]
    assert (net.label, net.actual, net.pacing, net.variance, net.paced) == (
        "Net result", D("2220.00"), D("1464.52"), D("755.48"), True)


def test_a_month_in_progress_compares_the_actual_to_date_with_the_paced_budget(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                              as_of=date(2026, 3, 10))
    assert report.paced and report.basis_words == ("month to date through 10 March 2026 (10 of 31 days), "
                                                   "against the budget paced to the date")
    assert [(r.account_code, r.cost_center_code, r.compared_with, r.variance, r.variance_pct, r.favourable)
            for r in report.rows] == [
        ("4000", "", D("322.58"), D("777.42"), D("241.00"), True),
        ("6100", "OPS", D("96.77"), D("203.23"), D("210.01"), False),
        ("6100", "SALES", D("161.29"), D("-161.29"), D("-100.00"), True),
        ("6200", "SALES", D("0.00"), D("80.00"), None, False),
    ]


def test_the_run_rate_waits_for_a_complete_month_and_a_full_year_is_never_paced(books, plan):
    early = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 1, 1), basis="ytd",
                             as_of=date(2026, 1, 20))
    revenue = early.rows[0]
    assert early.paced and revenue.projection is None  # no month complete: no pace to extrapolate
    assert revenue.latest_estimate == D("4000.00")  # nothing complete: the whole plan
    year = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="full_year",
                            as_of=date(2026, 3, 10))
    assert not year.paced and year.rows[0].compared_with == D("4000.00")
    assert year.basis_words == "full year Jan 2026 – Dec 2026"


def test_grouping_by_period_gives_a_row_per_month_of_the_window(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 2, 1), basis="ytd",
                              group_by=["account", "period"], account_type="revenue")
    assert [(r.account_code, r.period_start, r.actual, r.budget, r.projection) for r in report.rows] == [
        ("4000", date(2026, 1, 1), D("1200.00"), D("1000.00"), None),
        ("4000", date(2026, 2, 1), D("900.00"), D("1000.00"), None),
    ]
    assert [t.label for t in report.totals] == ["Revenue", "Net result"]


def test_no_grouping_gives_one_row_per_account_type(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="full_year",
                              group_by=["entity"])
    assert [(r.entity_code, r.account_type, r.actual, r.budget) for r in report.rows] == [
        ("US", "revenue", D("3200.00"), D("4000.00")), ("US", "expense", D("980.00"), D("1400.00"))]


def test_a_cost_center_filter_takes_its_whole_subtree(books, plan):
    ops = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), cost_center=books.ops)
    assert [(r.account_code, r.cost_center_code) for r in ops.rows] == [
        ("6100", "OPS"), ("6100", "SALES"), ("6200", "SALES")]  # SALES sits under OPS
    sales = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), cost_center=books.sales,
                             group_by=["cost_center"])
    assert [(r.cost_center_code, r.actual, r.budget) for r in sales.rows] == [("SALES", D("80.00"), D("500.00"))]
    by_account = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), account=books.rent)
    assert [r.cost_center_code for r in by_account.rows] == ["OPS", "SALES"]


def test_the_report_is_one_sql_statement(books, plan):
    with CaptureQueriesContext(connection) as queries:
        budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="ytd")
    assert len([q for q in queries.captured_queries if "ledger_periodbalance" in q["sql"]]) == 1
    assert len([q for q in queries.captured_queries if "budgets_budgetline" in q["sql"]]) == 1


def test_quarter_to_date_follows_a_fiscal_year_starting_in_april(org, users):
    org = organization_update(tenant=org, actor=None, name=org.name, fiscal_year_start=4, currency="USD")
    books = make_books(org)
    budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="FY26")
    periods = budget_periods(tenant=org, budget=budget)
    assert (periods[0].start, periods[11].start) == (date(2025, 4, 1), date(2026, 3, 1))
    version = version_latest(tenant=org, budget=budget)
    services.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (books.software, None, p, D("100")) for p in periods])
    book(books, date(2025, 12, 10), books.software, "500")  # Q3 (Oct–Dec)
    book(books, date(2026, 1, 10), books.software, "70")  # Q4 (Jan–Mar)
    book(books, date(2026, 2, 10), books.software, "90")

    def figures(basis):
        r = budget_vs_actual(tenant=org, version=version, period=date(2026, 2, 1), basis=basis).rows[0]
        return r.actual, r.budget, r.variance, r.favourable

    assert figures("month") == (D("90.00"), D("100.00"), D("-10.00"), True)
    assert figures("qtd") == (D("160.00"), D("200.00"), D("-40.00"), True)  # January and February
    assert figures("ytd") == (D("660.00"), D("1100.00"), D("-440.00"), True)  # April 2025 to February
    assert figures("full_year") == (D("660.00"), D("1200.00"), D("-540.00"), True)


def test_bad_choices_are_refused_with_a_message(books, plan):
    with pytest.raises(DomainError, match="not in the fiscal year"):
        budget_vs_actual(tenant=books.org, version=plan, period=date(2027, 1, 1))
    with pytest.raises(DomainError, match="Unknown basis"):
        budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 1, 1), basis="decade")
    with pytest.raises(DomainError, match="Cannot group by"):
        budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 1, 1), group_by=["colour"])
    with pytest.raises(DomainError, match="revenue and expense"):
        budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 1, 1), account_type="asset")


def test_another_organisations_report_reads_nothing_of_this_one(books, other_books, plan):
    report = budget_vs_actual(tenant=other_books.org, version=plan, period=date(2026, 3, 1))
    assert report.rows == [] and report.totals == []


# --- how the lines are listed: account groups, sorting, narrowing ------------------------------

@pytest.fixture
def grouped(books, plan):
    """Rent and software under "6000 Operating expenses", itself under "5000 Costs" (two levels)."""
    costs = ledger.account_save(tenant=books.org, actor=None, code="5000", name="Costs", type="expense")
    opex = ledger.account_save(tenant=books.org, actor=None, code="6000", name="Operating expenses", type="expense",
                               parent=costs)
    for account in (books.rent, books.software):
        ledger.account_save(tenant=books.org, actor=None, account=account, code=account.code, name=account.name,
                            type=account.type, parent=opex)
    return plan


def listed(report):
    return [(r.account_code, r.cost_center_code, r.depth, r.is_group, r.actual, r.budget, r.variance)
            for r in report.rows]


def test_rolled_up_by_account_group_each_group_subtotals_every_line_below_it(books, grouped):
    report = budget_vs_actual(tenant=books.org, version=grouped, period=date(2026, 3, 1), basis="month",
                              as_of=date(2026, 4, 10), view=RowView(rollup=True))
    assert listed(report) == [
        ("4000", "", 0, False, D("1100.00"), D("1000.00"), D("100.00")),
        ("5000", None, 0, True, D("380.00"), D("800.00"), D("-420.00")),
        ("6000", None, 1, True, D("380.00"), D("800.00"), D("-420.00")),
        ("6100", "OPS", 2, False, D("300.00"), D("300.00"), D("0.00")),
        ("6100", "SALES", 2, False, D("0.00"), D("500.00"), D("-500.00")),
        ("6200", "SALES", 2, False, D("80.00"), D("0.00"), D("80.00")),
    ]
    group = report.rows[2]
    assert (group.account_name, group.has_budget, group.favourable) == ("Operating expenses", True, True)
    # The totals are the statement's, not the groups added again.
    assert [(t.label, t.actual, t.budget) for t in report.totals] == [
        ("Revenue", D("1100.00"), D("1000.00")), ("Expense", D("380.00"), D("800.00")),
        ("Net result", D("720.00"), D("200.00"))]
    assert report.view_words == ["rolled up by account group"]


def test_sorted_by_a_column_revenue_stays_before_expense(books, plan):
    report = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                              as_of=date(2026, 4, 10), view=RowView(sort="-actual"))
    assert [(r.account_code, r.cost_center_code) for r in report.rows] == [
        ("4000", ""), ("6100", "OPS"), ("6200", "SALES"), ("6100", "SALES")]
    ascending = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                                 as_of=date(2026, 4, 10), view=RowView(sort="variance"))
    assert [(r.account_code, r.cost_center_code) for r in ascending.rows] == [
        ("4000", ""), ("6100", "SALES"), ("6100", "OPS"), ("6200", "SALES")]
    assert ascending.view_words == ["sorted by variance"]


def test_sorting_a_rolled_up_report_sorts_the_members_of_each_group(books, grouped):
    report = budget_vs_actual(tenant=books.org, version=grouped, period=date(2026, 3, 1), basis="month",
                              as_of=date(2026, 4, 10), view=RowView(rollup=True, sort="-budget"))
    assert [(r.account_code, r.cost_center_code) for r in report.rows] == [
        ("4000", ""), ("5000", None), ("6000", None), ("6100", "SALES"), ("6100", "OPS"), ("6200", "SALES")]


def test_narrowed_lines_have_totals_of_the_lines_listed(books, plan):
    unfavourable = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                                    as_of=date(2026, 4, 10), view=RowView(show="unfavourable"))
    assert [(r.account_code, r.cost_center_code) for r in unfavourable.rows] == [("6200", "SALES")]
    assert [(t.label, t.actual, t.budget, t.variance) for t in unfavourable.totals] == [
        ("Expense", D("80.00"), D("0.00"), D("80.00")), ("Net result", D("-80.00"), D("0.00"), D("-80.00"))]
    found = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                             as_of=date(2026, 4, 10), view=RowView(search=" sales "))
    assert [(r.account_code, r.cost_center_code) for r in found.rows] == [("6100", "SALES"), ("6200", "SALES")]
    assert [(t.label, t.actual, t.budget) for t in found.totals] == [
        ("Expense", D("80.00"), D("500.00")), ("Net result", D("-80.00"), D("-500.00"))]
    assert found.view_words == ["lines matching \u201csales\u201d", "totals of the lines listed"]
    unbudgeted = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1), basis="month",
                                  as_of=date(2026, 4, 10), view=RowView(show="unbudgeted"))
    assert [(r.account_code, r.cost_center_code, r.has_budget) for r in unbudgeted.rows] == [("6200", "SALES", False)]


def test_a_bad_sort_or_show_is_refused_with_a_message():
    with pytest.raises(DomainError, match="Cannot sort by 'colour'"):
        RowView(sort="-colour")
    with pytest.raises(DomainError, match="Cannot show 'some'"):
        RowView(show="some")
