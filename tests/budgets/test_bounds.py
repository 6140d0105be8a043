"""What budgets accept (DESIGN §4 "Bounds"): fiscal years and periods inside the date window,
cells within the amount limit, and nothing that does not fit taken as something near it — a
period of 2030-02-30 is not February, a pasted month of 1.5 is not January. Sums of the largest
cells (a year of them, a huge actual against a tiny budget) are evaluated and alerted exactly."""
# ruff: noqa: F811  (the `plan` fixture imported from test_alerts is redefined as an argument)

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from budgets import services
from budgets.alerts.evaluation import alerts_evaluate
from budgets.alerts.rules import alert_rule_create
from budgets.importers import budget_import
from budgets.models import Alert, BudgetLine
from budgets.services.cells import budget_lines_set
from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.notifications.models import Delivery
from finops.tenancy.context import tenant_context

from .test_alerts import make_rule, plan  # noqa: F401  (fixture)

LAST_YEAR = date.today().year + 10
WINDOW = f"1990-01-01 … {LAST_YEAR}-12-31"
HEADER = "entity,account,cost_center,period,amount"
HTMX = {"HTTP_HX_REQUEST": "true"}
LARGEST = D("999999999999999.99")
TOO_LARGE = "is too large (at most 15 digits before the decimal point)"


def csv_file(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def imported(books, *lines: str, name="Plan 2030"):
    return budget_import(tenant=books.org, actor=None, data=csv_file(*lines), filename="b.csv", budget_name=name)


def cells_of(books, version=None):
    with tenant_context(books.org):
        lines = BudgetLine.objects.all() if version is None else BudgetLine.objects.filter(version=version)
        return {(line.account_id, line.cost_center_id, line.period.number): line.amount
                for line in lines.select_related("period")}


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def grid_url(name, version):
    return reverse(f"budgets:{name}", kwargs={"org_slug": "acme", "pk": version.pk})


# --- periods and fiscal years -----------------------------------------------------------------

def test_an_imported_period_that_is_no_date_is_refused_not_taken_as_its_month(books):
    result = imported(books, "US,4000,,2030-03,10", "US,4000,,2030-02-30,10")
    assert [(e.line, e.message) for e in result.errors] == [(3, "Period “2030-02-30” is not a date: 2030-02 has 28 days.")]
    assert cells_of(books) == {}


def test_an_imported_period_outside_the_window_is_refused_in_words(books):
    result = imported(books, "US,4000,,9999-01,10", "US,4000,,1989-12-01,10")
    assert [(e.line, e.message) for e in result.errors] == [
        (2, f"Period “9999-01” is outside the accepted window {WINDOW}."),
        (3, f"Period “1989-12-01” is outside the accepted window {WINDOW}."),
    ]


def test_a_budget_for_a_fiscal_year_outside_the_window_is_refused(books):
    with pytest.raises(DomainError) as refused:
        services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=LAST_YEAR + 1, name="Far")
    assert refused.value.message == f"FY{LAST_YEAR + 1} is outside the accepted window {WINDOW}."


# --- amounts ----------------------------------------------------------------------------------

def test_an_imported_amount_past_the_limit_is_refused_and_the_largest_is_taken(books):
    result = imported(books, 'US,4000,,2030-01,"9,999,999,999,999,999.99"')
    assert [(e.line, e.message) for e in result.errors] == [(2, f"Amount “9,999,999,999,999,999.99” {TOO_LARGE}.")]
    assert imported(books, 'US,4000,,2030-01,"999,999,999,999,999.99"').errors == []
    assert list(cells_of(books).values()) == [D("999999999999999.9900")]


def test_the_service_refuses_a_cell_past_the_limit(books, draft, periods):
    with pytest.raises(DomainError) as refused:
        budget_lines_set(tenant=books.org, actor=None, version=draft,
                         cells=[(books.rent, books.ops, periods[0], D("1000000000000000"))])
    assert refused.value.message == f"6100 · Rent / OPS / 2026-01: the amount {TOO_LARGE}."


def test_a_grid_cell_past_the_limit_is_refused_in_the_cell(finance, books, draft):
    response = finance.post(grid_url("grid_cell", draft), {"account": books.rent.pk, "cost_center": books.ops.pk,
                                                           "month": 1, "amount": "1,000,000,000,000,000"}, **HTMX)
    assert response.status_code == 422
    assert f"“1,000,000,000,000,000” {TOO_LARGE}." in response.content.decode()
    assert cells_of(books) == {}


@pytest.mark.parametrize("cell", [
    ["RENT", "OPS", 1.5, "10"], ["RENT", "OPS", 2.0, "10"], ["RENT", "OPS", "1.5", "10"], ["RENT", "OPS", True, "10"]])
def test_a_pasted_cell_that_names_no_whole_month_saves_nothing(finance, books, draft, cell):
    ids = {"RENT": books.rent.pk, "OPS": books.ops.pk}
    block = [[books.rent.pk, books.ops.pk, 3, "5"], [ids.get(v, v) if isinstance(v, str) else v for v in cell]]
    response = finance.post(grid_url("grid_paste", draft), {"cells": json.dumps(block)}, **HTMX)
    assert response.status_code == 422
    assert "Nothing to paste: copy a block of cells from a spreadsheet." in response.content.decode()
    assert cells_of(books) == {}


