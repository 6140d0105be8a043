"""One entry's page, reversing it, and the manual entry form (with its htmx row and totals)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from finops.ledger import services as ledger
from finops.ledger.models import JournalEntry, JournalLine, PeriodBalance, Source
from finops.ledger.periods import period_close, period_ensure
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context


def url(name, org_slug="acme", **kwargs):
    return reverse(f"ledger:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def sale(books, amount="100.00", d=date(2026, 3, 10), memo="sale"):
    return ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=d, memo=memo, reference="INV-1",
        lines=[LineSpec(books.cash.pk, Decimal(amount)), LineSpec(books.revenue.pk, -Decimal(amount), books.sales.pk)],
    ).entry


def form_data(books, lines, **header):
    """The entry form as a browser posts it: header fields, then rows lines-N-*."""
    data = {"entity": books.usd.pk, "date": "2026-03-12", "memo": "March rent", "reference": "R-3",
            "key": "0" * 32, "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": 0,
            "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 500, **header}
    for i, line in enumerate(lines):
        for name in ("account", "cost_center", "debit", "credit", "memo", "currency"):
            data[f"lines-{i}-{name}"] = line.get(name, "")
    return data


def balances(books):
    with tenant_context(books.org):
        return {(b.account_id, b.cost_center_id): b.amount for b in PeriodBalance.objects.all()}


# --- entry page ---------------------------------------------------------------------------

def test_the_entry_page_shows_lines_totals_and_the_reverse_button(finance, books):
    entry = sale(books, "1250.00")
    response = finance.get(url("entry_detail", pk=entry.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"JE-{entry.pk}" in html and "INV-1" in html and "Sales" in html
    assert html.count("1,250.00") == 4  # debit, credit, and both totals
    assert "Total (2 lines)" in html
    assert url("entry_reverse", pk=entry.pk) in html
    assert "Transaction amount" not in html  # nothing foreign here


def test_the_entry_page_runs_a_fixed_number_of_queries(finance, books, django_assert_max_num_queries):
    entry = ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5),
        lines=[LineSpec(books.cash.pk, Decimal("-60"))] + [LineSpec(books.rent.pk, Decimal("1"), books.ops.pk)] * 60,
    ).entry
    # session, user, membership ×2, the entry with its neighbours, its lines, and the tenant
    # contexts' savepoints and set_config calls (7)
    with django_assert_max_num_queries(14):  # +1: the organisation by slug, before its tenant context
        response = finance.get(url("entry_detail", pk=entry.pk))
    assert "Total (61 lines)" in response.content.decode()


def test_a_foreign_currency_entry_shows_the_transaction_amounts_and_rates(finance, books):
    entry = ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5), memo="EUR invoice",
        lines=[LineSpec(books.software.pk, Decimal("200.00"), books.ops.pk, currency="EUR"),
               LineSpec(books.payable.pk, Decimal("-200.00"), currency="EUR")],
    ).entry
    html = finance.get(url("entry_detail", pk=entry.pk)).content.decode()
    assert "Transaction amount" in html
    assert "200.00 EUR" in html and "(200.00) EUR" in html
    assert html.count(">1.085<") == 2
    assert html.count("217.00") == 4  # 200 EUR at 1.085 = 217.00 USD, debit/credit and totals


def test_an_entry_of_another_organisation_is_not_found(finance, books, other_books):
    foreign = sale(other_books)
    assert finance.get(url("entry_detail", pk=foreign.pk)).status_code == 404
    assert finance.post(url("entry_reverse", pk=foreign.pk)).status_code == 404
    assert finance.get(url("entry_detail", pk=999_999)).status_code == 404


def test_a_viewer_sees_an_entry_without_the_reverse_button_and_cannot_reverse(client, users, books):
    entry = sale(books)
    client.force_login(users["viewer"])
    html = client.get(url("entry_detail", pk=entry.pk)).content.decode()
    assert "JE-" in html and url("entry_reverse", pk=entry.pk) not in html
    assert client.post(url("entry_reverse", pk=entry.pk)).status_code == 403
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 1


# --- reversing ----------------------------------------------------------------------------

def test_reversing_posts_the_mirror_entry_and_a_second_reverse_is_refused(finance, books):
    entry = sale(books, "100.00")
    response = finance.post(url("entry_reverse", pk=entry.pk))
    with tenant_context(books.org):
        reversal = JournalEntry.objects.get(reverses=entry)
        lines = list(JournalLine.objects.filter(entry=reversal).order_by("line_no").values_list("account_id", "amount"))
    assert response.status_code == 302 and response["Location"] == url("entry_detail", pk=reversal.pk)
    assert reversal.source == Source.REVERSAL and reversal.date == date(2026, 3, 10)
    assert lines == [(books.cash.pk, Decimal("-100.0000")), (books.revenue.pk, Decimal("100.0000"))]
    assert balances(books) == {(books.cash.pk, None): Decimal("0.0000"), (books.revenue.pk, books.sales.pk): Decimal("0.0000")}

    html = finance.get(url("entry_detail", pk=entry.pk)).content.decode()
    assert "Reversed by" in html and f"JE-{reversal.pk}" in html
    assert url("entry_reverse", pk=entry.pk) not in html

    again = finance.post(url("entry_reverse", pk=entry.pk), follow=True)
    assert f"was already reversed by JE-{reversal.pk}" in again.content.decode()
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 2


def test_reversing_into_a_closed_period_says_so_and_a_date_in_an_open_one_works(finance, books, users):
    entry = sale(books, "60.00")
    period_close(tenant=books.org, actor=users["finance"], period=period_ensure(tenant=books.org, d=entry.date))
    refused = finance.post(url("entry_reverse", pk=entry.pk), follow=True)
    assert "Period 2026-03 is closed" in refused.content.decode()
    assert "choose a date in an open period" in refused.content.decode()
    response = finance.post(url("entry_reverse", pk=entry.pk), {"date": "2026-04-01"})
    with tenant_context(books.org):
        reversal = JournalEntry.objects.get(reverses=entry)
    assert response["Location"] == url("entry_detail", pk=reversal.pk)
    assert reversal.date == date(2026, 4, 1)


# --- the manual entry form ----------------------------------------------------------------

def test_the_empty_form_offers_four_rows_with_only_this_organisations_accounts(finance, books, other_books):
    response = finance.get(url("entry_create"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="lines-TOTAL_FORMS" value="4"' in html
    assert 'name="lines-3-account"' in html and 'name="lines-4-account"' not in html
    assert "1000 · Cash" in html
    assert html.count(f'value="{books.cash.pk}"') == 4
    assert f'value="{other_books.cash.pk}"' not in html


def test_a_balanced_entry_is_posted_and_redirects_to_it_with_exact_balances(finance, books, users):
    data = form_data(books, [
        {"account": books.rent.pk, "cost_center": books.ops.pk, "debit": "1,500.00", "memo": "office"},
        {"account": books.payable.pk, "credit": "1500"},
        {},  # a blank row is ignored
    ])
    response = finance.post(url("entry_create"), data)
    with tenant_context(books.org):
        entry = JournalEntry.objects.get()
        lines = list(entry.lines.order_by("line_no").values_list("account_id", "cost_center_id", "amount", "memo"))
    assert response.status_code == 302 and response["Location"] == url("entry_detail", pk=entry.pk)
    assert (entry.memo, entry.reference, entry.date, entry.source, entry.created_by_id) == (
        "March rent", "R-3", date(2026, 3, 12), "manual", users["finance"].pk)
    assert lines == [(books.rent.pk, books.ops.pk, Decimal("1500.0000"), "office"),
                     (books.payable.pk, None, Decimal("-1500.0000"), "")]
    assert balances(books) == {(books.rent.pk, books.ops.pk): Decimal("1500.0000"),
                               (books.payable.pk, None): Decimal("-1500.0000")}


def test_posting_the_same_form_twice_posts_one_entry(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "10"}, {"account": books.cash.pk, "credit": "10"}])
    first = finance.post(url("entry_create"), data)
    second = finance.post(url("entry_create"), data, follow=True)
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 1
    assert second.redirect_chain[0][0] == first["Location"]
    assert "already posted" in second.content.decode()


def test_an_unbalanced_entry_is_refused_with_the_difference_and_keeps_what_was_typed(finance, books):
    data = form_data(books, [
        {"account": books.rent.pk, "cost_center": books.sales.pk, "debit": "100.00", "memo": "typed memo"},
        {"account": books.cash.pk, "credit": "90.00"},
    ])
    response = finance.post(url("entry_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "The entry does not balance: debits 100.00 ≠ credits 90.00 (difference 10.00 USD)." in html
    assert re.search(rf'<option value="{books.rent.pk}" selected>', html)
    assert re.search(rf'<option value="{books.sales.pk}" selected>', html)
    assert 'value="100.00"' in html and 'value="90.00"' in html and 'value="typed memo"' in html
    assert 'value="March rent"' in html and 'value="R-3"' in html
    assert "Difference" in html  # the totals under the grid
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0


def test_posting_into_a_closed_period_names_the_period(finance, books, users):
    period_close(tenant=books.org, actor=users["finance"], period=period_ensure(tenant=books.org, d=date(2026, 3, 1)))
    data = form_data(books, [{"account": books.rent.pk, "debit": "5"}, {"account": books.cash.pk, "credit": "5"}])
    html = finance.post(url("entry_create"), data).content.decode()
    assert "Period 2026-03 is closed: reopen it or post into an open period." in html
    assert 'value="2026-03-12"' in html


@pytest.mark.parametrize("line, field, message", [
    ({"debit": "5"}, "account", "Choose an account."),
    ({"account": "ACCOUNT", "debit": "5", "credit": "5"}, "credit", "Enter a debit or a credit, not both."),
    ({"account": "ACCOUNT"}, "debit", "Enter a debit or a credit."),
    ({"account": "ACCOUNT", "debit": "abc"}, "debit", "Enter a number."),
    ({"account": "ACCOUNT", "debit": "-5"}, "debit", "Ensure this value is greater than or equal to 0."),
    ({"account": "ACCOUNT", "debit": "5", "currency": "XYZ"}, "currency", "XYZ is not an ISO 4217 currency code."),
    ({"account": "FOREIGN", "debit": "5"}, "account", "Select a valid choice."),
])
def test_a_bad_line_is_reported_next_to_its_field(finance, books, other_books, line, field, message):
    line = {k: {"ACCOUNT": books.rent.pk, "FOREIGN": other_books.rent.pk}.get(v, v) for k, v in line.items()}
    data = form_data(books, [{"account": books.cash.pk, "credit": "5"}, line])
    html = finance.post(url("entry_create"), data).content.decode()
    cell = re.search(rf'name="lines-1-{field}".*?</td>', html, re.S)
    assert cell and message in cell.group(0)
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0


def test_an_entry_needs_two_lines_an_entity_and_a_date(finance, books):
    data = form_data(books, [{"account": books.cash.pk, "debit": "5"}], entity="", date="31/02/2026")
    html = finance.post(url("entry_create"), data).content.decode()
    assert "An entry needs at least two lines." in html
    assert "This field is required." in html and "Enter a valid date." in html


def test_add_line_returns_one_numbered_row_and_bumps_the_form_count(finance, books):
    response = finance.get(url("entry_line"), {"lines-TOTAL_FORMS": "4"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.count("<tr") == 1
    assert 'name="lines-4-account"' in html and 'name="lines-4-debit"' in html
    assert re.search(r'<input type="hidden" name="lines-TOTAL_FORMS" value="5" id="id_lines-TOTAL_FORMS" hx-swap-oob="true">', html)
    assert "errorlist" not in html


def test_more_lines_without_javascript_keeps_everything_and_adds_blank_rows(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "12.5"}, {"account": books.cash.pk}], more="1")
    response = finance.post(url("entry_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="lines-TOTAL_FORMS" value="6"' in html and 'name="lines-5-account"' in html
    assert 'value="12.5"' in html and re.search(rf'<option value="{books.rent.pk}" selected>', html)
    assert 'value="March rent"' in html and f'value="{"0" * 32}"' in html
    assert "errorlist" not in html  # nothing was submitted yet: no errors
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0


def test_the_totals_preview_sums_what_was_typed(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "1,000.10"}, {"credit": "999.99"}, {"debit": ""}],
                     preview="1")
    response = finance.post(url("entry_create"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="entry-totals"')
    assert "1,000.10" in html and "999.99" in html
    assert re.search(r"Difference <strong class=\"num\">0.11</strong> USD", html)
    data.update({"lines-1-credit": "1000.10"})
    html = finance.post(url("entry_create"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "Balanced in USD" in html
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0


def test_a_viewer_or_director_cannot_open_or_post_the_entry_form(client, users, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "5"}, {"account": books.cash.pk, "credit": "5"}])
    for role in ("viewer", "director"):
        client.force_login(users[role])
        assert client.get(url("entry_create")).status_code == 403
        assert client.post(url("entry_create"), data).status_code == 403
        assert client.get(url("entry_line"), {"index": 2}).status_code == 403
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0
