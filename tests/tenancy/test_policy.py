"""Who may do what is decided in the services (finops/tenancy/policy.py), so a command, a task or
the API calling a service meets the same rule and the same message as a page: a director cannot
approve a transfer or let one exceed its line, a viewer cannot post, a user of another
organisation cannot act here at all, and the system itself (no actor) may."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from budgets import services as budgets
from budgets.models import BudgetLine
from budgets.selectors import budget_periods, version_latest
from budgets.transfers.requests import transfer_approve, transfer_request
from finops.errors import NotAllowed
from finops.ledger import services as ledger
from finops.ledger.models import JournalEntry
from finops.ledger.services import LineSpec
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.policy import requires

SALE = date(2026, 3, 10)


def post(books, actor):
    return ledger.journal_post(tenant=books.org, actor=actor, entity=books.usd, date=SALE, memo="sale", lines=[
        LineSpec(books.cash.pk, Decimal("100.00")), LineSpec(books.revenue.pk, Decimal("-100.00"), books.sales.pk)])


@pytest.fixture
def lines(books):
    budget = budgets.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan")
    version = version_latest(tenant=books.org, budget=budget)
    march, april = budget_periods(tenant=books.org, budget=budget)[2:4]
    budgets.budget_lines_set(tenant=books.org, actor=None, version=version, cells=[
        (books.rent, books.ops, march, Decimal("500.00")), (books.rent, books.ops, april, Decimal("500.00"))])
    budgets.version_submit(tenant=books.org, actor=None, version=version)
    budgets.version_approve(tenant=books.org, actor=None, version=version)
    with tenant_context(books.org):
        return version, *(BudgetLine.objects.get(version=version, period=p) for p in (march, april))


def test_a_viewer_calling_the_posting_service_is_refused_in_words_and_nothing_is_posted(books, users):
    with pytest.raises(NotAllowed, match="Your role in this organisation is viewer: only roles that may change "
                                         "the books can do this."):
        post(books, users["viewer"])
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0
    assert post(books, users["finance"]).entry.pk  # finance may
    assert post(books, None).entry.pk  # and so may the system (a command run by the operator, a task)


def test_a_user_of_another_organisation_cannot_act_here(books, other_org):
    outsider = get_user_model().objects.get(email="admin@globex.test")
    with pytest.raises(NotAllowed, match="You are not a member of this organisation"):
        post(books, outsider)


def test_a_director_may_request_a_transfer_but_not_approve_it(books, users, lines):
    version, march, april = lines
    made = transfer_request(tenant=books.org, actor=users["director"], version=version, source=march,
                            destination=april, amount=Decimal("100.00"), reason="shift")
    with pytest.raises(NotAllowed, match="Your role in this organisation is director"):
        transfer_approve(tenant=books.org, actor=users["director"], transfer=made)
    assert transfer_approve(tenant=books.org, actor=users["finance"], transfer=made).status == "approved"


def test_only_finance_may_let_a_transfer_exceed_what_its_line_has_whoever_calls(books, users, lines):
    version, march, april = lines
    ask = {"tenant": books.org, "version": version, "source": march, "destination": april,
           "amount": Decimal("900.00"), "reason": "shift", "override_reason": "board decision"}
    with pytest.raises(NotAllowed, match="Your role in this organisation is director: only roles that may change "
                                         r"the books can let a transfer exceed what 6100 Rent / OPS / 2026-03 has "
                                         "available."):
        transfer_request(actor=users["director"], **ask)
    made = transfer_request(actor=users["finance"], **ask)
    assert (made.override, made.override_reason) == (True, "board decision")


def test_managing_members_needs_an_admin_even_through_the_service(org, users):
    with pytest.raises(NotAllowed, match="Your role in this organisation is finance: only roles that may manage "
                                         "the organisation can do this."):
        tenancy.invitation_create(tenant=org, actor=users["finance"], email="new@acme.test", role="viewer")


def test_a_decorated_service_says_what_it_needs(books):
    @requires("write")
    def service(*, tenant, actor):
        return "done"

    assert service.required_action == "write"
    assert service(tenant=books.org, actor=None) == "done"