@pytest.mark.parametrize("profile", ["1e1000000 " + "0 " * 11, "NaN " * 12])
def test_a_spread_profile_that_is_not_plain_numbers_is_refused_in_words(finance, books, draft, profile):
    response = finance.post(grid_url("grid_spread", draft), {"row": f"{books.rent.pk}:{books.ops.pk}",
                                                             "method": "profile", "annual": "1200", "profile": profile},
                            **HTMX)
    assert response.status_code == 422
    assert "The profile is 12 percentages such as 5 5 10 10 …" in response.content.decode()
    assert cells_of(books) == {}


def test_a_threshold_typed_with_a_misplaced_comma_is_not_taken_as_another_number():
    from budgets.forms import ThresholdForm

    form = ThresholdForm({"t-kind": "variance", "t-pct": "2,50", "t-amount": "2,500"}, prefix="t")
    assert not form.is_valid()
    assert (form.errors["pct"], form.cleaned_data.get("amount")) == (["Enter a number."], D("2500"))


# --- the sums the alerts keep -------------------------------------------------------------------

def _book(books, d, amount, *, account=None, cc=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d, lines=[
        LineSpec((account or books.rent).pk, D(amount), (cc or books.ops).pk), LineSpec(books.cash.pk, -D(amount))])


def test_a_year_of_the_largest_cells_is_evaluated_and_alerted_exactly(books, draft, periods):
    budget_lines_set(tenant=books.org, actor=None, version=draft,
                     cells=[(books.rent, books.ops, p, LARGEST) for p in periods])
    _book(books, date(2026, 12, 10), "1000000.00")
    make_rule(books, draft.budget, "Year watch", [("variance", "50", "0")], basis="ytd")

    result = alerts_evaluate(tenant=books.org, as_of=date(2026, 12, 31))

    assert result.alerts_created == 1
    with tenant_context(books.org):
        alert = Alert.objects.get()
    assert (alert.actual, alert.budget, alert.variance, alert.pct) == (
        D("1000000.0000"), D("11999999999999999.8800"), D("-11999999998999999.8800"), D("-100.00"))


def test_a_huge_actual_against_a_tiny_budget_is_alerted_with_its_exact_percentage(books, draft, periods):
    budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, books.ops, periods[2], D("0.01"))])
    _book(books, date(2026, 3, 10), str(LARGEST))
    make_rule(books, draft.budget, "Month watch", [("variance", "50", "0")])

    alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 31))

    with tenant_context(books.org):
        alert = Alert.objects.get()
    assert (alert.variance, alert.pct) == (D("999999999999999.9800"), D("9999999999999999800.00"))


# --- one rule that fails does not stop the others -----------------------------------------------

LONG_ADDRESS = "x" * 290 + "@example.com"  # a valid address (≤ 320) longer than the outbox takes (254)


def test_a_rule_that_fails_is_logged_and_skipped_and_the_other_rules_still_fire(books, budget, plan, caplog):
    # A rule saved before the editor refused such addresses: its deliveries cannot be recorded.
    make_rule(books, budget, "Broken watch", [("consumed_pct", "80", "0")], extra_recipients=LONG_ADDRESS)
    make_rule(books, budget, "Spend watch", [("consumed_pct", "80", "0")])

    with caplog.at_level(logging.ERROR, logger="budgets.alerts"):
        result = alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 31))

    with tenant_context(books.org):
        recorded = sorted((a.rule.name, a.account.code) for a in Alert.objects.select_related("rule", "account"))
        rule_of = dict(Alert.objects.values_list("pk", "rule__name"))
        deliveries = sorted((rule_of[ref], to) for ref, to in Delivery.objects.values_list("ref", "recipient"))
    assert recorded == [("Spend watch", "6100"), ("Spend watch", "6200")]
    assert deliveries == [("Spend watch", "finance@acme.test"), ("Spend watch", "finance@acme.test")]
    assert (result.alerts_created, result.deliveries_created) == (2, 2)
    assert [r.getMessage() for r in caplog.records if r.name == "budgets.alerts"] == [
        f"variance alerts: rule {_rule_pk(books, 'Broken watch')} “Broken watch” of organisation {books.org.pk} "
        "failed and was skipped"]

    # Every run skips it again, and still records nothing twice for the others.
    again = alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 31))
    assert (again.alerts_created, again.deliveries_created) == (0, 0)


def _rule_pk(books, name):
    from budgets.models import AlertRule

    with tenant_context(books.org):
        return AlertRule.objects.get(name=name).pk


def test_the_rule_editor_refuses_an_address_the_outbox_cannot_hold(books, budget, users):
    from budgets.alerts.rules import ThresholdSpec

    with pytest.raises(DomainError) as refused:
        alert_rule_create(tenant=books.org, actor=users["finance"], budget=budget, name="Long", scope="organization",
                          basis="month", recipient_roles=["finance"], delivery="immediate",
                          extra_recipients=LONG_ADDRESS, thresholds=[ThresholdSpec("consumed_pct", D("80"))])
    assert refused.value.errors == [
        ("extra_recipients", f"“{LONG_ADDRESS}” is longer than the 254 characters an e-mail address may have.")]
