"""`manage.py variance_report`: CSV on stdout, byte for byte, and which version it compares."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from budgets import services
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec


def book(books, d, account, amount, *, cc=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def plan(books, draft, periods):
    jan, feb = periods[:2]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.revenue, None, jan, D("1000")), (books.revenue, None, feb, D("1000")),
        (books.rent, books.ops, feb, D("300")), (books.software, books.sales, feb, D("50.50"))])
    book(books, date(2026, 1, 10), books.revenue, "-1200")
    book(books, date(2026, 2, 10), books.revenue, "-950.26")
    book(books, date(2026, 2, 11), books.rent, "320", cc=books.ops)
    book(books, date(2026, 2, 12), books.payable, "77")  # a balance-sheet account: not reported
    book(books, date(2026, 2, 13), books.rent, "40", cc=books.sales)  # unbudgeted
    return draft


def run(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("variance_report", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_the_month_comes_out_byte_for_byte_from_the_latest_version_when_none_is_approved(books, plan):
    out, err = run(org="acme", budget="Plan 2026", period="2026-02")
    assert out == (
        "entity,account,cost_center,period,budget,actual,variance,variance_pct,favourable\n"
        "US,4000,,2026-02,1000.00,950.26,-49.74,-4.97,false\n"
        "US,6100,OPS,2026-02,300.00,320.00,20.00,6.67,false\n"
        "US,6100,SALES,2026-02,0.00,40.00,40.00,,false\n"
        "US,6200,SALES,2026-02,50.50,0.00,-50.50,-100.00,true\n"
    )
    assert err == "Plan 2026 has no approved or locked version: using its latest, v1 (draft).\n"


def test_year_to_date_uses_the_approved_version_rather_than_a_newer_draft(books, users, plan, periods):
    services.version_submit(tenant=books.org, actor=None, version=plan)
    services.version_approve(tenant=books.org, actor=users["finance"], version=plan)
    revision = services.version_revise(tenant=books.org, actor=None, version=plan)
    services.budget_lines_set(tenant=books.org, actor=None, version=revision,
                              cells=[(books.revenue, None, periods[0], D("9999"))])
    out, err = run(org="acme", budget="plan 2026", period="2026-02", basis="ytd")
    assert out.splitlines()[1] == "US,4000,,2026-02,2000.00,2150.26,150.26,7.51,true"
    assert err == "Plan 2026: using v1 (approved).\n"


def test_a_formula_looking_code_is_neutralised(books, plan):
    evil = ledger.cost_center_save(tenant=books.org, actor=None, code="=1+1", name="Evil")
    book(books, date(2026, 2, 14), books.rent, "1", cc=evil)
    out, _ = run(org="acme", budget="Plan 2026", period="2026-02")
    assert "US,6100,'=1+1,2026-02,0.00,1.00,1.00,,false\n" in out


@pytest.mark.parametrize(("options", "message"), [
    ({"org": "nope", "budget": "Plan 2026", "period": "2026-02"}, "No organisation with slug 'nope'."),
    ({"org": "acme", "budget": "Nope", "period": "2026-02"}, "No budget named 'Nope' in Acme."),
    ({"org": "acme", "budget": "Plan 2026", "period": "02/2026"}, "enter a month as YYYY-MM"),
    ({"org": "acme", "budget": "Plan 2026", "period": "2027-02"}, "2027-02 is not in the fiscal year"),
])
def test_bad_options_are_refused_with_a_message(books, plan, options, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(**options)
