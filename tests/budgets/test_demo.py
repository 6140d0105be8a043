"""The demo budgets: what `seed_demo` shows under Budgets, through the `DEMO_SEEDERS` hook."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Sum

from budgets.models import (
    Alert,
    AlertRule,
    AlertThreshold,
    Budget,
    BudgetLine,
    BudgetVersion,
    TransferRequest,
)
from budgets.reports import budget_vs_actual
from budgets.selectors import version_diff, version_in_force
from budgets.transfers.selectors import effective_amounts
from finops.audit.models import AuditEvent
from finops.demo import orgs as demo
from finops.notifications.models import Delivery, DeliveryStatus
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

TODAY = date(2026, 11, 27)  # acme's FY2026 (January–December); FY2025 is in the ledger in full


class Rollback(Exception):
    pass


def acme() -> Organization:
    return Organization.objects.get(slug="acme")


def seed(**kwargs) -> demo.SeedResult:
    return demo.demo_seed(**{"today": TODAY, "slugs": ["acme"], **kwargs})[0]


def budgets_snapshot(org) -> dict:
    """Everything the budget seeder writes, by codes and names (ids differ between runs)."""
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("""
            SELECT b.name, v.number, v.kind, v.status, a.code, coalesce(c.code, ''), p.start, l.amount
            FROM budgets_budgetline l JOIN budgets_budgetversion v ON v.id = l.version_id
            JOIN budgets_budget b ON b.id = v.budget_id JOIN ledger_account a ON a.id = l.account_id
            JOIN ledger_period p ON p.id = l.period_id LEFT JOIN ledger_costcenter c ON c.id = l.cost_center_id""")
        lines = sorted(cursor.fetchall())
        transfers = sorted(
            (t.version.budget.name, t.status, t.amount, t.source.account.code, t.destination.account.code,
             t.requested_by.email, t.decided_by.email if t.decided_by else "")
            for t in TransferRequest.objects.select_related("version__budget", "source__account",
                                                            "destination__account", "requested_by", "decided_by"))
        rules = sorted((r.name, r.basis, r.delivery, tuple(sorted(str(t) for t in r.thresholds.all())))
                       for r in AlertRule.objects.prefetch_related("thresholds"))
        alerts = sorted((a.rule.name, a.account.code, a.cost_center.code if a.cost_center else "", str(a.threshold),
                         a.actual, a.budget) for a in Alert.objects.select_related("rule", "account", "cost_center",
                                                                                  "threshold"))
    return {"lines": lines, "transfers": transfers, "rules": rules, "alerts": alerts}


def counts(org) -> dict[str, int]:
    with tenant_context(org):
        return {model.__name__: model.objects.count() for model in (
            Budget, BudgetVersion, BudgetLine, TransferRequest, AlertRule, AlertThreshold, Alert, Delivery,
            AuditEvent)}


def cost_items(org) -> int:
    from costs.models import CostItem

    with tenant_context(org):
        return CostItem.objects.count()


def planned_lines(org) -> int:
    """v1's lines as planned (a transfer to a cell the plan left empty adds a line at 0)."""
    with tenant_context(org):
        return BudgetLine.objects.filter(version__number=1).exclude(amount=0).count()


def test_seeding_twice_creates_nothing_new(db):
    first = seed()
    org = acme()
    after_first = counts(org)
    snapshot = budgets_snapshot(org)

    again = seed()

    assert counts(org) == after_first
    assert budgets_snapshot(org) == snapshot
    assert (again.entries, again.extras) == (0, [])  # `seed_demo` says "acme: exists, nothing to add."
    assert first.extras == [f"budgets: 6 added ({planned_lines(org):,} lines approved), "
                            f"2 transfer requests, 6 alert rules, {after_first['Alert']} alerts",
                            f"costs: {cost_items(org):,} cost items, 5 mapping rules"]
    # Three entities × (FY2025 approved and locked, FY2026 approved) + the parent's draft revision.
    assert after_first["Budget"] == 6
    assert after_first["BudgetVersion"] == 7
    assert after_first["TransferRequest"] == 2
    assert after_first["AlertRule"] == 6
    assert after_first["AlertThreshold"] == 9
    assert after_first["Alert"] > 0 and after_first["Delivery"] > 0
    with tenant_context(org):
        assert sorted(Budget.objects.values_list("name", "fiscal_year")) == [
            ("Operating plan FY2025 · DE", 2025), ("Operating plan FY2025 · UK", 2025),
            ("Operating plan FY2025 · US", 2025), ("Operating plan FY2026 · DE", 2026),
            ("Operating plan FY2026 · UK", 2026), ("Operating plan FY2026 · US", 2026)]
        assert sorted(BudgetVersion.objects.values_list("budget__fiscal_year", "number", "kind", "status")) == [
            *[(2025, 1, "original", "locked")] * 3, *[(2026, 1, "original", "approved")] * 3,
            (2026, 2, "revision", "draft")]
        assert BudgetVersion.objects.get(number=2).budget.name == "Operating plan FY2026 · US"
        assert sorted(TransferRequest.objects.values_list(
            "version__budget__name", "status", "requested_by__email", "decided_by__email")) == [
            ("Operating plan FY2026 · US", "approved", "director@acme.example", "finance@acme.example"),
            ("Operating plan FY2026 · US", "requested", "director@acme.example", None)]


