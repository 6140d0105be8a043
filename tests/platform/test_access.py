"""`access_<thing>(tenant=, pk=)`: one row of the organisation, or NotFound with the same message
for a missing row and for another organisation's (pages turn it into 404: test_isolation.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from budgets import selectors as budget_selectors
from budgets import services as budgets
from finops.errors import NotFound
from finops.ledger import selectors as ledger_selectors
from finops.ledger import services as ledger
from finops.ledger.models import Period
from finops.ledger.services import LineSpec
from finops.tenancy import selectors as tenancy_selectors
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership


def rows(books, users) -> dict:
    entry = ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), memo="x",
                                lines=[LineSpec(books.cash.pk, Decimal("5")), LineSpec(books.rent.pk, Decimal("-5"))])
    budget = budgets.budget_create(tenant=books.org, actor=users["finance"], entity=books.usd, fiscal_year=2026,
                                   name="Plan")
    invitation, _ = tenancy.invitation_create(tenant=books.org, actor=users["admin"], email="new@acme.test",
                                              role="viewer")
    with tenant_context(books.org):
        membership = Membership.objects.get(organization=books.org, user=users["viewer"])
        period = Period.objects.get(pk=entry.entry.period_id)
    return {
        (ledger_selectors.access_account, "account"): books.rent,
        (ledger_selectors.access_cost_center, "cost center"): books.ops,
        (ledger_selectors.access_period, "period"): period,
        (ledger_selectors.access_entry, "journal entry"): entry.entry,
        (budget_selectors.access_budget, "budget"): budget,
        (budget_selectors.access_version, "budget version"): budget_selectors.version_latest(tenant=books.org,
                                                                                           budget=budget),
        (tenancy_selectors.access_membership, "membership"): membership,
        (tenancy_selectors.access_invitation, "invitation"): invitation,
    }


def test_each_access_selector_finds_its_own_row_and_not_another_organisations_nor_a_missing_one(
        books, users, other_books):
    for (access, what), row in rows(books, users).items():
        assert access(tenant=books.org, pk=row.pk) == row
        for tenant, pk in ((other_books.org, row.pk), (books.org, row.pk + 100_000)):
            with pytest.raises(NotFound, match=f"^This {what} does not exist.$"):
                access(tenant=tenant, pk=pk)
