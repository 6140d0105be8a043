"""Which month the dashboard opens on (issue 9 §1): the last complete month, never a future one;
the current month as "month to date" compared pro rata; postings dated far ahead listed, not shown
as the company's month; and flagged where they are posted."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.actuals import MonthPosted
from finops.ledger.importers import gl_import
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from reporting.selectors import dashboard_get as _dashboard_get

pytestmark = pytest.mark.django_db
D = Decimal


def post(books, d, account, amount):
    """Revenue (negative amount) or an expense against cash."""
    return ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d,
                               lines=[LineSpec(account.pk, D(amount)), LineSpec(books.cash.pk, -D(amount))])


def dashboard_get(*, tenant, **filters):
    with tenant_context(tenant):
        return _dashboard_get(tenant=tenant, **filters)


@pytest.fixture
def autumn(books):
    """October and November 2026 booked in full, and two days of December."""
    post(books, date(2026, 10, 15), books.revenue, "-3100.00")
    post(books, date(2026, 10, 20), books.rent, "1200.00")
    post(books, date(2026, 11, 15), books.revenue, "-3000.00")
    post(books, date(2026, 11, 20), books.rent, "1240.00")
    post(books, date(2026, 12, 1), books.rent, "80.00")
    return books


def test_on_the_2nd_the_dashboard_opens_on_the_last_complete_month_not_two_days_of_december(autumn):
    dash = dashboard_get(tenant=autumn.org, today=date(2026, 12, 2))
    assert dash.month == date(2026, 11, 1) and not dash.in_progress
    assert (dash.mtd.revenue, dash.mtd.expenses) == (D("3000.00"), D("1240.00"))
    assert dash.compared_words == "on October 2026"
    revenue = dash.kpis[0]
    assert (revenue.prior, f"{revenue.change:.2f}") == (D("3100.00"), "-3.23")
    assert dash.months[0] == date(2026, 12, 1)  # the current month can still be chosen


def test_the_current_month_is_month_to_date_and_compared_pro_rata_to_the_days_gone(autumn):
    dash = dashboard_get(tenant=autumn.org, month=date(2026, 12, 1), today=date(2026, 12, 2))
    assert dash.in_progress and dash.days == (2, 31) and dash.is_current
    assert dash.period_words == "month to date, through 2 December (2 of 31 days)"
    assert dash.compared_words == "on November 2026, pro rata to 2 of 31 days"
    expenses = dash.kpis[1]
    # 80 booked so far against November's 1,240 × 2 / 31 = 80.0000…: on pace, not "▼ 93.5 %".
    assert expenses.value == D("80.00")
    assert expenses.prior == D("1240.00") * 2 / 31
    assert f"{expenses.change:.2f}" == "0.00"
    assert dash.chart_data()["labels"][-1] == "Dec 2026 (to date)"


def test_a_ledger_that_stops_earlier_opens_on_its_latest_month_and_a_new_one_on_the_current(books):
    post(books, date(2026, 6, 10), books.rent, "10.00")
    assert dashboard_get(tenant=books.org, today=date(2026, 12, 2)).month == date(2026, 6, 1)
    post(books, date(2027, 1, 5), books.rent, "10.00")
    assert dashboard_get(tenant=books.org, today=date(2027, 1, 6)).month == date(2026, 6, 1)
    other = dashboard_get(tenant=books.org, today=date(2026, 6, 20))  # only the current month posted
    assert other.month == date(2026, 6, 1) and other.in_progress


def test_an_entry_dated_years_ahead_is_listed_not_opened_and_leaves_the_list_once_reversed(autumn):
    typo = post(autumn, date(2030, 1, 15), autumn.rent, "500.00")  # 2030 for 2026
    post(autumn, date(2027, 1, 4), autumn.rent, "20.00")  # next month's rent: not far ahead
    dash = dashboard_get(tenant=autumn.org, today=date(2026, 12, 2))
    assert dash.month == date(2026, 11, 1)
    assert max(dash.months) == date(2026, 12, 1)
    assert dash.far_ahead == [MonthPosted(date(2030, 1, 1), 2)]
    with pytest.raises(DomainError, match="January 2030 has not begun"):
        dashboard_get(tenant=autumn.org, month=date(2030, 1, 1), today=date(2026, 12, 2))
    ledger.journal_reverse(tenant=autumn.org, actor=None, entry=typo.entry)
    assert dashboard_get(tenant=autumn.org, today=date(2026, 12, 2)).far_ahead == []


def test_the_page_refuses_a_future_month_and_links_the_postings_dated_far_ahead(client, autumn, users):
    post(autumn, date(2030, 1, 15), autumn.rent, "500.00")
    client.force_login(users["director"])
    path = reverse("reporting:dashboard", kwargs={"org_slug": "acme"})
    with time_machine.travel(date(2026, 12, 2), tick=False):
        page = client.get(path + "?month=2030-01")
    html = page.content.decode()
    assert page.status_code == 200 and page.context["dash"].month == date(2026, 11, 1)
    assert ("Ignored a filter: month: January 2030 has not begun: the dashboard shows months up to "
            "December 2026; postings dated later are listed on it.") in html
    journal = reverse("ledger:journal", kwargs={"org_slug": "acme"})
    assert (f'<a href="{journal}?period_from=2030-01&amp;period_to=2030-01" data-far-ahead="2030-01">'
            "January 2030</a> (2 lines)") in html
    flat = " ".join(html.split())
    assert re.search(r'<span class="arrow" aria-hidden="true">▼</span>-3\.2 %</span> </div> '
                     r'<div class="kpi-compare">Change on October 2026</div>', flat)
    with time_machine.travel(date(2026, 12, 2), tick=False):
        current = client.get(path + "?month=2026-12").content.decode()
    assert 'month to date</span></h1>' in current and "Through 2 December (2 of 31 days)" in current
    assert 'title="The current month is the latest"' in current  # no step into the future
    assert "Change on November 2026, pro rata to 2 of 31 days" in current and "At 2 December 2026" in current


def test_posting_far_ahead_by_form_says_so(client, books, users):
    client.force_login(users["finance"])
    data = {"entity": books.usd.pk, "date": "2030-01-15", "memo": "Rent", "reference": "", "key": "1" * 32,
            "lines-TOTAL_FORMS": 2, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 500}
    for i, (account, debit, credit) in enumerate([(books.rent, "500.00", ""), (books.cash, "", "500.00")]):
        data |= {f"lines-{i}-account": account.pk, f"lines-{i}-debit": debit, f"lines-{i}-credit": credit,
                 f"lines-{i}-cost_center": "", f"lines-{i}-memo": "", f"lines-{i}-currency": ""}
    with time_machine.travel(date(2026, 12, 2), tick=False):
        response = client.post(reverse("ledger:entry_create", kwargs={"org_slug": "acme"}), data, follow=True)
    text = " ".join(response.content.decode().split())
    entry = response.context["entry"]
    assert (f"JE-{entry.pk} is dated 37 months ahead (January 2030): is the year right? If not, reverse it "
            "here and post it again with the right date.") in text


def test_a_gl_import_with_entries_far_ahead_imports_them_and_says_so(books):
    data = (b"date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
            b"2026-11-30,A1,US,6100,,100.00,USD,Rent\n2026-11-30,A1,US,1000,,-100.00,USD,Rent\n"
            b"2036-11-30,A2,US,6100,,50.00,USD,Typo\n2036-11-30,A2,US,1000,,-50.00,USD,Typo\n")
    with time_machine.travel(date(2026, 12, 2), tick=False):
        result = gl_import(tenant=books.org, actor=None, data=data, filename="gl.csv")
    assert result.ok and result.created == 2 and result.far_ahead == [date(2036, 11, 1)]
    assert result.summary() == (
        "4 rows: 2 entries created, 0 already imported (skipped). Entries dated 119 months ahead "
        "(November 2036): is the year right? Months far ahead: 2036-11; reverse what is wrong from the journal.")
    assert result.job.result["months_far_ahead"] == ["2036-11-01"]