def test_the_same_seed_gives_the_same_budgets(db):
    def seeded() -> dict:
        with pytest.raises(Rollback), transaction.atomic():
            seed()
            snapshot = budgets_snapshot(acme())
            raise Rollback
        return snapshot

    first, second = seeded(), seeded()

    assert first == second
    assert len(first["lines"]) > 3000 and first["alerts"]


def test_approved_versions_were_approved_by_someone_else_and_total_the_sum_of_their_lines(db):
    seed()
    org = acme()
    with tenant_context(org):
        approved = list(BudgetVersion.objects.filter(number=1).select_related(
            "budget__entity", "submitted_by", "approved_by"))
        assert len(approved) == 6
        for version in approved:
            assert (version.submitted_by.email, version.approved_by.email) == (
                "finance@acme.example", "admin@acme.example")
            by_type = dict(BudgetLine.objects.filter(version=version).values_list("account__type")
                           .annotate(total=Sum("amount")).values_list("account__type", "total"))
            report = budget_vs_actual(tenant=org, version=version, period=date(version.budget.fiscal_year, 12, 1),
                                      basis="full_year", as_of=TODAY)
            totals = {t.label: t.budget for t in report.totals}
            # Approved transfers move money between expense lines: the totals do not change.
            assert totals["Revenue"] == by_type["revenue"]
            assert totals["Expense"] == by_type["expense"]
            assert totals["Net result"] == by_type["revenue"] - by_type["expense"]
            assert sum(e.effective for e in effective_amounts(tenant=org, version=version).values()) == \
                by_type["revenue"] + by_type["expense"]


def test_budget_vs_actual_year_to_date_tells_a_story(db):
    seed()
    org = acme()
    with tenant_context(org):
        budget = Budget.objects.select_related("entity").get(name="Operating plan FY2026 · US")
    version = version_in_force(tenant=org, budget=budget)
    report = budget_vs_actual(tenant=org, version=version, period=TODAY, basis="ytd", as_of=TODAY)
    rows = {(r.account_code, r.cost_center_code): r for r in report.rows}

    # The cuts that did not happen: clearly over budget.
    for key in (("7020", "ENG"), ("7210", "SALES")):
        assert rows[key].has_budget and not rows[key].favourable and rows[key].variance_pct > 20
    # Recruiting was not budgeted, and was spent.
    recruiting = rows["6060", "PEOPLE"]
    assert not recruiting.has_budget and recruiting.budget == 0 and recruiting.actual > 0
    assert not recruiting.favourable and recruiting.variance_pct is None
    # Usage revenue grows slower than planned: a little behind; the rest of revenue is not.
    usage = rows["4030", "SALES"]
    assert not usage.favourable and Decimal(-15) < usage.variance_pct < Decimal(-3)
    revenue = next(t for t in report.totals if t.label == "Revenue")
    assert Decimal(-5) < revenue.variance_pct < Decimal(5)
    # Everything else is planned sensibly: most expense lines within 5 % of their budget.
    others = [r for key, r in rows.items() if r.account_type == "expense" and r.has_budget
              and key not in {("7020", "ENG"), ("7210", "SALES")}]
    assert sum(abs(r.variance_pct) < 5 for r in others) >= 0.8 * len(others)


