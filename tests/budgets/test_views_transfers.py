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
from budgets.transfers.selectors import effective_amounts
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


def form_data(books, periods, source, amount="150.00", **extra):
    return {"source": source.pk, "account": books.rent.pk, "cost_center": books.ops.pk, "period": periods[3].pk,
            "amount": amount, "reason": "Office move slips a month", **extra}


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
