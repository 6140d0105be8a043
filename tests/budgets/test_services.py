"""Budgets: creation, cells, spreading, the version's life, revisions and their diff, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from budgets import services
from budgets.models import Budget, BudgetLine, BudgetVersion, VersionKind, VersionStatus
from budgets.selectors import DiffRow, budget_periods, version_diff
from budgets.services.cells import Cell
from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.models import Period
from finops.ledger.periods import period_ensure
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context


def cells_of(org, version) -> dict[tuple[str, str | None, str], D]:
    with tenant_context(org):
        return {(a, c, f"{p:%Y-%m}"): amount for a, c, p, amount in
                BudgetLine.objects.filter(version=version)
                .values_list("account__code", "cost_center__code", "period__start", "amount")}


def audits(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def approve(books, users, version):
    services.version_submit(tenant=books.org, actor=users["finance"], version=version)
    return services.version_approve(tenant=books.org, actor=users["admin"], version=version)


# --- creating a budget --------------------------------------------------------------------------

def test_creating_a_budget_makes_its_twelve_periods_and_an_original_draft(books, users, budget):
    with tenant_context(books.org):
        periods = list(Period.objects.filter(fiscal_year=2026).values_list("number", "start"))
        version = BudgetVersion.objects.get(budget=budget)
    assert periods[0] == (1, date(2026, 1, 1)) and periods[-1] == (12, date(2026, 12, 1)) and len(periods) == 12
    assert (version.kind, version.number, version.status, version.parent_id) == ("original", 1, "draft", None)
    assert (budget.entity_id, budget.fiscal_year, budget.created_by) == (books.usd.pk, 2026, users["finance"])
    [event] = audits(books.org, "budget.create")
    assert event.after == {"name": "Plan 2026", "entity": "US", "fiscal_year": 2026, "version": 1}


def test_a_budget_name_is_unique_in_the_organisation_whatever_its_case(books, budget):
    with pytest.raises(DomainError, match="A budget named “plan 2026” exists already"):
        services.budget_create(tenant=books.org, actor=None, entity=books.gbp, fiscal_year=2027, name="plan 2026")


def test_a_fiscal_year_starting_in_april_gets_april_to_march_periods(books):
    books.org.fiscal_year_start_month = 4
    books.org.save()
    budget = services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2027, name="FY27")
    starts = [p.start for p in budget_periods(tenant=books.org, budget=budget)]
    assert (starts[0], starts[-1], len(starts)) == (date(2026, 4, 1), date(2027, 3, 1), 12)


def test_another_organisations_entity_is_unknown(books, other_books):
    with pytest.raises(DomainError, match="Unknown entity"):
        services.budget_create(tenant=books.org, actor=None, entity=other_books.usd, fiscal_year=2026, name="X")


# --- cells --------------------------------------------------------------------------------------

def test_setting_cells_creates_updates_and_removes_them_in_natural_sign(books, users, draft, periods):
    jan, feb = periods[0], periods[1]
    first = services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft, cells=[
        (books.revenue, None, jan, D("1000.00")), (books.rent, books.ops, jan, D("250.50")),
        (books.rent, books.ops, feb, D("250.50"))])
    second = services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft, cells=[
        Cell(books.revenue, None, jan, D("1200")), Cell(books.rent, books.ops, jan, D("250.50")),
        Cell(books.rent, books.ops, feb, None)])

    assert (first.created, first.updated, first.deleted, first.unchanged) == (3, 0, 0, 0)
    assert (second.created, second.updated, second.deleted, second.unchanged) == (0, 1, 1, 1)
    assert cells_of(books.org, draft) == {("4000", None, "2026-01"): D("1200.0000"),
                                          ("6100", "OPS", "2026-01"): D("250.5000")}
    events = audits(books.org, "budget.lines_set")
    assert [(e.before, e.after) for e in events] == [
        ({"cells": {}}, {"cells": {"4000||2026-01": "1000.00", "6100|OPS|2026-01": "250.50",
                                   "6100|OPS|2026-02": "250.50"}}),
        ({"cells": {"4000||2026-01": "1000.00", "6100|OPS|2026-02": "250.50"}},
         {"cells": {"4000||2026-01": "1200.00", "6100|OPS|2026-02": None}}),
    ]
    assert events[0].actor == users["finance"]


def test_one_bad_cell_saves_nothing_and_every_problem_is_named(books, draft, periods, other_books):
    next_year = period_ensure(tenant=books.org, d=date(2027, 1, 1))
    with pytest.raises(DomainError) as caught:
        services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
            (books.rent, None, periods[0], D("10.00")),
            (books.cash, None, periods[0], D("10")),
            (books.rent, None, next_year, D("10")),
            (books.software, None, periods[0], D("10.001")),
            (books.software, books.ops, periods[0], "ten"),
            (other_books.rent, None, periods[0], D("1")),
            (books.rent, None, periods[0], D("11")),
        ])
    assert caught.value.errors == [
        "1000 · Cash is an asset account: budgets hold revenue and expense accounts.",
        "6100 · Rent: the period is not a month of FY2026.",
        "6200 · Software / 2026-01: the amount has more decimals than USD allows (2).",
        "6200 · Software / OPS / 2026-01: the amount “ten” is not a number.",
        f"Unknown account id {other_books.rent.pk}.",
        "6100 · Rent / 2026-01 is given twice.",
    ]
    assert caught.value.message.startswith("6 cells cannot be saved: 1000 · Cash is an asset account")
    assert cells_of(books.org, draft) == {}


def test_submitted_approved_and_locked_versions_refuse_changes(books, users, draft, periods):
    cell = [(books.rent, None, periods[0], D("100"))]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=cell)
    services.version_submit(tenant=books.org, actor=None, version=draft)
    with pytest.raises(DomainError, match="submitted for approval"):
        services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=cell)
    services.version_approve(tenant=books.org, actor=users["finance"], version=draft)
    with pytest.raises(DomainError) as caught:
        services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
            (books.rent, None, periods[0], D("999"))])
    assert caught.value.message == ("Plan 2026 v1 is approved: approved and locked budgets are read-only; "
                                    "changing one means a new revision.")
    services.version_lock(tenant=books.org, actor=users["finance"], version=draft)
    with pytest.raises(DomainError, match="v1 is locked: approved and locked budgets are read-only"):
        services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.rent,
                                    cost_center=None, method="even", annual=D("1200"))
    assert cells_of(books.org, draft) == {("6100", None, "2026-01"): D("100.0000")}


# --- spreading ----------------------------------------------------------------------------------

def test_an_even_spread_puts_the_rounding_difference_on_december(books, draft):
    services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.rent,
                                cost_center=books.ops, method="even", annual=D("100.00"))
    cells = cells_of(books.org, draft)
    assert [cells[("6100", "OPS", f"2026-{m:02d}")] for m in range(1, 13)] == [D("8.33")] * 11 + [D("8.37")]
    [event] = audits(books.org, "budget.lines_spread")
    assert event.after["method"] == "even" and event.after["cells"]["6100|OPS|2026-12"] == "8.37"


def test_spreading_by_last_years_actuals_follows_their_monthly_pattern(books, draft):
    for day, amount in ((date(2025, 1, 15), D("-300")), (date(2025, 2, 15), D("-100")), (date(2025, 3, 15), D("100"))):
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=day, lines=[
            LineSpec(books.cash.pk, -amount), LineSpec(books.revenue.pk, amount)])
    result = services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.revenue,
                                         cost_center=None, method="last_year", annual=D("1000"))
    cells = cells_of(books.org, draft)
    # Revenue is credit-normal: -300 in the ledger is 300 of revenue; March's reversal counts as 0.
    assert [cells[("4000", None, f"2026-{m:02d}")] for m in range(1, 4)] == [D("750.00"), D("250.00"), D("0.00")]
    assert result.note == "" and result.created == 12


def test_spreading_by_last_year_without_actuals_spreads_evenly_and_says_so(books, draft):
    result = services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.software,
                                         cost_center=None, method="last_year", annual=D("120"))
    assert result.note == "FY2025 has no positive actuals on this line: spread evenly."
    assert set(cells_of(books.org, draft).values()) == {D("10.00")}


def test_copying_last_year_plus_ten_percent_and_filling_right(books, draft):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2025, 6, 1), lines=[
        LineSpec(books.rent.pk, D("1000.00"), books.ops.pk), LineSpec(books.cash.pk, D("-1000.00"))])
    services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.rent,
                                cost_center=books.ops, method="copy_last_year", pct=D("10"))
    cells = cells_of(books.org, draft)
    assert cells[("6100", "OPS", "2026-06")] == D("1100.00") and sum(cells.values()) == D("1100.00")
    services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.rent,
                                cost_center=books.ops, method="fill_right", start=6)
    cells = cells_of(books.org, draft)
    assert [cells[("6100", "OPS", f"2026-{m:02d}")] for m in (5, 6, 7, 12)] == [D("0"), D("1100"), D("1100"), D("1100")]
    assert sum(cells.values()) == D("7700.00")


def test_a_profile_that_does_not_add_up_to_100_is_refused(books, draft):
    with pytest.raises(DomainError, match="The profile adds up to 96 %, not 100 %."):
        services.budget_line_spread(tenant=books.org, actor=None, version=draft, account=books.rent,
                                    cost_center=None, method="profile", annual=D("1200"), profile=[8] * 12)


# --- the version's life -------------------------------------------------------------------------

def test_a_version_goes_draft_submitted_rejected_draft_submitted_approved_locked(books, users, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 1)])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    with pytest.raises(DomainError, match="Say why the version is rejected"):
        services.version_reject(tenant=books.org, actor=users["admin"], version=draft, comment="  ")
    rejected = services.version_reject(tenant=books.org, actor=users["admin"], version=draft, comment="Rent is 2x")
    assert (rejected.status, rejected.rejection_comment) == ("rejected", "Rent is 2x")
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 2)])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    approved = services.version_approve(tenant=books.org, actor=users["admin"], version=draft)
    assert (approved.status, approved.approved_by, approved.rejection_comment) == ("approved", users["admin"], "")
    locked = services.version_lock(tenant=books.org, actor=users["admin"], version=draft)
    assert locked.status == "locked" and locked.locked_at is not None
    trail = [(e.action, e.before, e.after) for e in audits(books.org, "budget.version_submit")
             + audits(books.org, "budget.version_reject") + audits(books.org, "budget.version_approve")
             + audits(books.org, "budget.version_lock")]
    assert trail == [
        ("budget.version_submit", {"status": "draft"}, {"status": "submitted"}),
        ("budget.version_submit", {"status": "rejected"}, {"status": "submitted"}),
        ("budget.version_reject", {"status": "submitted"}, {"status": "rejected", "comment": "Rent is 2x"}),
        ("budget.version_approve", {"status": "submitted"}, {"status": "approved"}),
        ("budget.version_lock", {"status": "approved"}, {"status": "locked"}),
    ]


@pytest.mark.parametrize("step, message", [
    ("approve", "Only a submitted version can be approved; Plan 2026 v1 is draft."),
    ("lock", "Only an approved version can be locked; Plan 2026 v1 is draft."),
])
def test_wrong_transitions_are_refused_in_words(books, draft, periods, step, message):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 1)])
    with pytest.raises(DomainError) as caught:
        getattr(services, f"version_{step}")(tenant=books.org, actor=None, version=draft)
    assert caught.value.message == message


def test_an_empty_version_cannot_be_submitted(books, draft):
    with pytest.raises(DomainError, match="nothing to submit"):
        services.version_submit(tenant=books.org, actor=None, version=draft)


# --- revisions and the diff ---------------------------------------------------------------------

def test_a_revision_copies_the_approved_lines_and_the_diff_lists_exactly_what_changed(books, users, draft, periods):
    jan, feb, mar = periods[:3]
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, jan, D("100")), (books.rent, books.ops, feb, D("100")),
        (books.revenue, None, jan, D("500")), (books.software, books.sales, mar, D("40"))])
    approve(books, users, draft)
    with pytest.raises(DomainError, match="Only an approved or locked version can be revised"):
        services.version_revise(tenant=books.org, actor=None, version=services.version_revise(
            tenant=books.org, actor=users["finance"], version=draft))
    with tenant_context(books.org):
        revision = BudgetVersion.objects.get(number=2)
    assert (revision.kind, revision.parent_id, revision.status) == (VersionKind.REVISION, draft.pk, "draft")
    assert cells_of(books.org, revision) == cells_of(books.org, draft)
    services.budget_lines_set(tenant=books.org, actor=None, version=revision, cells=[
        (books.rent, books.ops, jan, D("120")), (books.revenue, None, jan, None),
        (books.software, None, feb, D("15.25")), (books.software, books.sales, mar, D("40"))])

    diff = version_diff(tenant=books.org, old=draft, new=revision)
    assert diff == [
        DiffRow(books.revenue.pk, "4000", "Subscription revenue", None, "", jan.pk, date(2026, 1, 1),
                D("500.0000"), D("0"), D("-500.0000")),
        DiffRow(books.rent.pk, "6100", "Rent", books.ops.pk, "OPS", jan.pk, date(2026, 1, 1),
                D("100.0000"), D("120.0000"), D("20.0000")),
        DiffRow(books.software.pk, "6200", "Software", None, "", feb.pk, date(2026, 2, 1),
                D("0"), D("15.2500"), D("15.2500")),
    ]
    [event] = audits(books.org, "budget.version_revise")
    assert event.after == {"kind": "revision", "number": 2, "parent": 1, "lines": 4}
    with pytest.raises(DomainError, match="v2 is still draft: finish it"):
        services.version_revise(tenant=books.org, actor=None, version=draft)


def test_versions_of_different_budgets_cannot_be_diffed(books, draft):
    other = services.budget_create(tenant=books.org, actor=None, entity=books.usd, fiscal_year=2026, name="B")
    with tenant_context(books.org):
        other_version = BudgetVersion.objects.get(budget=other)
    with pytest.raises(DomainError, match="Only versions of the same budget can be compared."):
        version_diff(tenant=books.org, old=draft, new=other_version)


def test_a_budget_row_cannot_point_at_another_tenants_account_even_bypassing_the_service(
        books, other_books, draft, periods):
    from django.db import IntegrityError, connection

    with pytest.raises(IntegrityError, match="budgetline_account_fk"), tenant_context(books.org):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO budgets_budgetline (tenant_id, version_id, account_id, cost_center_id, "
                           "period_id, amount) VALUES (%s, %s, %s, NULL, %s, 1)",
                           [books.org.pk, draft.pk, other_books.rent.pk, periods[0].pk])


def test_another_tenant_sees_no_budget_rows(books, other_books, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 1)])
    from django.db import connection

    with tenant_context(other_books.org), connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM budgets_budget), (SELECT count(*) FROM budgets_budgetversion), "
                       "(SELECT count(*) FROM budgets_budgetline)")
        assert cursor.fetchone() == (0, 0, 0)
    with tenant_context(books.org):
        assert (Budget.objects.count(), BudgetLine.objects.count()) == (1, 1)
    assert VersionStatus.DRAFT == draft.status


def test_the_submitter_does_not_approve_their_own_version_while_another_approver_exists(books, users, draft, periods):
    from finops.tenancy.models import Membership

    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[(books.rent, None, periods[0], 1)])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    with pytest.raises(DomainError, match=r"^You submitted Plan 2026 v1: another finance or admin member approves "
                                          r"it \(segregation of duties\)\.$"):
        services.version_approve(tenant=books.org, actor=users["finance"], version=draft)
    # a one-person finance team (the admin gone) approves its own budget; the audit shows who did both
    with tenant_context(books.org):
        Membership.objects.filter(organization=books.org, user=users["admin"]).delete()
    approved = services.version_approve(tenant=books.org, actor=users["finance"], version=draft)
    assert (approved.status, approved.submitted_by, approved.approved_by) == (
        "approved", users["finance"], users["finance"])
