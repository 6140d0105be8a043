"""The GL import template: a balanced rent entry — rent debited to an expense account, paid from
cash — in the organisation's own codes, that imports as it is."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

from django.urls import reverse

from finops.demo.orgs import CHART, chart_ensure
from finops.ledger import services as ledger
from finops.ledger.importers import gl_import
from finops.ledger.models import AccountType, JournalLine
from finops.tenancy.context import tenant_context
from tests.builders import member


def template_rows(client, org) -> list[dict]:
    client.force_login(member(org, role="viewer").user)
    response = client.get(reverse("ledger:import_template", kwargs={"org_slug": org.slug}))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_on_the_demo_chart_rent_is_debited_to_the_rent_expense_account_and_credited_to_cash(client, org):
    chart_ensure(org=org)
    ledger.entity_create(tenant=org, actor=None, code="US", name="Acme Inc", functional_currency="USD")
    today = date.today()
    rows = template_rows(client, org)
    kinds = {code: (name, kind) for code, name, kind, *_ in CHART}
    assert [(r["account"], r["amount"]) for r in rows] == [("6510", "1200.00"), ("1010", "-1200.00")]
    assert kinds["6510"] == ("Rent", AccountType.EXPENSE) and kinds["1010"] == ("Operating cash", AccountType.ASSET)
    assert sum(D(r["amount"]) for r in rows) == 0
    assert {(r["date"], r["entry_ref"], r["entity"], r["memo"]) for r in rows} == {
        (today.isoformat(), "RENT-0001", "US", f"Office rent {today:%B %Y}")}
    assert rows[0]["cost_center"] != "" and rows[1]["cost_center"] == ""  # the expense carries the cost center


def test_the_template_imports_as_one_balanced_entry(client, books):
    rows = template_rows(client, books.org)
    assert [(r["account"], r["cost_center"], r["amount"]) for r in rows] == [
        ("6100", "OPS", "1200.00"), ("1000", "", "-1200.00")]
    body = io.StringIO()
    writer = csv.DictWriter(body, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert gl_import(tenant=books.org, actor=None, data=body.getvalue().encode(), filename="t.csv").created == 1
    with tenant_context(books.org):
        assert sorted(JournalLine.objects.values_list("account__code", "amount")) == [
            ("1000", D("-1200.00")), ("6100", D("1200.00"))]


def test_without_cash_the_credit_goes_to_accrued_expenses(client, org):
    ledger.entity_create(tenant=org, actor=None, code="US", name="Acme Inc", functional_currency="USD")
    for code, name, kind in [("1100", "Accounts receivable", AccountType.ASSET),
                             ("2010", "Accounts payable", AccountType.LIABILITY),
                             ("2020", "Accrued expenses", AccountType.LIABILITY),
                             ("6010", "Salaries", AccountType.EXPENSE)]:
        ledger.account_save(tenant=org, actor=None, code=code, name=name, type=kind)
    assert [(r["account"], r["amount"]) for r in template_rows(client, org)] == [
        ("6010", "1200.00"), ("2020", "-1200.00")]


def test_an_organisation_without_a_chart_gets_the_demo_charts_codes(client, org):
    assert [(r["entity"], r["account"], r["amount"]) for r in template_rows(client, org)] == [
        ("US", "6510", "1200.00"), ("US", "1010", "-1200.00")]
