"""ROI proposals: built over the lines' effective amounts, accepted as transfer requests."""
# ruff: noqa: F811  (fixtures imported from test_transfers are redefined as arguments)

from __future__ import annotations

from decimal import Decimal as D

import pytest

from budgets.models import TransferRequest
from budgets.transfers.proposals import curve_parse, proposal_accept, proposal_build
from budgets.transfers.requests import transfer_approve, transfer_reject, transfer_request
from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.tenancy.context import tenant_context

from .test_transfers import approved, april_rent, line_of, march_rent, post_rent  # noqa: F401  (fixtures)


@pytest.fixture
def software(books, approved, periods):
    return line_of(books.org, approved, books.software, books.ops, periods[2])


def build(books, approved, march_rent, april_rent, software, **rois):
    return proposal_build(tenant=books.org, version=approved, lines=[
        (march_rent, D("0"), D("1000"), rois.get("march", "1")),
        (april_rent, D("0"), D("1000"), rois.get("april", "3")),
        (software, D("0"), D("1000"), rois.get("soft", "2")),
    ])


def test_a_proposal_moves_the_same_total_to_the_best_returns(books, approved, march_rent, april_rent,
                                                             software):
    proposal = build(books, approved, march_rent, april_rent, software)
    assert [(line.label, line.before, line.after) for line in proposal.lines] == [
        ("6100 Rent / OPS / 2026-03", D("1000.00"), D("0.00")),
        ("6100 Rent / OPS / 2026-04", D("500.00"), D("1000.00")),
        ("6200 Software / OPS / 2026-03", D("200.00"), D("700.00")),
    ]
    assert (proposal.total, proposal.return_before, proposal.return_after, proposal.uplift) == (
        D("1700.00"), D("2900.00"), D("4400.00"), D("1500.00"))


def test_a_proposal_starts_from_the_effective_amounts(books, users, approved, march_rent, april_rent,
                                                      software):
    moved = transfer_request(tenant=books.org, actor=users["finance"], version=approved, source=march_rent,
                             destination=software, amount=D("100.00"), reason="earlier move")
    transfer_approve(tenant=books.org, actor=users["admin"], transfer=moved)  # not its requester
    proposal = build(books, approved, march_rent, april_rent, software)
    assert [line.before for line in proposal.lines] == [D("900.00"), D("500.00"), D("300.00")]


def test_accepting_a_proposal_creates_the_exact_transfer_requests(books, users, approved, march_rent,
                                                                  april_rent, software):
    proposal = build(books, approved, march_rent, april_rent, software)
    transfers = proposal_accept(tenant=books.org, actor=users["director"], version=approved, proposal=proposal)
    assert [(t.source_id, t.destination_id, t.amount, t.reason, t.proposal, t.status) for t in transfers] == [
        (march_rent.pk, april_rent.pk, D("500.00"), "ROI proposal #1", 1, "requested"),
        (march_rent.pk, software.pk, D("500.00"), "ROI proposal #1", 1, "requested"),
    ]
    for transfer in transfers:  # make room on March for the next proposal
        transfer_reject(tenant=books.org, actor=users["finance"], transfer=transfer, comment="Not this quarter")
    again = proposal_accept(tenant=books.org, actor=users["director"], version=approved,
                            proposal=build(books, approved, march_rent, april_rent, software, march="0.5"))
    assert {t.reason for t in again} == {"ROI proposal #2"}
    with tenant_context(books.org):
        assert AuditEvent.objects.filter(action="budget.transfer_request").count() == 2 + len(again)


def test_a_proposal_is_accepted_whole_or_not_at_all(books, users, approved, march_rent, april_rent,
                                                    software):
    post_rent(books, "300.00")  # March has 700.00 available: the second move of 500.00 is refused
    proposal = build(books, approved, march_rent, april_rent, software)
    with pytest.raises(DomainError, match=r"has USD 200.00 available"):
        proposal_accept(tenant=books.org, actor=users["director"], version=approved, proposal=proposal)
    with tenant_context(books.org):
        assert TransferRequest.objects.count() == 0


def test_a_proposal_that_moves_nothing_is_not_accepted(books, users, approved, march_rent, april_rent,
                                                       software):
    proposal = build(books, approved, march_rent, april_rent, software, march="1", april="1", soft="1")
    assert proposal.uplift == D("0")
    with pytest.raises(DomainError, match="The proposal moves nothing"):
        proposal_accept(tenant=books.org, actor=users["director"], version=approved, proposal=proposal)


def test_curve_points_are_typed_as_spend_colon_return():
    curve = curve_parse("1000:3000, 2000:4000")
    assert curve.expected_return(D("1500")) == D("3500")
    assert curve_parse("2.5").expected_return(D("10")) == D("25.0")
    with pytest.raises(DomainError, match="“1000-3000” is not a curve point"):
        curve_parse("1000-3000 2000:4000")


def test_a_bad_curve_names_its_line(books, approved, march_rent, april_rent, software):
    with pytest.raises(DomainError, match=r"“6100 Rent / OPS / 2026-04”: .*not concave"):
        build(books, approved, march_rent, april_rent, software, april="100:100, 200:400")
