"""Reallocation pages: who may request, approve, reject and cancel; the list; the proposal page."""
# ruff: noqa: F811  (fixtures imported from test_transfers are redefined as arguments)

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, TransferRequest
from budgets.selectors import version_latest
from budgets.transfers.requests import transfer_reject, transfer_request
from budgets.transfers.selectors import effective_amounts, line_funds
from finops.tenancy.context import tenant_context

from .test_transfers import approved, april_rent, line_of, march_rent  # noqa: F401  (fixtures)


def url(name, **kwargs):
    return reverse(f"budgets:{name}", kwargs={"org_slug": "acme", **kwargs})


def as_role(client, users, role):
    client.force_login(users[role])
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def pending(books, users, approved, march_rent, april_rent):
    return transfer_request(tenant=books.org, actor=users["director"], version=approved, source=march_rent,
                            destination=april_rent, amount=D("150.00"), reason="Office move slips a month")


def label(books, line) -> str:
    """What the From / To picker fills in: the line's label."""
    [funds] = line_funds(tenant=books.org, version=line.version_id, lines=[line])
    return funds.label


def form_data(books, periods, source, amount="150.00", **extra):
    """To April's rent as a cell (account, cost center, month), the way a new line is asked for."""
    return {"source": label(books, source), "account": books.rent.pk, "cost_center": books.ops.pk,
            "period": periods[3].pk, "amount": amount, "reason": "Office move slips a month", **extra}


def test_a_director_may_request_a_transfer_through_the_form(client, users, books, approved, march_rent,
                                                             april_rent, periods):
    director = as_role(client, users, "director")
    page = director.get(url("transfer_create", version_pk=approved.pk)).content.decode()
    assert "override_reason" not in page
    assert "6100 Rent / OPS / 2026-03 1,000.00 0.00 0.00 1,000.00 0.00 0.00 1,000.00" in text_of(page)
    response = director.post(url("transfer_create", version_pk=approved.pk), form_data(books, periods, march_rent))
    assert response.status_code == 302 and response["Location"] == url("transfers")
    with tenant_context(books.org):
        [transfer] = TransferRequest.objects.all()
    assert (transfer.source_id, transfer.destination_id, transfer.amount, transfer.requested_by) == (
        march_rent.pk, april_rent.pk, D("150.00"), users["director"])


