"""Reallocation pages: who may request, approve, reject and cancel; the list; the proposal page."""
# ruff: noqa: F811  (fixtures imported from test_transfers are redefined as arguments)

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, TransferRequest
from budgets.transfers import effective_amounts, transfer_request
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
    fragment = viewer.get(url("transfers") + "?status=requested", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="transfer-table"') and f'id="transfer-{pending.pk}"' in fragment


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


def test_a_viewer_reads_the_proposal_page_but_cannot_accept(client, users, approved, march_rent):
    viewer = as_role(client, users, "viewer")
    assert viewer.get(url("transfer_proposal", version_pk=approved.pk)).status_code == 200
    assert viewer.post(url("transfer_proposal", version_pk=approved.pk), {"accept": "1"}).status_code == 403
