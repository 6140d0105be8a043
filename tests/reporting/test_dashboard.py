"""The director's dashboard: exact month-to-date and year-to-date figures from the rollup, the
consolidated translation of foreign entities, the missing-rate warning and the query budget."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from finops.ledger import services as ledger
from finops.ledger.models import FxRateKind
from finops.ledger.services import LineSpec
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from reporting.selectors import dashboard_get

pytestmark = pytest.mark.django_db
D = Decimal


def post(books, entity, d, *pairs):
    """Post one entry: pairs of (account, signed amount), debit positive."""
    return ledger.journal_post(tenant=books.org, actor=None, entity=entity, date=d,
                               lines=[LineSpec(account.pk, D(amount)) for account, amount in pairs])


def us_year(books):
    """The US entity (USD): December 2025 (the previous fiscal year), then January–March 2026."""
    post(books, books.usd, date(2025, 12, 15), (books.cash, "999.00"), (books.revenue, "-999.00"))
    post(books, books.usd, date(2026, 1, 20), (books.cash, "400.00"), (books.revenue, "-400.00"))
    post(books, books.usd, date(2026, 2, 10), (books.cash, "500.00"), (books.revenue, "-500.00"))
    post(books, books.usd, date(2026, 2, 28), (books.rent, "300.00"), (books.cash, "-300.00"))
    post(books, books.usd, date(2026, 3, 3), (books.cash, "1000.00"), (books.revenue, "-1000.00"))
    post(books, books.usd, date(2026, 3, 4), (books.rent, "300.00"), (books.cash, "-300.00"))
    post(books, books.usd, date(2026, 3, 9), (books.software, "120.00"), (books.payable, "-120.00"))
    # A refund is revenue's debit: it lowers revenue in natural sign.
    post(books, books.usd, date(2026, 3, 20), (books.revenue, "25.50"), (books.cash, "-25.50"))


def url(**params):
    path = reverse("reporting:dashboard", kwargs={"org_slug": "acme"})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_month_and_year_to_date_figures_are_exact_in_natural_sign(books):
    us_year(books)
    with tenant_context(books.org):
        dash = dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.usd.pk)
    assert (dash.currency, dash.fiscal_year, dash.fiscal_year_start) == ("USD", 2026, date(2026, 1, 1))
    assert (dash.mtd.revenue, dash.mtd.expenses, dash.mtd.net_income) == (D("974.50"), D("420.00"), D("554.50"))
    assert (dash.ytd.revenue, dash.ytd.expenses, dash.ytd.net_income) == (D("1874.50"), D("720.00"), D("1154.50"))
    assert (dash.prior_month.revenue, dash.prior_month.expenses) == (D("500.00"), D("300.00"))
    # Balances at the end of March include December's cash: 999 + 400 + 500 − 300 + 1000 − 300 − 25.50.
    assert (dash.balances.assets, dash.balances.liabilities, dash.balances.equity) == (D("2273.50"), D("120.00"), D("0"))
    assert [(a.code, a.amount, a.share.quantize(D("0.01"))) for a in dash.top_expenses] == [
        ("6100", D("300.00"), D("71.43")), ("6200", D("120.00"), D("28.57"))]
    assert [(a.code, a.amount) for a in dash.top_revenue] == [("4000", D("974.50"))]
    net = next(k for k in dash.kpis if k.key == "net")
    assert (net.value, net.ytd, net.prior, net.change.quantize(D("0.01")), net.favourable) == (
        D("554.50"), D("1154.50"), D("200.00"), D("177.25"), True)
    assert dash.missing_rates == []


def test_the_trend_covers_the_last_twelve_months_or_the_fiscal_year(books):
    us_year(books)
    with tenant_context(books.org):
        last12 = dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.usd.pk)
        fiscal = dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.usd.pk, span="fy")
    assert [p.month for p in last12.trend][0] == date(2025, 4, 1)
    assert [(p.month, p.revenue, p.expenses, p.net) for p in last12.trend[-4:]] == [
        (date(2025, 12, 1), D("999.00"), D("0"), D("999.00")),
        (date(2026, 1, 1), D("400.00"), D("0"), D("400.00")),
        (date(2026, 2, 1), D("500.00"), D("300.00"), D("200.00")),
        (date(2026, 3, 1), D("974.50"), D("420.00"), D("554.50")),
    ]
    # The fiscal year runs January–December; months after March are gaps, not zeros.
    assert [p.month for p in fiscal.trend] == [date(2026, m, 1) for m in range(1, 13)]
    assert [p.revenue for p in fiscal.trend[2:5]] == [D("974.50"), None, None]
    chart = fiscal.chart_data()
    assert chart["labels"][:3] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert chart["revenue"][:4] == ["400.00", "500.00", "974.50", None]
    assert chart["net"][:3] == ["400.00", "200.00", "554.50"]


def test_a_fiscal_year_starting_in_april_counts_the_year_to_date_from_april(books):
    tenancy.organization_update(tenant=books.org, actor=None, name="Acme", currency="USD", fiscal_year_start=4)
    books.org.refresh_from_db()
    post(books, books.usd, date(2025, 3, 31), (books.cash, "70.00"), (books.revenue, "-70.00"))
    post(books, books.usd, date(2025, 4, 1), (books.cash, "80.00"), (books.revenue, "-80.00"))
    post(books, books.usd, date(2026, 3, 2), (books.cash, "90.00"), (books.revenue, "-90.00"))
    with tenant_context(books.org):
        dash = dashboard_get(tenant=books.org, month=date(2026, 3, 1))
    assert (dash.fiscal_year, dash.fiscal_year_start) == (2026, date(2025, 4, 1))
    assert (dash.mtd.revenue, dash.ytd.revenue) == (D("90.00"), D("170.00"))


def test_consolidation_translates_the_gbp_entity_at_the_months_average_rate(books):
    us_year(books)
    post(books, books.gbp, date(2026, 3, 12), (books.cash, "100.00"), (books.revenue, "-100.00"))
    post(books, books.gbp, date(2026, 3, 13), (books.rent, "40.00"), (books.cash, "-40.00"))
    ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 3, 31), from_currency="GBP",
                       to_currency="USD", rate=D("1.2800"), kind=FxRateKind.CLOSING)
    with tenant_context(books.org):
        dash = dashboard_get(tenant=books.org, month=date(2026, 3, 1))
        uk = dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.gbp.pk)
    assert (uk.currency, uk.mtd.revenue, uk.mtd.expenses, uk.balances.assets) == ("GBP", D("100.00"), D("40.00"), D("60.00"))
    assert dash.currency == "USD" and dash.entity is None
    # 974.50 + 100 × 1.27 = 1101.50; 420 + 40 × 1.27 = 470.80.
    assert (dash.mtd.revenue, dash.mtd.expenses, dash.mtd.net_income) == (D("1101.50"), D("470.80"), D("630.70"))
    assert (dash.ytd.revenue, dash.ytd.expenses) == (D("2001.50"), D("770.80"))
    # Balances at the closing rate: 2273.50 + 60 × 1.28.
    assert dash.balances.assets == D("2350.30")
    assert [(a.code, a.amount) for a in dash.top_expenses] == [("6100", D("350.80")), ("6200", D("120.00"))]
    assert dash.missing_rates == []


def test_a_missing_rate_is_named_and_its_amounts_left_out_not_taken_as_one(books):
    us_year(books)
    post(books, books.gbp, date(2026, 2, 12), (books.cash, "200.00"), (books.revenue, "-200.00"))  # no Feb rate
    post(books, books.gbp, date(2026, 3, 12), (books.cash, "100.00"), (books.revenue, "-100.00"))
    with tenant_context(books.org):
        dash = dashboard_get(tenant=books.org, month=date(2026, 3, 1))
    assert dash.mtd.revenue == D("1101.50")  # March is translated
    assert dash.ytd.revenue == D("2001.50")  # February's 200 GBP is not counted at all (not as 200 USD)
    assert dash.prior_month.revenue == D("500.00")
    assert [m.message for m in dash.missing_rates] == [
        "No GBP→USD average rate for 2026-02: the P&L amounts of UK for that month are left out of the consolidated figures.",
        "No GBP→USD closing rate for 2026-03: the balance-sheet balances of UK for that month are left out of the consolidated figures.",
    ]
    assert dash.balances.assets == D("2273.50")


def test_the_page_shows_the_figures_and_the_missing_rate_warning(client, books, users):
    us_year(books)
    post(books, books.gbp, date(2026, 2, 12), (books.cash, "200.00"), (books.revenue, "-200.00"))
    client.force_login(users["viewer"])
    response = client.get(url(month="2026-03"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "No GBP→USD average rate for 2026-02" in page
    assert '<div class="kpi-value " data-value="974.50">974.50<span class="ccy">USD</span></div>' in page
    assert 'data-ytd="1874.50">1,874.50</strong>' in page
    assert 'id="trend-data"' in page and '"revenue": [' in page
    assert "<script>" not in page and 'style="' not in page  # the CSP allows neither


def test_the_month_defaults_to_the_latest_month_with_postings(client, books, users):
    us_year(books)
    ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 9, 1), from_currency="GBP", to_currency="USD",
                       rate=D("1.25"))  # creates no period; the ledger's periods run to December 2026
    client.force_login(users["director"])
    response = client.get(url())
    assert response.context["dash"].month == date(2026, 3, 1)
    assert response.context["dash"].months[0] == date(2026, 12, 1)  # every period can be picked


def test_an_empty_ledger_shows_the_current_month_and_an_invitation_to_post(client, books, users):
    client.force_login(users["viewer"])
    response = client.get(url())
    assert response.status_code == 200
    assert "No postings yet" in response.content.decode()
    assert response.context["dash"].has_postings is False


def test_an_htmx_request_gets_only_the_dashboard_body(client, books, users):
    us_year(books)
    client.force_login(users["viewer"])
    response = client.get(url(month="2026-02", entity=books.usd.pk), HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="dashboard")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="dashboard"')
    assert "<html" not in page and "sidebar" not in page
    assert 'data-value="500.00"' in page


def test_bad_filters_fall_back_to_defaults_and_say_so(client, books, users):
    us_year(books)
    client.force_login(users["viewer"])
    response = client.get(url(month="2026-13", entity="abc", range="decade"))
    assert response.status_code == 200
    dash = response.context["dash"]
    assert (dash.month, dash.entity, dash.span) == (date(2026, 3, 1), None, "12m")
    assert "Ignored a filter: month: Months are written YYYY-MM." in response.content.decode()


def test_an_entity_of_another_organisation_gives_the_consolidated_view(client, books, other_books, users):
    client.force_login(users["viewer"])
    response = client.get(url(entity=other_books.usd.pk))
    assert response.context["dash"].entity is None


def test_the_whole_page_stays_within_its_query_budget_whatever_the_data(client, books, users, django_assert_max_num_queries):
    us_year(books)
    post(books, books.gbp, date(2026, 3, 12), (books.cash, "100.00"), (books.revenue, "-100.00"))
    client.force_login(users["viewer"])
    client.get(url())  # warm the session
    # 4 for the dashboard itself (periods, entities, FX rates, one aggregate over the rollup)...
    with tenant_context(books.org), django_assert_max_num_queries(4):
        dashboard_get(tenant=books.org, month=date(2026, 3, 1))
    # ...and 8 the request needs for any page: session, user, membership, the sidebar's list of
    # organisations, setting and resetting the tenant, and the savepoint around it (in production
    # a BEGIN/COMMIT, which are not statements Django logs).
    with django_assert_max_num_queries(14) as captured:  # +1: the organisation by slug; +1: the live poller's stamp
        client.get(url(month="2026-03"))
    assert not any("ledger_journalline" in q["sql"] for q in captured.captured_queries)
    assert sum("ledger_periodbalance" in q["sql"] for q in captured.captured_queries) == 2


def test_a_single_entity_in_its_own_currency_needs_no_rates_query(books, django_assert_num_queries):
    us_year(books)
    with tenant_context(books.org), django_assert_num_queries(3):
        dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.usd.pk)


def test_strangers_get_404_and_every_member_role_sees_the_dashboard(client, books, users, other_org):
    from django.contrib.auth import get_user_model

    for role, user in users.items():
        client.force_login(user)
        assert client.get(url()).status_code == 200, role
    client.force_login(get_user_model().objects.get(email="admin@globex.test"))
    assert client.get(url()).status_code == 404


def test_the_reporting_section_has_its_placeholder(client, books, users):
    client.force_login(users["viewer"])
    response = client.get(reverse("reporting:reports", kwargs={"org_slug": "acme"}))
    assert response.status_code == 200
    assert "Reporting" in response.content.decode()