def test_a_refused_request_keeps_what_was_typed_and_says_what_is_available(client, users, books, approved,
                                                                          march_rent, periods):
    director = as_role(client, users, "director")
    response = director.post(url("transfer_create", version_pk=approved.pk),
                             form_data(books, periods, march_rent, amount="1000.01"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "has USD 1,000.00 available" in html and 'value="1000.01"' in html and "Office move slips a month" in html
    with tenant_context(books.org):
        assert TransferRequest.objects.count() == 0


def test_finance_can_override_from_the_form(client, users, books, approved, march_rent, periods):
    finance = as_role(client, users, "finance")
    response = finance.post(url("transfer_create", version_pk=approved.pk),
                            form_data(books, periods, march_rent, amount="1200.00", override_reason="Prepaid"))
    assert response.status_code == 302
    with tenant_context(books.org):
        assert list(TransferRequest.objects.values_list("override", "override_reason")) == [(True, "Prepaid")]


def test_a_viewer_cannot_request_a_transfer(client, users, books, approved, march_rent, periods):
    viewer = as_role(client, users, "viewer")
    assert viewer.get(url("transfer_create", version_pk=approved.pk)).status_code == 403
    assert viewer.post(url("transfer_create", version_pk=approved.pk),
                       form_data(books, periods, march_rent)).status_code == 403
    assert viewer.get(url("transfers")).status_code == 200


def test_a_director_may_request_but_not_approve_or_reject(client, users, books, pending):
    director = as_role(client, users, "director")
    assert director.post(url("transfer_approve", pk=pending.pk)).status_code == 403
    assert director.post(url("transfer_reject", pk=pending.pk), {"comment": "no"}).status_code == 403
    with tenant_context(books.org):
        assert TransferRequest.objects.get(pk=pending.pk).status == "requested"


def test_finance_approves_from_the_list_and_the_effective_amounts_change(client, users, books, approved,
                                                                        pending, march_rent, april_rent):
    finance = as_role(client, users, "finance")
    response = finance.post(url("transfer_approve", pk=pending.pk))
    assert response.status_code == 302 and response["Location"] == url("transfers") + f"#transfer-{pending.pk}"
    amounts = effective_amounts(tenant=books.org, version=approved)
    assert (amounts[march_rent.pk].effective, amounts[april_rent.pk].effective) == (D("850.00"), D("650.00"))
    with tenant_context(books.org):
        assert BudgetLine.objects.get(pk=march_rent.pk).amount == D("1000.00")
    page = text_of(finance.get(url("transfer_create", version_pk=approved.pk)).content.decode())
    assert "6100 Rent / OPS / 2026-03 1,000.00 0.00 150.00 850.00 0.00 0.00 850.00" in page


def test_finance_rejects_with_a_comment_and_without_one_is_told_why_not(client, users, books, pending):
    finance = as_role(client, users, "finance")
    response = finance.post(url("transfer_reject", pk=pending.pk), {"comment": ""}, follow=True)
    assert "Say why the transfer is rejected" in response.content.decode()
    finance.post(url("transfer_reject", pk=pending.pk), {"comment": "Keep it for Q2"})
    with tenant_context(books.org):
        assert TransferRequest.objects.get(pk=pending.pk).decision_comment == "Keep it for Q2"


def test_the_requester_cancels_their_own_request(client, users, books, pending):
    director = as_role(client, users, "director")
    assert director.post(url("transfer_cancel", pk=pending.pk)).status_code == 302
    with tenant_context(books.org):
        assert TransferRequest.objects.get(pk=pending.pk).status == "cancelled"


def test_the_list_filters_by_status_and_serves_the_table_to_htmx(client, users, books, pending):
    viewer = as_role(client, users, "viewer")
    html = viewer.get(url("transfers")).content.decode()
    assert f'id="transfer-{pending.pk}"' in html and "Office move slips a month" in html
    assert "transfer_approve" not in html and "/approve/" not in html
    assert f'id="transfer-{pending.pk}"' not in viewer.get(url("transfers") + "?status=approved").content.decode()
    fragment = viewer.get(url("transfers") + "?status=requested", HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="transfer-table")
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="transfer-table"') and f'id="transfer-{pending.pk}"' in html
    assert fragment["HX-Push-Url"] == url("transfers") + "?status=requested"


def test_another_organisations_transfer_or_version_is_not_found(client, users, books, pending, approved):
    other = reverse("budgets:transfer_approve", kwargs={"org_slug": "acme", "pk": pending.pk + 1000})
    finance = as_role(client, users, "finance")
    assert finance.post(other).status_code == 404
    assert finance.get(url("transfer_create", version_pk=approved.pk + 1000)).status_code == 404


def test_the_proposal_page_shows_before_after_and_uplift_and_accepting_makes_requests(
        client, users, books, approved, march_rent, april_rent, periods):
    software = line_of(books.org, approved, books.software, books.ops, periods[2])
    director = as_role(client, users, "director")
    data = {"pick": [march_rent.pk, april_rent.pk, software.pk],
            f"min_{march_rent.pk}": "0", f"max_{march_rent.pk}": "1000", f"roi_{march_rent.pk}": "1",
            f"min_{april_rent.pk}": "0", f"max_{april_rent.pk}": "1000", f"roi_{april_rent.pk}": "3",
            f"min_{software.pk}": "0", f"max_{software.pk}": "1000", f"roi_{software.pk}": "2"}
    page = text_of(director.post(url("transfer_proposal", version_pk=approved.pk), {**data, "preview": "1"})
                   .content.decode())
    assert "6100 Rent / OPS / 2026-03 1,000.00 0.00 (1,000.00) 1,000.00 0.00" in page
    assert "Total 1,700.00 1,700.00 2,900.00 4,400.00 Uplift 1,500.00 (51.72 %)" in page
    with tenant_context(books.org):
        assert TransferRequest.objects.count() == 0
    response = director.post(url("transfer_proposal", version_pk=approved.pk), {**data, "accept": "1"})
    assert response.status_code == 302
    with tenant_context(books.org):
        assert list(TransferRequest.objects.order_by("id").values_list("destination_id", "amount", "reason")) == [
            (april_rent.pk, D("500.00"), "ROI proposal #1"), (software.pk, D("500.00"), "ROI proposal #1")]


def test_the_proposal_page_keeps_the_input_and_names_a_bad_value(client, users, books, approved,
                                                                march_rent, april_rent):
    director = as_role(client, users, "director")
    response = director.post(url("transfer_proposal", version_pk=approved.pk), {
        "pick": [march_rent.pk, april_rent.pk], f"roi_{march_rent.pk}": "lots", f"roi_{april_rent.pk}": "2"})
    html = response.content.decode()
    assert response.status_code == 200 and 'value="lots"' in html
    assert "6100 Rent / OPS / 2026-03" in html and "is not a number" in html


@pytest.mark.parametrize("typed", ["1e1000000", "NaN", "1,0"])
def test_a_proposal_minimum_that_is_not_an_amount_is_named_not_a_crash(client, users, books, approved, march_rent,
                                                                       april_rent, typed):
    director = as_role(client, users, "director")
    response = director.post(url("transfer_proposal", version_pk=approved.pk), {
        "pick": [march_rent.pk, april_rent.pk], f"min_{march_rent.pk}": typed, f"roi_{march_rent.pk}": "1",
        f"roi_{april_rent.pk}": "2", "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and f'value="{typed}"' in html
    assert "the minimum and maximum must be amounts." in html


def test_a_viewer_reads_the_proposal_page_but_cannot_accept(client, users, approved, march_rent):
    viewer = as_role(client, users, "viewer")
    assert viewer.get(url("transfer_proposal", version_pk=approved.pk)).status_code == 200
    assert viewer.post(url("transfer_proposal", version_pk=approved.pk), {"accept": "1"}).status_code == 403


# --- the list a controller works through: filters, counts, pages, export -------------------------------

def many(books, users, approved, source, destination, n: int, role="director") -> list[TransferRequest]:
    return [transfer_request(tenant=books.org, actor=users[role], version=approved, source=source,
                             destination=destination, amount=D("1.00"), reason=f"Move {i}") for i in range(n)]


def test_the_list_counts_each_status_as_a_chip_that_keeps_the_other_filters(client, users, books, approved,
                                                                           march_rent, april_rent):
    made = many(books, users, approved, march_rent, april_rent, 3)
    transfer_reject(tenant=books.org, actor=users["finance"], transfer=made[0], comment="No")
    many(books, users, approved, april_rent, march_rent, 1, role="finance")
    director = users["director"].pk
    html = as_role(client, users, "viewer").get(url("transfers") + f"?requested_by={director}").content.decode()
    start = html.index('<nav class="segmented status-chips"')
    chips = text_of(html[start:html.index("</nav>", start)])
    assert chips == "3 all 2 pending 0 approved 1 rejected 0 cancelled"
    assert f'href="{url("transfers")}?status=requested&amp;requested_by={director}"' in html
    assert f'href="{url("transfers")}?requested_by={director}" ' in html  # "all" drops only the status


def test_the_list_shows_amounts_with_their_currency_available_at_request_and_the_override_reason(
        client, users, books, approved, march_rent, april_rent):
    transfer_request(tenant=books.org, actor=users["finance"], version=approved, source=march_rent,
                     destination=april_rent, amount=D("1250.00"), reason="Lease prepaid",
                     override_reason="Signed by the CFO")
    row = text_of(as_role(client, users, "viewer").get(url("transfers")).content.decode().split("<tbody>")[1])
    assert row.startswith("#") and " Plan 2026 v1 finance@acme.test · " in row
    assert row.endswith(" From 6100 Rent / OPS / 2026-03 To 6100 Rent / OPS / 2026-04 1,250.00 USD 1,000.00 USD "
                        "Lease prepaid Override Signed by the CFO Requested")


def test_the_list_is_paged_fifty_at_a_time_and_the_page_links_keep_the_filters(client, users, books, approved,
                                                                              march_rent, april_rent):
    made = many(books, users, approved, march_rent, april_rent, 53)
    viewer = as_role(client, users, "viewer")
    first = viewer.get(url("transfers") + "?status=requested").content.decode()
    assert first.count('class="transfer-row') == 50
    assert f'id="transfer-{made[-1].pk}"' in first and f'id="transfer-{made[2].pk}"' not in first
    assert f'href="{url("transfers")}?status=requested&amp;page=2"' in first
    assert "Page 1 of 2 · 1–50 of 53" in text_of(first)
    second = viewer.get(url("transfers") + "?status=requested&page=2").content.decode()
    assert [int(pk) for pk in re.findall(r'id="transfer-(\d+)"', second)] == [t.pk for t in reversed(made[:3])]
    assert viewer.get(url("transfers") + "?page=99").status_code == 200  # past the end: the last page
    assert viewer.get(url("transfers") + "?page=x").status_code == 200


def test_the_number_of_queries_does_not_grow_with_the_rows(client, users, books, approved, march_rent,
                                                         april_rent, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    finance = as_role(client, users, "finance")  # sees the decision forms too
    many(books, users, approved, march_rent, april_rent, 2)
    with CaptureQueriesContext(connection) as few:
        assert finance.get(url("transfers")).status_code == 200
    many(books, users, approved, march_rent, april_rent, 60)
    many(books, users, approved, april_rent, march_rent, 5, role="finance")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert finance.get(url("transfers")).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert finance.get(url("transfers") + "?page=2&status=requested").status_code == 200


def test_bad_filters_are_named_and_keep_what_was_typed(client, users, books, pending):
    html = as_role(client, users, "viewer").get(
        url("transfers") + "?requested_from=2026-05-01&requested_to=2026-04-01&cost_center=999999").content.decode()
    assert "The end date is before the start date." in html
    assert "Select a valid choice." in html and 'value="2026-05-01"' in html
    assert f'id="transfer-{pending.pk}"' in html  # a bad field does not narrow


def test_a_decision_returns_to_the_same_filtered_page(client, users, books, pending):
    finance = as_role(client, users, "finance")
    response = finance.post(url("transfer_reject", pk=pending.pk),
                            {"comment": "Not now", "back": "status=requested&page=1&evil=x&format=csv"})
    assert response["Location"] == url("transfers") + f"?status=requested&page=1#transfer-{pending.pk}"


TRANSFER_TITLES = ["Request", "Budget", "Version", "Entity", "Status", "Requested at", "Requested by", "From account",
                   "From cost center", "From month", "To account", "To cost center", "To month", "Amount", "Currency",
                   "Available at request", "Override", "Override reason", "Reason", "Decided by", "Decided at",
                   "Decision comment"]


def test_the_filtered_list_exports_to_csv_in_the_currencys_decimals_with_formulas_neutralised(
        client, users, books, approved, march_rent, april_rent):
    import csv
    import io

    from django.utils.timezone import localtime
    from openpyxl import load_workbook

    ours = transfer_request(tenant=books.org, actor=users["director"], version=approved, source=march_rent,
                            destination=april_rent, amount=D("150.00"), reason="=HYPERLINK(\"http://x\")")
    other = transfer_request(tenant=books.org, actor=users["finance"], version=approved, source=april_rent,
                             destination=march_rent, amount=D("20.00"), reason="Back again")
    transfer_reject(tenant=books.org, actor=users["finance"], transfer=other, comment="No")
    viewer = as_role(client, users, "viewer")
    response = viewer.get(url("transfers_export") + "?status=requested&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="transfer-requests_acme_requested.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == TRANSFER_TITLES
    with tenant_context(books.org):
        requested_at = localtime(TransferRequest.objects.get(pk=ours.pk).requested_at)
    assert rows[1:] == [
        [str(ours.pk), "Plan 2026", "1", "US", "Requested", f"{requested_at:%Y-%m-%d %H:%M:%S}", "director@acme.test",
         "6100", "OPS", "2026-03", "6100", "OPS", "2026-04", "150.00", "USD", "1000.00", "", "",
         "'=HYPERLINK(\"http://x\")", "", "", ""],
        ["Total USD", "1 request", *[""] * 11, "150.00", "USD", *[""] * 7],
    ]
    xlsx = viewer.get(url("transfers_export") + "?status=requested&requested_from=2026-01-01&format=xlsx")
    assert xlsx["Content-Disposition"] == 'attachment; filename="transfer-requests_acme_requested_from-2026-01-01.xlsx"'
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A2"].value == "Acme · Requested · Requested from 2026-01-01"
    assert [c.value for c in sheet["A"][4:]] == [ours.pk, "Total USD"]
    assert sheet["S5"].value == "'=HYPERLINK(\"http://x\")"


def test_the_xlsx_export_is_ready_to_hand_on_with_a_total_per_currency(client, users, books, approved, march_rent,
                                                                      april_rent):
    import io

    from openpyxl import load_workbook

    from budgets import services
    from budgets.selectors import budget_periods

    uk = services.budget_create(tenant=books.org, actor=users["finance"], entity=books.gbp, fiscal_year=2026,
                                name="UK plan")
    uk_draft = version_latest(tenant=books.org, budget=uk)
    uk_periods = budget_periods(tenant=books.org, budget=uk)
    services.budget_lines_set(tenant=books.org, actor=users["finance"], version=uk_draft, cells=[
        (books.rent, books.ops, uk_periods[2], D("800.00")), (books.rent, books.ops, uk_periods[3], D("100.00"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=uk_draft)
    uk_approved = services.version_approve(tenant=books.org, actor=users["admin"], version=uk_draft)
    uk_march = line_of(books.org, uk_approved, books.rent, books.ops, uk_periods[2])
    uk_april = line_of(books.org, uk_approved, books.rent, books.ops, uk_periods[3])
    first = transfer_request(tenant=books.org, actor=users["director"], version=approved, source=march_rent,
                             destination=april_rent, amount=D("150.00"), reason="Move rent")
    second = transfer_request(tenant=books.org, actor=users["finance"], version=approved, source=march_rent,
                              destination=april_rent, amount=D("1250.50"), reason="More rent",
                              override_reason="Landlord")
    third = transfer_request(tenant=books.org, actor=users["director"], version=uk_approved, source=uk_march,
                             destination=uk_april, amount=D("75.25"), reason="London rent")
    viewer = as_role(client, users, "viewer")
    response = viewer.get(url("transfers_export") + "?format=xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="transfer-requests_acme.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Transfer requests"
    assert sheet["A1"].value == "Transfer requests" and sheet["A1"].font.bold
    assert sheet["A2"].value == "Acme · All requests"
    assert [c.value for c in sheet[4]] == TRANSFER_TITLES
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:V7"
    two = "#,##0.00;(#,##0.00);#,##0.00"
    body = list(sheet.iter_rows(min_row=5))
    assert [(r[0].value, r[3].value, r[13].value, r[14].value, r[15].value, r[16].value, r[17].value)
            for r in body[:3]] == [
        (third.pk, "UK", 75.25, "GBP", 800, None, None), (second.pk, "US", 1250.5, "USD", 850, "Yes", "Landlord"),
        (first.pk, "US", 150, "USD", 1000, None, None)]
    assert {(r[13].number_format, r[15].number_format) for r in body[:3]} == {(two, two)}
    assert body[0][5].number_format == "yyyy-mm-dd hh:mm:ss" and body[0][9].number_format == "mmm yyyy"
    # Pounds and dollars are totalled apart, never added together.
    assert [(r[0].value, r[1].value, r[13].value, r[14].value) for r in body[3:]] == [
        ("Total GBP", "1 request", 75.25, "GBP"), ("Total USD", "2 requests", 1400.5, "USD")]
    assert body[3][13].font.bold and body[3][13].number_format == two
    assert len(body) == 5


def test_approving_ones_own_request_from_the_list_says_why_it_is_refused(client, users, books, approved,
                                                                         march_rent, april_rent):
    own = transfer_request(tenant=books.org, actor=users["finance"], version=approved, source=march_rent,
                           destination=april_rent, amount=D("50.00"), reason="Move rent")
    finance = as_role(client, users, "finance")

    response = finance.post(url("transfer_approve", pk=own.pk), follow=True)

    assert (f"You requested transfer #{own.pk}: another finance or admin member approves it (segregation of "
            "duties).") in text_of(response.content.decode())
    with tenant_context(books.org):
        assert TransferRequest.objects.get(pk=own.pk).status == "requested"


# --- the pickers: lines found by typing, only of the kind the rule allows ------------------------------

@pytest.fixture
def wide(books, users, budget, periods):
    """A budget in force with 108 lines: rent and software (expense) and revenue, for no cost center,
    OPS and SALES, every month; amounts 100 + the month."""
    from budgets import services
    from budgets.selectors import version_latest

    draft = version_latest(tenant=books.org, budget=budget)
    services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft, cells=[
        (account, cc, period, D(100 + period.number))
        for account in (books.rent, books.software, books.revenue) for cc in (None, books.ops, books.sales)
        for period in periods])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    return services.version_approve(tenant=books.org, actor=users["admin"], version=draft)


def options_of(html: str, datalist: str | None = None) -> list[str]:
    if datalist:
        html = re.search(rf'<datalist id="{datalist}">(.*?)</datalist>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', html)


def lines_url(version, **query):
    from urllib.parse import urlencode

    return url("transfer_lines", version_pk=version.pk) + "?" + urlencode(query)


def test_the_form_has_search_boxes_not_a_select_of_every_line(client, users, books, wide):
    page = as_role(client, users, "director").get(url("transfer_create", version_pk=wide.pk)).content.decode()
    assert '<select name="source"' not in page and '<select name="destination"' not in page
    source = re.search(r'<input [^>]*name="source"[^>]*>', page).group(0)
    assert 'list="source-lines"' in source and f'hx-get="{url("transfer_lines", version_pk=wide.pk)}"' in source
    assert 'hx-include="#id_source"' in re.search(r'<input [^>]*name="destination"[^>]*>', page).group(0)
    assert len(options_of(page, "source-lines")) == 20 and len(options_of(page, "destination-lines")) == 20
    assert options_of(page, "source-lines")[:2] == ["4000 Subscription revenue / 2026-01",
                                                   "4000 Subscription revenue / 2026-02"]
    assert len(options_of(page)) < 20 + 20 + 3 + 3 + 12 + 8  # datalists, account, cost center, month selects


def test_typing_narrows_the_suggestions_to_the_lines_holding_every_word(client, users, books, wide):
    director = as_role(client, users, "director")
    assert options_of(director.get(lines_url(wide, source="rent ops 2026-03")).content.decode()) == [
        "6100 Rent / OPS / 2026-03"]
    assert options_of(director.get(lines_url(wide, source="620 SALES 2026-1")).content.decode()) == [
        "6200 Software / SALES / 2026-10", "6200 Software / SALES / 2026-11", "6200 Software / SALES / 2026-12"]
    assert options_of(director.get(lines_url(wide, source="nothing like it")).content.decode()) == []


def test_the_to_line_offers_only_lines_of_the_source_kind_and_not_the_source(client, users, books, wide,
                                                                                periods):
    director = as_role(client, users, "director")
    to_revenue = options_of(director.get(lines_url(wide, source="4000 Subscription revenue / OPS / 2026-03",
                                                   destination="OPS")).content.decode())
    assert to_revenue == [f"4000 Subscription revenue / OPS / 2026-{m:02d}" for m in range(1, 13) if m != 3]
    to_expense = options_of(director.get(lines_url(wide, source="6100 Rent / OPS / 2026-03",
                                                   destination="OPS 2026-0")).content.decode())
    assert len(to_expense) == 17 and not [o for o in to_expense if o.startswith("4000")]
    assert "6100 Rent / OPS / 2026-03" not in to_expense
    march_revenue = line_of(books.org, wide, books.revenue, books.ops, periods[2])
    page = director.get(url("transfer_create", version_pk=wide.pk) + f"?source={march_revenue.pk}").content.decode()
    assert 'value="4000 Subscription revenue / OPS / 2026-03"' in page
    assert {o[:4] for o in options_of(page, "destination-lines")} == {"4000"}
    assert options_of(re.search(r'<select name="account".*?</select>', page, re.S).group(0)) == ["", str(books.revenue.pk)]


def test_a_line_picked_as_the_destination_receives_the_transfer(client, users, books, wide):
    response = as_role(client, users, "director").post(url("transfer_create", version_pk=wide.pk), {
        "source": "6100 Rent / OPS / 2026-03", "destination": "6200 software sales 2026-04", "amount": "12.50",
        "reason": "Licences"})
    assert response.status_code == 302
    with tenant_context(books.org):
        [t] = TransferRequest.objects.select_related("source__account", "destination__account",
                                                     "destination__cost_center", "destination__period")
        assert (t.source.account, t.destination.account, t.destination.cost_center, t.destination.period.number,
                t.amount) == (books.rent, books.software, books.sales, 4, D("12.50"))


def test_a_cross_kind_destination_typed_anyway_is_refused_by_the_service_and_the_text_is_kept(client, users, books,
                                                                                           wide):
    response = as_role(client, users, "director").post(url("transfer_create", version_pk=wide.pk), {
        "source": "6100 Rent / OPS / 2026-03", "destination": "4000 Subscription revenue / OPS / 2026-03",
        "amount": "12.50", "reason": "Licences"})
    html = response.content.decode()
    assert response.status_code == 200
    assert ("6100 Rent / OPS / 2026-03 is expense and 4000 Subscription revenue / OPS / 2026-03 is revenue: money "
            "moves between lines of the same kind.") in html
    assert 'value="4000 Subscription revenue / OPS / 2026-03"' in html and 'value="12.50"' in html
    with tenant_context(books.org):
        assert TransferRequest.objects.count() == 0


@pytest.mark.parametrize(("typed", "message"), [
    ("rent ops", "“rent ops” matches 12 lines of this version: type more of it, or choose one from the list."),
    ("2026", "“2026” matches 20+ lines of this version: type more of it, or choose one from the list."),
    ("9999 nothing", "No line of this version matches “9999 nothing”."),
    (" / ", "Pick the line to move money from: type part of its account, cost center or month and choose it."),
])
def test_a_source_that_is_not_one_line_is_named_next_to_the_field_and_kept(client, users, books, wide, typed,
                                                                          message):
    response = as_role(client, users, "director").post(url("transfer_create", version_pk=wide.pk), {
        "source": typed, "destination": "6200 Software / SALES / 2026-04", "amount": "1", "reason": "x"})
    html = response.content.decode()
    assert response.status_code == 200 and message.replace("“", "&ldquo;") in html.replace("“", "&ldquo;")
    assert f'value="{typed}"' in html or typed.strip() == "/"
    assert 'value="6200 Software / SALES / 2026-04"' in html


def test_without_a_destination_the_form_says_what_to_pick(client, users, books, wide):
    html = as_role(client, users, "director").post(url("transfer_create", version_pk=wide.pk), {
        "source": "6100 Rent / OPS / 2026-03", "amount": "1", "reason": "x"}).content.decode()
    assert "Pick the line to move the money to, or an account and month for a new line." in html


def test_the_pickers_never_offer_another_organisations_lines(client, users, books, other_books, wide):
    from budgets import services
    from budgets.selectors import budget_periods, version_latest

    foreign_budget = services.budget_create(tenant=other_books.org, actor=None, entity=other_books.usd,
                                            fiscal_year=2026, name="Globex plan")
    foreign = version_latest(tenant=other_books.org, budget=foreign_budget)
    services.budget_lines_set(tenant=other_books.org, actor=None, version=foreign, cells=[
        (other_books.rent, other_books.ops, budget_periods(tenant=other_books.org, budget=foreign_budget)[2],
         D("999.00"))])
    director = as_role(client, users, "director")
    assert director.get(lines_url(foreign, source="rent")).status_code == 404
    assert director.get(url("transfer_create", version_pk=foreign.pk)).status_code == 404
    own = options_of(director.get(lines_url(wide, source="6100 Rent / OPS / 2026-03")).content.decode())
    assert own == ["6100 Rent / OPS / 2026-03"]
    with tenant_context(books.org):
        assert BudgetLine.objects.filter(version=foreign).count() == 0  # not even visible through RLS


def test_the_lines_table_under_the_form_is_paged_fifty_at_a_time(client, users, books, wide):
    director = as_role(client, users, "director")
    first = director.get(url("transfer_create", version_pk=wide.pk)).content.decode()
    third = director.get(url("transfer_create", version_pk=wide.pk) + "?page=3").content.decode()
    assert first.count('title="Move money from this line"') == 50
    assert third.count('title="Move money from this line"') == 8
    assert "Lines 1–50 of 108" in text_of(first) and "Lines 101–108 of 108" in text_of(third)
    assert 'href="?page=2"' in first


# --- the proposal page: one block per account ---------------------------------------------------------

def test_the_proposal_page_groups_lines_by_account_and_opens_those_with_picks(client, users, books, wide):
    director = as_role(client, users, "director")
    page = director.get(url("transfer_proposal", version_pk=wide.pk)).content.decode()
    summaries = re.findall(r'<details class="account-group" id="account-(\d+)"( open)?>', page)
    assert summaries == [("4000", ""), ("6100", ""), ("6200", "")]
    assert page.count('name="pick"') == 108
    assert "6100 Rent · 36 lines · effective 3,834.00 · available 3,834.00" in text_of(page)
    with tenant_context(books.org):
        picked = list(BudgetLine.objects.filter(version=wide, account=books.software).order_by("id")
                      .values_list("id", flat=True)[:2])
    data = {"pick": picked, **{f"roi_{pk}": "2" for pk in picked}, "preview": "1"}
    again = director.post(url("transfer_proposal", version_pk=wide.pk), data).content.decode()
    assert re.findall(r'<details class="account-group" id="account-(\d+)"( open)?>', again) == [
        ("4000", ""), ("6100", ""), ("6200", " open")]
    assert "6200 Software · 36 lines · effective 3,834.00 · available 3,834.00 · 2 picked" in text_of(again)
