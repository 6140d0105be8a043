"""The journal's totals of the filtered lines (what a drilled-down number is reconciled with), and
the one way of choosing months (From / To; an old `period=<id>` link shows as that month)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from finops.ledger import selectors
from finops.ledger import services as ledger
from finops.ledger.forms import JournalFilterForm
from finops.ledger.periods import period_ensure
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context

D = Decimal


def post(books, d, debit, credit, amount, *, cc=None, memo="", entity=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=entity or books.usd, date=d, memo=memo,
                        lines=[LineSpec(debit.pk, D(amount), cc.pk if cc and debit.type != "asset" else None),
                               LineSpec(credit.pk, -D(amount), cc.pk if cc and credit.type != "asset" else None)])


@pytest.fixture
def sales(books):
    post(books, date(2026, 2, 10), books.cash, books.revenue, "500.00", cc=books.sales, memo="Feb sale")
    post(books, date(2026, 3, 3), books.cash, books.revenue, "1000.00", cc=books.sales, memo="March sale")
    post(books, date(2026, 3, 20), books.revenue, books.cash, "25.50", cc=books.sales, memo="March refund")
    post(books, date(2026, 3, 21), books.cash, books.revenue, "70.00", memo="Sale without cost center")
    post(books, date(2026, 3, 4), books.rent, books.cash, "300.00", cc=books.ops, memo="Rent")


def totals(books, **params):
    with tenant_context(books.org):  # as in a request: the form checks the ids against the tenant's
        filters = JournalFilterForm(params, tenant=books.org).filters()
    return [(t.currency, t.lines, str(t.net), t.natural and str(t.natural))
            for t in selectors.journal_totals(tenant=books.org, filters=filters)]


def test_the_filtered_lines_add_up_in_debit_sign_and_in_the_accounts_natural_sign(books, sales):
    march = {"period_from": "2026-03", "period_to": "2026-03"}
    assert totals(books, account=books.revenue.pk, cost_center=books.sales.pk, **march) == [
        ("USD", 2, "-974.50", "974.50")]
    assert totals(books, account=books.revenue.pk, **march) == [("USD", 3, "-1044.50", "1044.50")]
    assert totals(books, account=books.rent.pk) == [("USD", 1, "300.00", "300.00")]
    # no account: no natural sign; the entity's lines balance
    assert totals(books, entity=books.usd.pk, **march) == [("USD", 8, "0.00", None)]


def test_a_text_search_sums_the_lines_it_finds(books, sales):
    assert totals(books, q="refund") == [("USD", 2, "0.00", None)]
    assert totals(books, q="refund", account=books.revenue.pk) == [("USD", 1, "25.50", "-25.50")]


def test_nothing_narrowing_the_journal_shows_no_totals(books, sales):
    assert totals(books) == []


def test_the_page_shows_the_totals_a_drill_down_is_reconciled_with(client, users, books, sales):
    client.force_login(users["director"])
    response = client.get(reverse("ledger:journal", kwargs={"org_slug": "acme"}), {
        "entity": books.usd.pk, "account": books.revenue.pk, "cost_center": books.sales.pk,
        "period_from": "2026-01", "period_to": "2026-03"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 lines · net (1,474.50) USD" in html
    assert '<strong data-natural="1474.50">1,474.50</strong> <span class="muted">in the account\'s natural sign</span>' in html
    assert 'name="period"' not in html  # one way of choosing months


def test_an_old_period_link_shows_as_that_month_in_from_and_to(client, users, books, sales):
    client.force_login(users["finance"])
    period = period_ensure(tenant=books.org, d=date(2026, 2, 1))
    response = client.get(reverse("ledger:journal", kwargs={"org_slug": "acme"}), {"period": period.pk})
    form = response.context["form"]
    assert (form["period_from"].value(), form["period_to"].value()) == ("2026-02", "2026-02")
    assert {line.memo or line.entry.memo for line in response.context["page"].lines} == {"Feb sale"}
    assert [(t.lines, t.net) for t in response.context["totals"]] == [(2, D("0.00"))]
