"""The ledger's actuals: sign rules (pure) and the `actuals` selector over the rollup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from finops.ledger import services as ledger
from finops.ledger.actuals import Sign, actuals, favourable, natural_sign, natural_sql
from finops.ledger.models import AccountType
from finops.ledger.services import LineSpec

amounts = st.decimals(min_value=D("-1000000000"), max_value=D("1000000000"), places=4)


# --- natural sign -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account_type", "ledger", "natural"),
    [
        ("revenue", D("-500.00"), D("500.00")),
        ("liability", D("-500.00"), D("500.00")),
        ("equity", D("-500.00"), D("500.00")),
        ("expense", D("500.00"), D("500.00")),
        ("asset", D("500.00"), D("500.00")),
        # A contra-revenue line (sales returns) carries debits: negative in natural sign.
        (AccountType.REVENUE, D("120.00"), D("-120.00")),
    ],
)
def test_natural_sign_turns_credit_natured_ledger_sums_positive(account_type, ledger, natural):
    assert natural_sign(account_type, ledger) == natural


def test_natural_sign_refuses_an_unknown_account_type_and_floats():
    with pytest.raises(ValueError, match="Unknown account type 'income'"):
        natural_sign("income", D("1"))
    with pytest.raises(TypeError, match="never a float"):
        natural_sign("revenue", 1.5)


# --- favourability property -----------------------------------------------------------------------


@given(actual=amounts, budget=amounts)
def test_revenue_and_expense_always_disagree_about_an_off_budget_line(actual, budget):
    assume(actual != budget)
    assert favourable(account_type="revenue", actual=actual, budget=budget) == (
        not favourable(account_type="expense", actual=actual, budget=budget)
    )


@given(actual=amounts, budget=amounts)
def test_credit_natured_types_judge_like_revenue_and_debit_natured_like_expense(actual, budget):
    rev = favourable(account_type="revenue", actual=actual, budget=budget)
    exp = favourable(account_type="expense", actual=actual, budget=budget)
    assert favourable(account_type="liability", actual=actual, budget=budget) == rev
    assert favourable(account_type="equity", actual=actual, budget=budget) == rev
    assert favourable(account_type="asset", actual=actual, budget=budget) == exp


def test_natural_sql_negates_credit_natured_types_like_natural_sign(db):
    from django.db import connection

    with connection.cursor() as cursor:
        for kind in AccountType:
            cursor.execute(f"SELECT {natural_sql('t', 'a')} FROM (SELECT %s AS t, %s::numeric AS a) x",
                           [kind.value, D("-12.5")])
            assert cursor.fetchone()[0] == natural_sign(kind, D("-12.5"))


# --- the selector -------------------------------------------------------------------------------


def post(books, d: date, *lines: tuple, entity=None):
    return ledger.journal_post(tenant=books.org, actor=None, entity=entity or books.usd, date=d, memo="t",
                               lines=[LineSpec(*line) for line in lines])


@pytest.fixture
def posted(books):
    post(books, date(2026, 3, 5), (books.cash.pk, D("1000.00")), (books.revenue.pk, D("-1000.00"), books.sales.pk))
    post(books, date(2026, 3, 20), (books.rent.pk, D("300.00"), books.ops.pk), (books.cash.pk, D("-300.00")))
    post(books, date(2026, 4, 2), (books.rent.pk, D("310.00"), books.ops.pk), (books.cash.pk, D("-310.00")))
    post(books, date(2026, 4, 9), (books.cash.pk, D("200.00")), (books.revenue.pk, D("-200.00"), books.sales.pk),
         entity=books.gbp)
    return books


def test_actuals_by_account_and_month_in_natural_sign_per_functional_currency(posted):
    b = posted
    found = actuals(tenant=b.org, accounts=[b.revenue, b.rent], group_by=("account", "month"))
    assert [(r.currency, r.account_id, r.month, r.amount, r.lines) for r in found.rows] == [
        ("GBP", b.revenue.pk, date(2026, 4, 1), D("200.00"), 1),
        ("USD", b.revenue.pk, date(2026, 3, 1), D("1000.00"), 1),
        ("USD", b.rent.pk, date(2026, 3, 1), D("300.00"), 1),
        ("USD", b.rent.pk, date(2026, 4, 1), D("310.00"), 1),
    ]
    assert found.missing_rates == []


def test_actuals_in_debit_sign_filtered_by_entity_cost_center_and_months(posted):
    b = posted
    found = actuals(tenant=b.org, entity=b.usd, cost_centers=[b.sales], start=date(2026, 3, 1),
                    end=date(2026, 3, 31), group_by=("cost_center",), sign=Sign.DEBIT)
    assert [(r.cost_center_id, r.amount, r.lines) for r in found.rows] == [(b.sales.pk, D("-1000.0000"), 1)]
    april = actuals(tenant=b.org, entity=b.usd, start=date(2026, 4, 15), group_by=("account",))
    assert [(r.account_id, r.amount) for r in april.rows] == [(b.cash.pk, D("-310.00")), (b.rent.pk, D("310.00"))]


def test_actuals_consolidated_at_the_average_rate_and_a_missing_rate_is_reported(posted):
    b = posted
    ledger.fx_rate_set(tenant=b.org, actor=None, date=date(2026, 4, 1), from_currency="GBP", to_currency="USD",
                       rate=D("1.2500"))
    found = actuals(tenant=b.org, accounts=[b.revenue], group_by=("month",), currency="USD")
    assert [(r.month, r.currency, r.amount) for r in found.rows] == [
        (date(2026, 3, 1), "USD", D("1000.00")), (date(2026, 4, 1), "USD", D("250.00"))]
    assert found.missing_rates == []
    # USD → GBP in March: the inverse of the fixture's GBP → USD 1.27 (0.7874015748 × 1,000.00).
    in_gbp = actuals(tenant=b.org, accounts=[b.revenue], group_by=(), currency="GBP")
    assert [(r.currency, r.amount) for r in in_gbp.rows] == [("GBP", D("987.40"))]
    # No closing rates at all: the USD entity's March is left out and reported, GBP needs none.
    closing = actuals(tenant=b.org, accounts=[b.revenue], group_by=(), currency="GBP", rate_kind="closing")
    assert [(r.currency, r.amount) for r in closing.rows] == [("GBP", D("200.00"))]
    assert [(m.src, m.dst, m.kind, m.months, m.entities) for m in closing.missing_rates] == [
        ("USD", "GBP", "closing", (date(2026, 3, 1),), ("US",))]


def test_actuals_of_another_organisation_are_empty(posted, other_books):
    assert actuals(tenant=other_books.org).rows == []
    assert actuals(tenant=posted.org, accounts=[other_books.revenue]).rows == []


def test_an_unknown_grouping_is_refused(books):
    with pytest.raises(ValueError, match="Unknown grouping \\['quarter'\\]"):
        actuals(tenant=books.org, group_by=("quarter",))