def test_transfers_and_the_draft_revision_give_the_pages_something_to_show(db):
    seed()
    org = acme()
    with tenant_context(org):
        budget = Budget.objects.get(name="Operating plan FY2026 · US")
        v1, v2 = BudgetVersion.objects.filter(budget=budget).order_by("number")
        approved = TransferRequest.objects.get(version=v1, status="approved")
        pending = TransferRequest.objects.get(version=v1, status="requested")
        assert (pending.source.account.code, pending.destination.account.code) == ("6050", "7020")
    moved = {pk: e for pk, e in effective_amounts(tenant=org, version=v1).items() if e.effective != e.original}
    assert set(moved) == {approved.source_id, approved.destination_id}
    assert moved[approved.source_id].transfers_out == approved.amount
    assert moved[approved.destination_id].transfers_in == approved.amount

    diff = version_diff(tenant=org, old=v1, new=v2)
    changed = {(d.account_code, d.cost_center_code) for d in diff}
    # v2 starts from v1's effective amounts (the approved transfer), then re-forecasts.
    assert changed == {("7020", "ENG"), ("7210", "SALES"), ("4030", "SALES"), ("6060", "PEOPLE"), ("7110", "MKT"),
                       ("7120", "MKT")}
    assert all(d.period >= date(2026, 11, 1) for d in diff if d.account_code != "7110" and d.account_code != "7120")
    assert all(d.old == 0 and d.new > 0 for d in diff if d.account_code == "6060")


def test_alert_rules_are_evaluated_once_and_sent_after_commit_with_a_file_backend(
        db, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    org = acme()
    with tenant_context(org):
        names = sorted(AlertRule.objects.values_list("name", flat=True))
        assert names == [f"{rule} · {code} FY2026" for rule in ("Opex over budget", "Revenue behind plan")
                         for code in ("DE", "UK", "US")]
        opex = Alert.objects.filter(rule__name="Opex over budget · US FY2026")
        assert {(a.account.code, a.cost_center.code, str(a.threshold)) for a in opex} >= {
            ("7020", "ENG", "120 % of budget consumed"), ("7210", "SALES", "120 % of budget consumed")}
        assert Alert.objects.filter(rule__name__startswith="Revenue behind plan").exists()
        # Immediate alerts went out once the seeding committed; the revenue digest waits for its hour.
        def of_rules(delivery):
            return Delivery.objects.filter(ref__in=Alert.objects.filter(rule__delivery=delivery).values("pk"))

        assert of_rules("immediate").exists() and not of_rules("immediate").exclude(status=DeliveryStatus.SENT).exists()
        assert set(of_rules("digest").values_list("status", flat=True)) == {DeliveryStatus.PENDING}
        recipients = set(Delivery.objects.values_list("recipient", flat=True))
    assert recipients == {"finance@acme.example", "director@acme.example"}
    assert sorted(m.to[0] for m in mail.outbox) == ["director@acme.example", "finance@acme.example"]


def test_with_a_real_mail_server_nothing_is_sent_at_seed_time(db, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        seed()
    # Nothing that sends: only the statistics of what the transaction wrote (finops/db.py).
    assert [c.__qualname__ for c in callbacks] == ["AnalyzeBatch.run"] and mail.outbox == []
    with tenant_context(acme()):
        assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_a_run_in_the_next_fiscal_year_adds_its_budgets_and_rules(db):
    seed()
    before = counts(acme())

    later = seed(today=date(2027, 1, 31))

    org = acme()
    with tenant_context(org):
        new = Budget.objects.filter(fiscal_year=2027)
        assert sorted(new.values_list("name", flat=True)) == [
            "Operating plan FY2027 · DE", "Operating plan FY2027 · UK", "Operating plan FY2027 · US"]
        assert Budget.objects.count() == before["Budget"] + 3  # FY2026 exists: left as it is
        assert AlertRule.objects.filter(name__endswith="FY2027").count() == 6
        # FY2027's plan is built from FY2026's actuals, now complete.
        assert BudgetLine.objects.filter(version__budget__in=new, version__number=1).count() > 1000
    assert "3 added" in later.extras[0]


def test_without_a_full_year_of_actuals_there_are_no_budgets(db):
    result = seed(months=3)

    with tenant_context(acme()):
        assert not Budget.objects.exists() and not AlertRule.objects.exists()
    assert [e for e in result.extras if not e.startswith("costs: ")] == []  # costs need no actuals


def recording_seeder(org, *, users, today, seed):
    recording_seeder.calls.append((org.slug, sorted(users), today, seed))
    return "recorded: 1 thing"


recording_seeder.calls = []


def test_demo_seeders_are_called_for_each_organisation_and_say_what_they_added(db, settings):
    settings.DEMO_SEEDERS = ["tests.budgets.test_demo.recording_seeder"]
    recording_seeder.calls.clear()
    out = io.StringIO()

    call_command("seed_demo", "--months", "1", "--today", TODAY.isoformat(), "--seed", "7", stdout=out)

    roles = ["admin", "director", "finance", "viewer"]
    assert recording_seeder.calls == [("acme", roles, TODAY, 7), ("globex", roles, TODAY, 7)]
    assert out.getvalue().count("  recorded: 1 thing.") == 2
    with tenant_context(acme()):  # the budgets seeder is not called: the setting replaced it
        assert not Budget.objects.exists()
