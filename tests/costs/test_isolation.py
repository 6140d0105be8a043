"""Tenants never see each other's costs: the selectors and pages answer for the own organisation
only, row-level security returns nothing to a query that forgot its tenant, and the runtime role
can neither edit nor delete an imported item."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse

from costs.models import CostItem
from costs.selectors import access_cost_import, cost_item_page, cost_summary
from finops.errors import NotFound
from finops.tenancy.context import tenant_context

FILE = (b"ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,ChargeDescription\n"
        b"2025-04-01,Usage,7.25,7.25,CANARY-GLOBEX-COST\n")


@pytest.fixture
def theirs(other_org, import_costs):
    return import_costs(other_org, FILE)


def test_another_organisations_items_and_imports_are_invisible(org, other_org, theirs):
    assert cost_summary(tenant=org) == []
    assert cost_item_page(tenant=org).items == []
    with pytest.raises(NotFound, match="^This import does not exist.$"):
        access_cost_import(tenant=org, pk=theirs.pk)
    [summary] = cost_summary(tenant=other_org)
    assert (summary.billed_cost, summary.items) == (Decimal("7.25"), 1)


def test_their_pages_answer_404_and_ours_never_show_their_items(client, users, theirs):
    client.force_login(users["admin"])

    foreign = client.get(reverse("costs:index", kwargs={"org_slug": "globex"}))
    their_job = client.get(reverse("costs:import_detail", kwargs={"org_slug": "acme", "pk": theirs.pk}))
    ours = client.get(reverse("costs:index", kwargs={"org_slug": "acme"}))

    assert (foreign.status_code, their_job.status_code, ours.status_code) == (404, 404, 200)
    assert b"CANARY-GLOBEX-COST" not in ours.content


def test_row_level_security_returns_nothing_to_a_query_without_the_tenant_filter(org, other_org, theirs):
    with tenant_context(org):
        assert CostItem.objects.unscoped().count() == 0  # RLS: the Python filter is off, the policy is not
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM costs_costitem")
            assert cursor.fetchone()[0] == 0
    with tenant_context(other_org):
        assert CostItem.objects.unscoped().count() == 1


@pytest.mark.parametrize("statement", ["UPDATE costs_costitem SET billed_cost = 0", "DELETE FROM costs_costitem"])
def test_the_runtime_role_may_neither_edit_nor_delete_an_imported_item(other_org, theirs, statement):
    with tenant_context(other_org), pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
