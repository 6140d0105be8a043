"""The dashboard's budget panel: year-to-date use of the budget in force against the share of the
year gone, the lines furthest off plan, budgets awaiting approval, open alerts; per tenant."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from budgets import services
from budgets.models import AlertRule, AlertThreshold
from budgets.summary import budgets_at_a_glance
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)


def book(books, d, account, amount, *, cc=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def approved(books, draft, periods):
    jan, feb, mar, dec = periods[0], periods[1], periods[2], periods[11]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        *[(books.revenue, None, p, D("1000")) for p in (jan, feb, mar, dec)],
        *[(books.rent, books.ops, p, D("300")) for p in (jan, feb, mar, dec)]])
    services.version_submit(tenant=books.org, actor=None, version=draft)
    version = services.version_approve(tenant=books.org, actor=None, version=draft)
    book(books, date(2026, 1, 15), books.revenue, "-1200")
    book(books, date(2026, 3, 15), books.revenue, "-1100")
    book(books, date(2026, 3, 5), books.rent, "340", cc=books.ops)
    book(books, date(2026, 3, 20), books.software, "80", cc=books.sales)
    return version


def test_year_to_date_use_of_the_budget_and_the_lines_furthest_off_plan_are_exact(books, approved):
    glance = budgets_at_a_glance(tenant=books.org, month=MARCH, as_of=date(2026, 3, 31))
    assert (glance.more, glance.awaiting_approval, glance.open_alerts) == (0, [], 0)
    (g,) = glance.glances
    assert g.version == approved and g.currency == "USD" and g.year_elapsed_pct == D("24.7")  # 90 of 365 days
    assert g.basis_words == "year to date through 31 March 2026"
    assert (g.revenue.actual, g.revenue.budget, g.revenue.variance, g.revenue.favourable) == (
        D("2300.00"), D("3000.00"), D("-700.00"), False)
    assert (g.expense.actual, g.expense.budget, g.expense.variance, g.expense.favourable) == (
        D("420.00"), D("900.00"), D("-480.00"), True)
    assert (g.full_year_revenue_budget, g.full_year_expense_budget) == (D("4000.00"), D("1200.00"))
    assert (g.revenue_earned_pct, g.expense_used_pct) == (D("57.5"), D("35.0"))
    # unfavourable lines only, largest first: revenue behind plan, then the unbudgeted software
    assert [(r.account_code, r.cost_center_code, r.variance) for r in g.watch] == [
        ("4000", "", D("-700.00")), ("6200", "SALES", D("80.00"))]


def test_in_a_month_in_progress_the_year_to_date_is_paced_to_the_day(books, approved):
    (g,) = budgets_at_a_glance(tenant=books.org, month=MARCH, as_of=date(2026, 3, 20)).glances
    assert g.basis_words == ("year to date through 20 March 2026 (20 of 31 days), "
                             "against the budget paced to the date")
    assert g.year_elapsed_pct == D("21.6")  # 79 of 365 days
    # Revenue: January's and February's 1,000 + March's 1,000 × 20 / 31; rent: 600 + 300 × 20 / 31.
    assert (g.revenue.actual, g.revenue.compared_with, g.revenue.variance, g.revenue.favourable) == (
        D("2300.00"), D("2645.16"), D("-345.16"), False)
    assert (g.expense.actual, g.expense.compared_with, g.expense.variance, g.expense.favourable) == (
        D("420.00"), D("793.55"), D("-373.55"), True)
    assert [(r.account_code, r.cost_center_code, r.variance) for r in g.watch] == [
        ("4000", "", D("-345.16")), ("6200", "SALES", D("80.00"))]


def test_the_panel_renders_the_figures_and_links_to_the_report(client, users, books, approved):
    client.force_login(users["director"])
    response = client.get(reverse("reporting:budget_glance", kwargs={"org_slug": "acme"}) + "?month=2026-03")
    assert response.status_code == 200
    html = response.content.decode()
    report = reverse("budgets:variance", kwargs={"org_slug": "acme", "pk": approved.pk})
    assert f'href="{report}?month=2026-03&amp;basis=ytd">Plan 2026 <span class="muted">v1</span></a>' in html
    assert '<strong data-actual="2300.00">2,300.00</strong>' in html
    assert "of 4,000.00 earned · 57.5 %" in html
    assert '<strong data-actual="420.00">420.00</strong>' in html
    assert "of 1,200.00 used · 35.0 %" in html
    assert 'data-variance="-700.00">(700.00) · -23.3 % unfavourable' in html
    assert 'data-variance="-480.00">(480.00) · -53.3 % favourable' in html
    assert f'{report}?month=2026-03&amp;basis=ytd&amp;cost_center={books.sales.pk}"' in html
    assert "open alert" not in html


def test_a_budget_not_yet_approved_is_listed_as_awaiting_approval(client, users, books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft,
                              cells=[(books.rent, books.ops, periods[0], D("10"))])
    services.version_submit(tenant=books.org, actor=None, version=draft)
    glance = budgets_at_a_glance(tenant=books.org, month=MARCH)
    assert glance.glances == [] and [v.pk for v in glance.awaiting_approval] == [draft.pk]
    client.force_login(users["viewer"])
    html = client.get(reverse("reporting:budget_glance", kwargs={"org_slug": "acme"}) + "?month=2026-03").content.decode()
    assert "Awaiting approval:" in html and "Plan 2026 v1</a> <span class=\"muted\">(submitted)</span>" in html
    assert "No budget in force for this fiscal year yet" not in html


def test_a_draft_is_not_awaiting_approval_but_a_submitted_revision_of_a_budget_in_force_is(books, approved):
    assert budgets_at_a_glance(tenant=books.org, month=MARCH).awaiting_approval == []
    revision = services.version_revise(tenant=books.org, actor=None, version=approved)
    assert budgets_at_a_glance(tenant=books.org, month=MARCH).awaiting_approval == []  # a draft: nobody to ask
    services.version_submit(tenant=books.org, actor=None, version=revision)
    glance = budgets_at_a_glance(tenant=books.org, month=MARCH)
    assert [v.pk for v in glance.awaiting_approval] == [revision.pk] and glance.glances[0].version == approved


def test_no_budget_for_the_year_says_so_and_another_year_is_not_shown(client, users, books, approved):
    client.force_login(users["finance"])
    html = client.get(reverse("reporting:budget_glance", kwargs={"org_slug": "acme"}) + "?month=2025-03").content.decode()
    assert "No budget in force for this fiscal year yet." in html and "Plan 2026" not in html


def test_open_alerts_are_counted_with_a_link_to_the_inbox(client, users, books, approved):
    from budgets.alerts.evaluation import alerts_evaluate

    with tenant_context(books.org):
        rule = AlertRule.objects.create(tenant=books.org, name="Spend", budget=approved.budget, recipient_roles=[])
        AlertThreshold.objects.create(tenant=books.org, rule=rule, kind="variance", pct=D("10"), amount=D("50"))
    alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 31))
    glance = budgets_at_a_glance(tenant=books.org, month=MARCH)
    # March alone: revenue 1,100 vs 1,000 (+10 %, 100), rent 340 vs 300 (+13.3 %, 40 < 50: no),
    # software 80 unbudgeted (beyond any %, 80 ≥ 50)
    assert glance.open_alerts == 2
    client.force_login(users["director"])
    html = client.get(reverse("reporting:budget_glance", kwargs={"org_slug": "acme"}) + "?month=2026-03").content.decode()
    inbox = reverse("budgets:alert_inbox", kwargs={"org_slug": "acme"})
    assert f'<a class="badge badge-warn" href="{inbox}" data-open-alerts="2">2 open alerts</a>' in html


def test_the_dashboard_loads_the_panel_for_its_month_and_entity(client, users, books, approved):
    client.force_login(users["director"])
    html = client.get(reverse("reporting:dashboard", kwargs={"org_slug": "acme"})
                      + f"?month=2026-03&entity={books.usd.pk}").content.decode()
    glance = reverse("reporting:budget_glance", kwargs={"org_slug": "acme"})
    assert f'hx-get="{glance}?month=2026-03&amp;entity={books.usd.pk}"' in html


def test_another_tenants_entity_shows_nothing_of_theirs(client, users, books, approved, other_books):
    client.force_login(users["director"])
    html = client.get(reverse("reporting:budget_glance", kwargs={"org_slug": "acme"})
                      + f"?month=2026-03&entity={other_books.usd.pk}").content.decode()
    assert "Plan 2026" not in html and "No budget in force for this fiscal year yet." in html
