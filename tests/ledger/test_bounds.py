"""What the ledger accepts (DESIGN §4 "Bounds"): dates inside a bounded window, amounts within
limits no sum can overflow, no more decimals than the currency has. What does not fit is refused
with a message that names it — by the entry form, the posting service, the GL import and, under
them, the database — and nothing typed makes a page answer 500."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.importers import gl_import
from finops.ledger.models import JournalEntry, Period, PeriodBalance
from finops.ledger.services import LineSpec
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from reporting.selectors import dashboard_get

LAST_YEAR = date.today().year + 10  # the default window: 1990-01-01 to ten years ahead, whole years
WINDOW = f"1990-01-01 … {LAST_YEAR}-12-31"
HEADER = "date,entry_ref,entity,account,cost_center,amount,currency,memo"
MAX_LINE = "999,999,999,999,999.99"  # the largest amount a line may have in USD


def url(name, org_slug="acme", **kwargs):
    return reverse(f"ledger:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def post(books, d, amount="100.00", *, entity=None, currency=None):
    return ledger.journal_post(tenant=books.org, actor=None, entity=entity or books.usd, date=d, lines=[
        LineSpec(books.cash.pk, D(amount), currency=currency), LineSpec(books.revenue.pk, -D(amount), currency=currency)])


def csv_file(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def form_data(books, lines, **header):
    data = {"entity": books.usd.pk, "date": "2026-03-12", "memo": "typed memo", "reference": "R-3",
            "key": "0" * 32, "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": 0,
            "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 500, **header}
    for i, line in enumerate(lines):
        for name in ("account", "cost_center", "debit", "credit", "memo", "currency"):
            data[f"lines-{i}-{name}"] = line.get(name, "")
    return data


def counts(org) -> tuple[int, int]:
    with tenant_context(org):
        return JournalEntry.objects.count(), Period.objects.count()


# --- dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [date(9999, 12, 31), date(1, 1, 1), date(1989, 12, 31), date(LAST_YEAR + 1, 1, 1)])
def test_posting_a_date_outside_the_window_is_refused_and_creates_no_period(books, d):
    with pytest.raises(DomainError) as refused:
        post(books, d)
    assert refused.value.message == f"date {d.isoformat()} is outside the accepted window {WINDOW}."
    assert counts(books.org) == (0, 0)


@pytest.mark.parametrize("d", [date(9999, 12, 31), date(1, 1, 1)])
def test_with_a_fiscal_year_from_april_the_extreme_dates_are_refused_in_words(other_books, d):
    org = other_books.org
    tenancy.organization_update(tenant=org, actor=None, name=org.name, fiscal_year_start=4, currency="USD")
    with pytest.raises(DomainError) as refused:
        post(other_books, d)
    assert refused.value.message == f"date {d.isoformat()} is outside the accepted window {WINDOW}."
    assert counts(org) == (0, 0)


def test_the_first_and_last_days_of_the_window_are_accepted_with_their_whole_fiscal_years(books):
    post(books, date(1990, 1, 1))
    post(books, date(LAST_YEAR, 12, 31))
    with tenant_context(books.org):
        starts = list(Period.objects.order_by("start").values_list("start", flat=True))
    assert (len(starts), starts[0], starts[11], starts[12], starts[-1]) == (
        24, date(1990, 1, 1), date(1990, 12, 1), date(LAST_YEAR, 1, 1), date(LAST_YEAR, 12, 1))


def test_the_window_is_configured_in_the_settings(books, settings):
    settings.LEDGER_DATE_MIN = date(2000, 1, 1)
    settings.LEDGER_DATE_YEARS_AHEAD = 2
    with pytest.raises(DomainError) as refused:
        post(books, date(1999, 12, 31))
    assert refused.value.message == (f"date 1999-12-31 is outside the accepted window 2000-01-01 … "
                                     f"{date.today().year + 2}-12-31.")
    with pytest.raises(DomainError):
        post(books, date(date.today().year + 3, 1, 1))
    post(books, date(2000, 1, 1))


def test_the_entry_form_refuses_a_date_outside_the_window_next_to_the_field_and_keeps_what_was_typed(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "12.50"}, {"account": books.cash.pk, "credit": "12.50"}],
                     date="9999-12-31")
    response = finance.post(url("entry_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    field = re.search(r'name="date".*?</div>', html, re.S)
    assert field and f"date 9999-12-31 is outside the accepted window {WINDOW}." in field.group(0)
    assert 'value="9999-12-31"' in html and 'value="12.50"' in html and 'value="typed memo"' in html
    assert counts(books.org) == (0, 0)


def test_a_reversal_dated_outside_the_window_is_refused_with_the_message(finance, books):
    entry = post(books, date(2026, 3, 10)).entry
    response = finance.post(url("entry_reverse", pk=entry.pk), {"date": "9999-12-31"}, follow=True)
    assert f"date 9999-12-31 is outside the accepted window {WINDOW}." in response.content.decode()
    with tenant_context(books.org):
        assert JournalEntry.objects.filter(reverses=entry).count() == 0
        assert not Period.objects.filter(start__year=9999).exists()


def test_an_imported_row_dated_outside_the_window_is_named_by_its_line_and_nothing_is_written(books):
    result = gl_import(tenant=books.org, actor=None, filename="gl.csv", data=csv_file(
        "2026-03-05,R1,US,6100,,10,,", "2026-03-05,R1,US,2000,,-10,,",
        "9999-12-31,R2,US,6100,,10,,", "9999-12-31,R2,US,2000,,-10,,"))
    assert [(e.line, e.message) for e in result.errors] == [
        (4, f"date “9999-12-31” is outside the accepted window {WINDOW}."),
        (5, f"date “9999-12-31” is outside the accepted window {WINDOW}."),
    ]
    assert counts(books.org) == (0, 0)


def test_a_rate_dated_outside_the_window_is_refused(books):
    with pytest.raises(DomainError) as refused:
        ledger.fx_rate_set(tenant=books.org, actor=None, date=date(9999, 12, 31), from_currency="EUR",
                           to_currency="USD", rate=D("1.1"))
    assert refused.value.message == f"date 9999-12-31 is outside the accepted window {WINDOW}."


def test_a_rate_with_more_decimals_than_stored_is_refused_not_rounded(books):
    with pytest.raises(DomainError) as refused:
        ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 4, 1), from_currency="EUR",
                           to_currency="USD", rate=D("1.08501234567"))
    assert refused.value.message == "The rate 1.08501234567 has more than 10 decimals."


def test_a_fiscal_year_outside_the_window_is_refused_on_the_periods_page(finance, books):
    response = finance.post(url("periods"), {"fiscal_year": str(LAST_YEAR + 1)})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"FY{LAST_YEAR + 1} is outside the accepted window {WINDOW}." in html
    with tenant_context(books.org):
        assert Period.objects.count() == 0


def test_the_database_refuses_a_period_outside_its_wall_even_past_the_python_checks(books):
    with tenant_context(books.org), pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_period (tenant_id, fiscal_year, number, start, \"end\", status) "
                       "VALUES (%s, 9999, 12, '9999-12-01', '9999-12-31', 'open')", [books.org.pk])


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1989-12"])
def test_the_dashboard_answers_a_month_outside_the_window_with_a_message(finance, books, month):
    post(books, date(2026, 3, 10))
    response = finance.get(reverse("reporting:dashboard", kwargs={"org_slug": "acme"}) + f"?month={month}")
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Ignored a filter: month: {month} is outside the accepted window {WINDOW}." in html
    assert "March 2026" in html  # the latest month with postings instead


def test_a_journal_filter_month_that_is_no_date_is_refused_not_a_crash(finance, books):
    response = finance.get(url("journal"), {"period_from": "0000-01"})
    assert response.status_code == 200
    assert "Enter a month as YYYY-MM." in response.content.decode()


# --- amounts ----------------------------------------------------------------------------------

def test_an_imported_amount_past_the_line_limit_is_refused_by_its_line(books):
    result = gl_import(tenant=books.org, actor=None, filename="gl.csv", data=csv_file(
        '2026-03-05,R1,US,1000,,"9,999,999,999,999,999.99",,', '2026-03-05,R1,US,4000,,"-9,999,999,999,999,999.99",,'))
    too_large = "is too large (at most 15 digits before the decimal point)."
    assert [(e.line, e.message) for e in result.errors] == [
        (2, f"amount “9,999,999,999,999,999.99” {too_large}"), (3, f"amount “-9,999,999,999,999,999.99” {too_large}")]
    assert counts(books.org) == (0, 0)


def test_a_rollup_cell_sums_many_lines_of_the_largest_amount_exactly_and_a_small_entry_still_posts(books):
    """The issue's case: after an import of the largest lines, a 1.00 entry to the same cell was
    a 500 (the rollup overflowed numeric(20,4))."""
    rows = [row for n in range(11) for row in (f'2026-03-05,R{n},US,1000,,"{MAX_LINE}",,',
                                               f'2026-03-05,R{n},US,4000,,"-{MAX_LINE}",,')]
    assert gl_import(tenant=books.org, actor=None, filename="gl.csv", data=csv_file(*rows)).errors == []
    post(books, date(2026, 3, 20), "1.00")
    with tenant_context(books.org):
        cash = PeriodBalance.objects.get(account=books.cash).amount
        dash = dashboard_get(tenant=books.org, month=date(2026, 3, 1), entity_id=books.usd.pk)
    assert cash == D("11000000000000000.8900")  # 11 × 999,999,999,999,999.99 + 1.00
    assert dash.mtd.revenue == D("11000000000000000.89")
    assert dash.balances.assets == D("11000000000000000.89")


def test_the_posting_service_refuses_a_line_past_the_limit_in_its_currency_or_after_translation(books):
    with pytest.raises(DomainError) as refused:
        post(books, date(2026, 3, 5), "1000000000000000.00")
    assert refused.value.message == ("Line 1: the amount 1,000,000,000,000,000.00 USD is too large "
                                     "(at most 15 digits before the decimal point).")
    with pytest.raises(DomainError) as refused:  # 950 trillion EUR at 1.085 is past the limit in USD
        post(books, date(2026, 3, 5), "950000000000000.00", currency="EUR")
    assert refused.value.message == ("Line 1: 950,000,000,000,000.00 EUR is 1,030,750,000,000,000.00 USD, which "
                                     "is too large (at most 15 digits before the decimal point).")
    assert counts(books.org)[0] == 0


def test_the_entry_form_takes_the_largest_amount_and_refuses_one_digit_more_next_to_the_field(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "1,000,000,000,000,000.00"},
                             {"account": books.cash.pk, "credit": "1,000,000,000,000,000.00"}])
    html = finance.post(url("entry_create"), data).content.decode()
    cell = re.search(r'name="lines-0-debit".*?</td>', html, re.S)
    assert cell and "is too large (at most 15 digits before the decimal point)." in cell.group(0)
    assert counts(books.org)[0] == 0

    data = form_data(books, [{"account": books.rent.pk, "debit": MAX_LINE}, {"account": books.cash.pk, "credit": MAX_LINE}])
    response = finance.post(url("entry_create"), data)
    assert response.status_code == 302
    with tenant_context(books.org):
        assert PeriodBalance.objects.get(account=books.rent).amount == D("999999999999999.9900")


def test_the_totals_preview_of_an_absurd_number_counts_it_as_not_a_number(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "1e1000000"}, {"account": books.cash.pk, "credit": "5"}],
                     preview="1")
    response = finance.post(url("entry_create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "1 amount not a number yet" in response.content.decode()


def test_the_entry_form_refuses_an_absurd_number_next_to_its_field(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "1e1000000"}, {"account": books.cash.pk, "credit": "5"}])
    html = finance.post(url("entry_create"), data).content.decode()
    cell = re.search(r'name="lines-0-debit".*?</td>', html, re.S)
    assert cell and "Enter a number." in cell.group(0)
    assert 'value="1e1000000"' in html


# --- decimals: refused, never rounded ---------------------------------------------------------

def test_the_entry_form_refuses_more_decimals_than_the_currency_has_and_keeps_what_was_typed(finance, books):
    data = form_data(books, [{"account": books.rent.pk, "debit": "10.001"}, {"account": books.cash.pk, "credit": "10.001"},
                             {"account": books.software.pk, "debit": "5.5", "currency": "JPY"}])
    html = finance.post(url("entry_create"), data).content.decode()
    for row, text, currency, places in ((0, "10.001", "USD", 2), (1, "10.001", "USD", 2), (2, "5.5", "JPY", 0)):
        field = "credit" if row == 1 else "debit"
        cell = re.search(rf'name="lines-{row}-{field}".*?</td>', html, re.S)
        assert cell and f"{text} has more decimals than {currency} allows ({places})." in cell.group(0)
    assert 'value="10.001"' in html
    assert counts(books.org)[0] == 0


def test_the_posting_service_refuses_more_decimals_than_the_currency_has(books):
    with pytest.raises(DomainError) as refused:
        post(books, date(2026, 3, 5), "10.001")
    assert refused.value.message == "Line 1: the amount 10.001 USD has more decimals than USD allows (2)."
    assert counts(books.org)[0] == 0


def test_the_posting_service_refuses_a_memo_or_reference_too_long_instead_of_cutting_it(books):
    lines = [LineSpec(books.cash.pk, D("1")), LineSpec(books.revenue.pk, D("-1"))]
    with pytest.raises(DomainError) as refused:
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5), lines=lines,
                            memo="m" * 501)
    assert refused.value.message == "The memo has 501 characters; at most 500 are allowed."
    with pytest.raises(DomainError) as refused:
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5), lines=lines,
                            reference="r" * 101)
    assert refused.value.message == "The reference has 101 characters; at most 100 are allowed."
    assert counts(books.org)[0] == 0


def test_an_imported_foreign_line_past_the_limit_once_translated_is_named_by_its_line(books):
    result = gl_import(tenant=books.org, actor=None, filename="gl.csv", data=csv_file(
        '2026-03-05,R1,US,1000,,"950,000,000,000,000.00",EUR,', '2026-03-05,R1,US,4000,,"-950,000,000,000,000.00",EUR,'))
    too_large = "which is too large (at most 15 digits before the decimal point)."
    assert [(e.line, e.message) for e in result.errors] == [
        (2, f"950,000,000,000,000.00 EUR is 1,030,750,000,000,000.00 USD, {too_large}"),
        (3, f"-950,000,000,000,000.00 EUR is -1,030,750,000,000,000.00 USD, {too_large}")]
    assert counts(books.org) == (0, 0)


# --- rows stored before the bounds: still readable, still reversible ------------------------------

def test_an_entry_outside_a_narrowed_window_is_left_off_the_dashboard_and_reversed_on_a_date_inside_it(
        finance, books, settings):
    entry = post(books, date(2026, 3, 10), "70.00").entry
    settings.LEDGER_DATE_MIN = date(2027, 1, 1)  # as if 2026 were a typo stored before the window

    html = finance.get(reverse("reporting:dashboard", kwargs={"org_slug": "acme"})).content.decode()
    assert 'value="2026-03"' not in html  # neither offered nor the default month

    refused = finance.post(url("entry_reverse", pk=entry.pk), follow=True).content.decode()
    assert (f"date 2026-03-10 is outside the accepted window 2027-01-01 … {LAST_YEAR}-12-31: choose a reversal "
            "date inside it.") in refused
    finance.post(url("entry_reverse", pk=entry.pk), {"date": "2027-01-04"})
    with tenant_context(books.org):
        reversal = JournalEntry.objects.get(reverses=entry)
        assert (reversal.date, [line.amount for line in reversal.lines.order_by("line_no")]) == (
            date(2027, 1, 4), [D("-70.0000"), D("70.0000")])


def test_a_line_stored_past_the_limit_fits_its_column_and_its_rollup_and_can_be_reversed(books):
    """A path that forgets the limit (here the ledger's raw writer) can store up to the column's
    10^16; the rollup still holds it, and the reversal that repairs it is not refused."""
    from django.utils import timezone

    from finops.ledger import writer
    from finops.ledger.periods import period_ensure

    big = D("9999999999999999.99")
    period = period_ensure(tenant=books.org, d=date(2026, 3, 5))
    with tenant_context(books.org), transaction.atomic():
        (entry_id,) = writer.reserve_entry_ids(1)
        writer.copy_entries([(entry_id, books.org.pk, books.usd.pk, period.pk, date(2026, 3, 5), "typo", "", "import",
                              "legacy:1", None, None, None, timezone.now())])
        writer.copy_lines([(books.org.pk, entry_id, n, books.usd.pk, period.pk, date(2026, 3, 5), account, None,
                            amount, amount, "USD", D(1), "") for n, account, amount in
                           ((1, books.cash.pk, big), (2, books.revenue.pk, -big))])
    post(books, date(2026, 3, 20), "1.00")
    ledger.journal_reverse(tenant=books.org, actor=None, entry=_entry(books, entry_id))
    with tenant_context(books.org):
        assert PeriodBalance.objects.get(account=books.cash).amount == D("1.0000")


def _entry(books, pk):
    with tenant_context(books.org):
        return JournalEntry.objects.get(pk=pk)


@pytest.mark.parametrize(("amount", "shown", "problem"), [
    (D("1E+1000000"), "1.000000E+1000000", "is too large (at most 15 digits before the decimal point)"),
    (D("NaN"), "NaN", "is not a number"),
])
def test_the_posting_service_names_an_absurd_amount_without_overflowing(books, amount, shown, problem):
    lines = [LineSpec(books.cash.pk, amount), LineSpec(books.revenue.pk, D("-1"))]
    with pytest.raises(DomainError) as refused:
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5), lines=lines)
    assert refused.value.message == f"Line 1: the amount {shown} USD {problem}."
