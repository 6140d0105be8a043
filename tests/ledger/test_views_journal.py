"""The journal page: lines newest first, filters, keyset paging, the htmx partial and exports."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from finops.ledger import selectors
from finops.ledger import services as ledger
from finops.ledger.models import Source
from finops.ledger.services import LineSpec


def post(books, d, amount, *, memo="", reference="", debit=None, credit=None, cc=None, entity=None,
         source=Source.MANUAL, actor=None):
    """A two-line entry: `debit` account (cash) debited, `credit` account (revenue) credited."""
    return ledger.journal_post(
        tenant=books.org, actor=actor, entity=entity or books.usd, date=d, memo=memo, reference=reference,
        source=source,
        lines=[LineSpec((debit or books.cash).pk, Decimal(amount)),
               LineSpec((credit or books.revenue).pk, -Decimal(amount), cc.pk if cc else None)],
    ).entry


def url(name, org_slug="acme", **kwargs):
    return reverse(f"ledger:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


@pytest.fixture
def viewer(client, users):
    client.force_login(users["viewer"])
    return client


def keys(page_lines):
    return [(line.date, line.entry_id, line.line_no) for line in page_lines]


@pytest.fixture
def thirty_entries(books):
    """30 entries (60 lines) over 10 days, three per day, so dates tie and entry ids break ties."""
    entries = [post(books, date(2026, 3, 1) + timedelta(days=i // 3), f"{i + 1}.00", memo=f"sale {i}")
               for i in range(30)]
    expected = sorted(((e.date, e.pk, n) for e in entries for n in (1, 2)), key=lambda k: (-k[0].toordinal(), -k[1], k[2]))
    return entries, expected


def test_the_journal_shows_lines_newest_first_with_debits_and_credits_apart(finance, books):
    old = post(books, date(2026, 3, 2), "1234.50", memo="March invoice", reference="INV-7", cc=books.sales)
    new = post(books, date(2026, 3, 20), "80.00", memo="Later sale")
    response = finance.get(url("journal"))
    assert response.status_code == 200
    assert keys(response.context["page"].lines) == [
        (date(2026, 3, 20), new.pk, 1), (date(2026, 3, 20), new.pk, 2),
        (date(2026, 3, 2), old.pk, 1), (date(2026, 3, 2), old.pk, 2),
    ]
    html = response.content.decode()
    assert html.count("1,234.50") == 2  # the debit of line 1, the credit of line 2
    assert "INV-7" in html and "SALES" in html and f"JE-{old.pk}" in html
    assert response.context["page"].older is None and response.context["page"].newer is None


def test_the_journal_pages_fifty_lines_at_a_time_with_older_and_newer_links(finance, thirty_entries):
    _, expected = thirty_entries
    first = finance.get(url("journal"))
    page = first.context["page"]
    assert keys(page.lines) == expected[:50]
    assert page.newer is None and page.older.token() == "{:%Y-%m-%d}.{}.{}".format(*expected[49])
    assert f"after={page.older.token()}" in first.content.decode()

    second = finance.get(url("journal"), {"after": page.older.token()})
    assert keys(second.context["page"].lines) == expected[50:]
    assert second.context["page"].older is None

    back = finance.get(url("journal"), {"before": second.context["page"].newer.token()})
    assert keys(back.context["page"].lines) == expected[:50]
    assert back.context["page"].newer is None


def test_a_page_reached_by_cursor_stays_the_same_when_newer_entries_are_posted(finance, books, thirty_entries):
    _, expected = thirty_entries
    token = finance.get(url("journal")).context["page"].older.token()
    for i in range(3):
        post(books, date(2026, 3, 25), f"{i + 5}.00", memo="posted meanwhile")
    again = finance.get(url("journal"), {"after": token})
    assert keys(again.context["page"].lines) == expected[50:]
    # Newer than that page: the same 50 lines as before, and now a link to the 6 newest above them.
    newer = finance.get(url("journal"), {"before": again.context["page"].newer.token()}).context["page"]
    assert keys(newer.lines) == expected[:50]
    assert newer.newer is not None
    top = finance.get(url("journal"), {"before": newer.newer.token()}).context["page"]
    assert [k[0] for k in keys(top.lines)][:6] == [date(2026, 3, 25)] * 6


def test_the_selector_pages_exactly_with_a_small_limit(books, thirty_entries):
    _, expected = thirty_entries
    filters = selectors.JournalFilters()
    seen, cursor = [], None
    while True:
        page = selectors.journal_lines(tenant=books.org, filters=filters, cursor=cursor, limit=7)
        seen.extend(keys(page.lines))
        if page.older is None:
            break
        cursor = page.older
    assert seen == expected
    assert len(seen) == 60


@pytest.mark.parametrize("name, params, expected_memos", [
    ("account", lambda b: {"account": b.rent.pk}, {"rent"}),
    ("cost center", lambda b: {"cost_center": b.sales.pk}, {"sale"}),
    ("entity", lambda b: {"entity": b.gbp.pk}, {"uk sale"}),
    ("source", lambda b: {"source": "reversal"}, {"Reversal of"}),
    ("memo text", lambda b: {"q": "RENT"}, {"rent"}),
    ("reference", lambda b: {"q": "po-99"}, {"rent"}),
])
def test_each_filter_narrows_the_journal_lines(finance, books, name, params, expected_memos):
    sale = post(books, date(2026, 3, 3), "100.00", memo="sale", cc=books.sales)
    post(books, date(2026, 3, 4), "40.00", memo="rent", reference="PO-99", debit=books.rent, credit=books.payable)
    post(books, date(2026, 3, 5), "10.00", memo="uk sale", entity=books.gbp)
    ledger.journal_reverse(tenant=books.org, actor=None, entry=sale, date=date(2026, 3, 6))
    lines = finance.get(url("journal"), params(books)).context["page"].lines
    assert lines, name
    assert {next(m for m in expected_memos if m in (line.memo or line.entry.memo)) for line in lines} == expected_memos


def test_the_period_filter_and_an_entry_number_search(finance, books):
    from finops.ledger.periods import period_ensure

    march = post(books, date(2026, 3, 31), "5.00", memo="march")
    april = post(books, date(2026, 4, 1), "6.00", memo="april")
    period = period_ensure(tenant=books.org, d=date(2026, 4, 1))
    by_period = finance.get(url("journal"), {"period": period.pk}).context["page"].lines
    assert {line.entry_id for line in by_period} == {april.pk}
    by_number = finance.get(url("journal"), {"q": f"JE-{march.pk}"}).context["page"].lines
    assert {line.entry_id for line in by_number} == {march.pk}


def test_an_htmx_filter_request_gets_only_the_table_partial(finance, books):
    post(books, date(2026, 3, 3), "100.00", memo="sale")
    response = finance.get(url("journal"), {"period": "", "account": "", "q": "sale"},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="journal-table")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="journal-table"')
    assert "<html" not in html and "sale" in html
    assert "HX-Request" in response["Vary"]
    assert response["HX-Push-Url"] == url("journal") + "?q=sale"  # empty fields left out
    full = finance.get(url("journal"), {"q": "sale"}).content.decode()
    assert "<html" in full and 'hx-push-url="true"' in full


def test_another_organisations_account_in_the_filter_is_reported_and_not_applied(finance, books, other_books):
    post(books, date(2026, 3, 3), "100.00", memo="sale")
    response = finance.get(url("journal"), {"account": other_books.cash.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert len(response.context["page"].lines) == 2


def test_a_malformed_cursor_shows_the_first_page(finance, books):
    post(books, date(2026, 3, 3), "100.00")
    for token in ["garbage", "2026-13-45.1.1", "2026-03-01.x.1"]:
        response = finance.get(url("journal"), {"after": token})
        assert response.status_code == 200
        assert len(response.context["page"].lines) == 2


def test_another_organisations_lines_never_show(finance, books, other_books):
    post(other_books, date(2026, 3, 3), "777.00", memo="globex secret")
    response = finance.get(url("journal"))
    assert response.context["page"].lines == []
    assert "globex secret" not in response.content.decode()
    assert "No journal lines match" in response.content.decode()


EXPORT_TITLES = ["Date", "Entry", "Line", "Entity", "Account", "Account name", "Cost center", "Memo", "Reference",
                 "Debit", "Credit", "Currency", "Transaction amount", "Transaction currency", "Rate", "Source",
                 "Period"]
USD_FORMAT = "#,##0.00;(#,##0.00);#,##0.00"


def test_the_csv_export_has_the_filtered_lines_in_the_currencys_decimals_and_neutralises_formulas(finance, books):
    entry = post(books, date(2026, 3, 3), "1234.50", memo='=HYPERLINK("x")', reference="INV-1", cc=books.sales)
    post(books, date(2026, 3, 4), "40.00", memo="rent", debit=books.rent, credit=books.payable)
    response = finance.get(url("journal_export"), {"format": "csv", "q": "HYPERLINK"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="journal_acme_all-dates.csv"'
    assert response["X-Export-Truncated"] == "false"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == EXPORT_TITLES
    assert rows[1:] == [
        ["2026-03-03", f"JE-{entry.pk}", "1", "US", "1000", "Cash", "", "'=HYPERLINK(\"x\")", "INV-1",
         "1234.50", "", "USD", "1234.50", "USD", "1", "Manual", "2026-03"],
        ["2026-03-03", f"JE-{entry.pk}", "2", "US", "4000", "Subscription revenue", "SALES", "'=HYPERLINK(\"x\")",
         "INV-1", "", "1234.50", "USD", "-1234.50", "USD", "1", "Manual", "2026-03"],
        ["Total USD", "2 lines", "", "", "", "", "", "", "", "1234.50", "1234.50", "USD", "", "", "", "", ""],
    ]


def test_the_xlsx_export_is_ready_to_hand_on(finance, books):
    from openpyxl import load_workbook

    post(books, date(2026, 3, 3), "99.95", memo='=HYPERLINK("x")', cc=books.sales)
    post(books, date(2026, 3, 20), "1500.00", memo="big sale", cc=books.sales)
    post(books, date(2026, 4, 2), "7.00", memo="april, not asked for", cc=books.sales)
    response = finance.get(url("journal_export"), {"format": "xlsx", "entity": books.usd.pk,
                                                   "period_from": "2026-03", "period_to": "2026-03"})
    assert response["Content-Disposition"] == 'attachment; filename="journal_acme_US_2026-03-01_2026-03-31.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Journal"
    assert sheet["A1"].value == "Journal" and sheet["A1"].font.bold
    assert sheet["A2"].value == ("Acme · 1 Mar 2026 – 31 Mar 2026 · Entity US · Acme Inc · "
                                 "debit and credit in each entity's functional currency")
    assert [c.value for c in sheet[4]] == EXPORT_TITLES
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:Q8"  # the four lines, not the total
    lines = list(sheet.iter_rows(min_row=5, max_row=8))
    assert [(r[0].value.date(), r[7].value, r[9].value, r[10].value) for r in lines] == [
        (date(2026, 3, 20), "big sale", 1500, None), (date(2026, 3, 20), "big sale", None, 1500),
        (date(2026, 3, 3), "'=HYPERLINK(\"x\")", 99.95, None), (date(2026, 3, 3), "'=HYPERLINK(\"x\")", None, 99.95)]
    assert {(r[9].number_format, r[10].number_format, r[12].number_format) for r in lines} == {(USD_FORMAT,) * 3}
    assert (lines[0][0].number_format, lines[0][16].number_format) == ("yyyy-mm-dd", "mmm yyyy")
    total = sheet[9]
    assert [total[0].value, total[1].value, total[9].value, total[10].value, total[11].value] == [
        "Total USD", "4 lines", 1599.95, 1599.95, "USD"]
    assert total[9].font.bold and total[9].number_format == USD_FORMAT
    assert sheet.max_row == 9
    assert sheet.column_dimensions["F"].width >= len("Subscription revenue")


def test_lines_in_several_currencies_keep_their_own_decimals_and_a_total_per_currency(finance, books):
    from openpyxl import load_workbook

    japan = ledger.entity_create(tenant=books.org, actor=None, code="JP", name="Acme KK", functional_currency="JPY")
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 2), memo="euro invoice",
                        lines=[LineSpec(books.cash.pk, Decimal("100.00"), currency="EUR"),
                               LineSpec(books.revenue.pk, Decimal("-100.00"), currency="EUR")])
    post(books, date(2026, 3, 3), "20.00", memo="uk sale", entity=books.gbp)
    post(books, date(2026, 3, 4), "150000", memo="tokyo sale", entity=japan)
    response = finance.get(url("journal_export"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r[7], r[9], r[10], r[11], r[12], r[13], r[14]) for r in rows[1:7]] == [
        ("tokyo sale", "150000", "", "JPY", "150000", "JPY", "1"),
        ("tokyo sale", "", "150000", "JPY", "-150000", "JPY", "1"),
        ("uk sale", "20.00", "", "GBP", "20.00", "GBP", "1"),
        ("uk sale", "", "20.00", "GBP", "-20.00", "GBP", "1"),
        ("euro invoice", "108.50", "", "USD", "100.00", "EUR", "1.085"),
        ("euro invoice", "", "108.50", "USD", "-100.00", "EUR", "1.085"),
    ]
    # One total per functional currency: yen, pounds and dollars are never added together.
    assert [(r[0], r[1], r[9], r[10], r[11]) for r in rows[7:]] == [
        ("Total GBP", "2 lines", "20.00", "20.00", "GBP"), ("Total JPY", "2 lines", "150000", "150000", "JPY"),
        ("Total USD", "2 lines", "108.50", "108.50", "USD")]

    sheet = load_workbook(io.BytesIO(finance.get(url("journal_export"), {"format": "xlsx"}).content)).active
    yen = "#,##0;(#,##0);#,##0"
    body = list(sheet.iter_rows(min_row=5))
    money = [(r[9].number_format if r[9].value is not None else r[10].number_format, r[12].number_format)
             for r in body[:6]]
    assert money == [(yen, yen)] * 2 + [(USD_FORMAT, USD_FORMAT)] * 4  # pounds and dollars: two decimals
    assert [(r[0].value, r[9].value, r[9].number_format, r[10].number_format) for r in body[6:]] == [
        ("Total GBP", 20, USD_FORMAT, USD_FORMAT), ("Total JPY", 150000, yen, yen),
        ("Total USD", 108.5, USD_FORMAT, USD_FORMAT)]
    assert sheet["O9"].value == 1.085 and sheet["O9"].number_format == "General"


def test_the_export_stops_at_its_cap_and_says_so(finance, books, monkeypatch):
    for i in range(3):
        post(books, date(2026, 3, 3 + i), "10.00")
    monkeypatch.setattr(selectors, "EXPORT_MAX_ROWS", 4)
    response = finance.get(url("journal_export"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 4 + 1  # the header, the newest four lines, their total
    assert response["X-Export-Truncated"] == "true"
    assert response["Content-Disposition"] == 'attachment; filename="journal_acme_all-dates_first-4-lines.csv"'
    assert rows[-1][:2] == ["Total USD", "4 lines"]


def test_the_journal_runs_a_fixed_number_of_queries_however_many_lines_it_shows(finance, books, django_assert_max_num_queries):
    post(books, date(2026, 3, 1), "1.00")
    with CaptureQueriesContext(connection) as few:
        assert len(finance.get(url("journal")).context["page"].lines) == 2
    for i in range(30):
        post(books, date(2026, 3, 2), f"{i + 2}.00", cc=books.ops)
    with CaptureQueriesContext(connection) as many:
        assert len(finance.get(url("journal")).context["page"].lines) == 50
    assert len(many) == len(few)
    # session, user, membership ×2 (middleware, org switcher), the filter's account, the lines, the four
    # filter choice lists, and the tenant context's savepoints and set_config calls (8).
    with django_assert_max_num_queries(21):  # +1: the organisation by slug, before its tenant context
        finance.get(url("journal"), {"account": books.cash.pk, "q": "x"})


def test_a_viewer_sees_the_journal_without_the_new_entry_button(viewer, books):
    post(books, date(2026, 3, 3), "100.00")
    html = viewer.get(url("journal")).content.decode()
    assert "JE-" in html
    assert url("entry_create") not in html
    assert url("import_list") in html  # the section's navigation


def test_the_journal_is_not_found_for_a_non_member(client, books, other_org):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email="finance@globex.test"))
    assert client.get(url("journal")).status_code == 404


def test_each_line_shows_its_currency_and_the_currency_it_was_entered_in(viewer, books):
    from finops.ledger.services import LineSpec, journal_post

    journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), lines=[
        LineSpec(books.rent.pk, Decimal("100"), currency="GBP"), LineSpec(books.cash.pk, Decimal("-100"), currency="GBP")])
    html = viewer.get(url("journal")).content.decode()
    assert '<th scope="col">Currency</th><th scope="col">Source</th>' in html
    assert ('<td class="ccy">USD <span class="muted" title="Entered as 100.00 GBP at 1.2700000000">from GBP</span></td>'
            in html)
