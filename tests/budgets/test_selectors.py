"""Budget reads: the grid pivot (12 months + total per account × cost center), lists, versions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets import selectors, services
from finops.errors import NotFound
from finops.tenancy.context import tenant_context


def test_the_grid_pivots_cells_into_rows_of_twelve_months_and_a_total(books, draft, periods):
    jan, feb, dec = periods[0], periods[1], periods[11]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.revenue, None, jan, D("1000.00")), (books.revenue, None, dec, D("2500.50")),
        (books.rent, books.ops, jan, D("300")), (books.rent, books.ops, feb, D("300")),
        (books.software, books.sales, feb, D("-12.34")), (books.software, books.ops, feb, D("0"))])

    with CaptureQueriesContext(connection) as queries:
        rows = selectors.version_lines(tenant=books.org, version=draft)
    # One statement reads the cells (the others are the tenant context's savepoint and setting).
    assert len([q for q in queries.captured_queries if "budgets_budgetline" in q["sql"]]) == 1

    assert [(r.cost_center_code, r.account_code, r.months, r.total) for r in rows] == [
        ("", "4000", (D("1000.0000"),) + (None,) * 10 + (D("2500.5000"),), D("3500.5000")),
        ("OPS", "6100", (D("300.0000"), D("300.0000")) + (None,) * 10, D("600.0000")),
        ("OPS", "6200", (None, D("0.0000")) + (None,) * 10, D("0.0000")),
        ("SALES", "6200", (None, D("-12.3400")) + (None,) * 10, D("-12.3400")),
    ]
    assert (rows[0].account_name, rows[0].account_type, rows[3].cost_center_parent_id) == (
        "Subscription revenue", "revenue", books.ops.pk)
    revenue, expenses, net = selectors.grid_totals(rows)
    assert (revenue.label, revenue.rows, revenue.months[0], revenue.months[11], revenue.total) == (
        "Total revenue", 1, D("1000.0000"), D("2500.5000"), D("3500.5000"))
    assert (expenses.label, expenses.rows, expenses.months[:2], expenses.total) == (
        "Total expenses", 3, [D("300.0000"), D("287.6600")], D("587.6600"))
    assert (net.label, net.months[:2], net.months[11], net.total) == (
        "Net result", [D("700.0000"), D("-287.6600")], D("2500.5000"), D("2912.8400"))


def test_the_budget_list_shows_each_budgets_latest_version(books, users, budget, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 5)])
    services.version_submit(tenant=books.org, actor=None, version=draft)
    services.version_approve(tenant=books.org, actor=users["admin"], version=draft)
    services.version_revise(tenant=books.org, actor=None, version=draft, kind="reforecast")
    services.budget_create(tenant=books.org, actor=None, entity=books.gbp, fiscal_year=2027, name="UK 2027")
    with tenant_context(books.org):
        listed = [(b.name, b.entity.code, b.latest_number, b.latest_kind, b.latest_status)
                  for b in selectors.budget_list(tenant=books.org)]
        assert [b.name for b in selectors.budget_list(tenant=books.org, fiscal_year=2026)] == ["Plan 2026"]
    assert listed == [("UK 2027", "UK", 1, "original", "draft"), ("Plan 2026", "US", 2, "reforecast", "draft")]
    assert selectors.version_in_force(tenant=books.org, budget=budget).number == 1
    assert selectors.version_latest(tenant=books.org, budget=budget).number == 2
    assert [v.number for v in selectors.version_list(tenant=books.org, budget=budget)] == [1, 2]


def test_another_organisations_budget_and_version_are_not_found_like_missing_ones(books, other_books, budget, draft):
    assert selectors.access_version(tenant=books.org, pk=draft.pk) == draft
    with pytest.raises(NotFound, match="^This budget version does not exist.$"):
        selectors.access_version(tenant=other_books.org, pk=draft.pk)
    with pytest.raises(NotFound, match="^This budget does not exist.$"):
        selectors.access_budget(tenant=other_books.org, pk=budget.pk)
    with pytest.raises(NotFound, match="^This budget does not exist.$"):
        selectors.access_budget(tenant=books.org, pk=budget.pk + 10_000)
    assert selectors.version_lines(tenant=other_books.org, version=draft) == []


def test_the_grid_tree_orders_groups_depth_first_and_subtotals_each_subtree_exactly(books, draft, periods):
    from finops.ledger import services as ledger

    eu = ledger.cost_center_save(tenant=books.org, actor=None, code="SALES-EU", name="Sales Europe", parent=books.sales)
    fin = ledger.cost_center_save(tenant=books.org, actor=None, code="FIN", name="Finance")
    ledger.cost_center_save(tenant=books.org, actor=None, code="AAA", name="Empty root")  # no rows: no group
    jan, feb = periods[0], periods[1]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, None, jan, D("10.00")),
        (books.rent, books.ops, jan, D("100.00")), (books.rent, books.ops, feb, D("50.50")),
        (books.software, eu, jan, D("20.25")), (books.revenue, eu, feb, D("1000.00")),
        (books.software, fin, jan, D("0.01"))])
    rows = selectors.version_lines(tenant=books.org, version=draft)
    nodes = selectors.cost_center_nodes(tenant=books.org)
    tree = selectors.grid_tree(rows, nodes)

    assert [(g.code, g.depth, g.ancestors, [r.account_code for r in g.rows], g.subtree_rows, g.kind)
            for g in tree] == [
        ("", 0, (), ["6100"], 1, "expense"),
        ("FIN", 0, (), ["6200"], 1, "expense"),
        ("OPS", 0, (), ["6100"], 3, "net"),
        ("SALES", 1, (books.ops.pk,), [], 2, "net"),  # no rows of its own: there for its child
        ("SALES-EU", 2, (books.ops.pk, books.sales.pk), ["4000", "6200"], 2, "net"),
    ]
    none, fin_group, ops, sales, _ = tree
    assert (none.months[:2], none.total) == ([D("10.0000"), D(0)], D("10.0000"))
    assert (fin_group.months[0], fin_group.total) == (D("0.0100"), D("0.0100"))
    # OPS: revenue 1,000.00 in Feb; expenses 100.00 + 20.25 in Jan and 50.50 in Feb → net = revenue − expenses.
    assert (ops.revenue[:2], ops.expenses[:2]) == ([D(0), D("1000.0000")], [D("120.2500"), D("50.5000")])
    assert (ops.months[:3], ops.total) == ([D("-120.2500"), D("949.5000"), D(0)], D("829.2500"))
    assert (ops.revenue_total, ops.expenses_total) == (D("1000.0000"), D("170.7500"))
    assert (sales.months[:2], sales.total) == ([D("-20.2500"), D("1000.0000")], D("979.7500"))


def test_the_grid_tree_keeps_an_included_cost_center_without_rows_with_a_zero_subtotal(books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, books.ops, periods[0], D("5.00"))])
    rows = selectors.version_lines(tenant=books.org, version=draft)
    tree = selectors.grid_tree(rows, selectors.cost_center_nodes(tenant=books.org), include=(books.sales.pk, None))
    assert [(g.code, g.subtree_rows, g.kind, g.total) for g in tree] == [
        ("", 0, "", D(0)), ("OPS", 1, "expense", D("5.0000")), ("SALES", 0, "", D(0))]


def test_cost_center_ancestors_stop_at_a_cycle_or_a_missing_parent():
    nodes = {1: selectors.CostCenterNode(1, "A", "A", 3), 2: selectors.CostCenterNode(2, "B", "B", 1),
             3: selectors.CostCenterNode(3, "C", "C", 2), 4: selectors.CostCenterNode(4, "D", "D", 99)}
    assert selectors.cost_center_ancestors(nodes, 2) == (3, 1)
    assert selectors.cost_center_ancestors(nodes, 4) == ()
    assert selectors.cost_center_ancestors(nodes, None) == ()
