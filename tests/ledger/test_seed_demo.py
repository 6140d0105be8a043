"""The demo data: two organisations with balanced, realistic and reproducible books."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from finops.demo import orgs as demo
from finops.demo import volume
from finops.ledger.models import Account, CostCenter, Entity, FxRate, JournalEntry, JournalLine, Period
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership, Organization

TODAY = date(2026, 11, 27)


class Rollback(Exception):
    pass



def books_snapshot(slug: str) -> dict:
    """Every period balance by codes (ids differ between runs), and every entry key with its lines."""
    org = Organization.objects.get(slug=slug)
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.code, a.code, coalesce(c.code, ''), p.start, b.amount, b.line_count
            FROM ledger_periodbalance b JOIN ledger_entity e ON e.id = b.entity_id
            JOIN ledger_account a ON a.id = b.account_id JOIN ledger_period p ON p.id = b.period_id
            LEFT JOIN ledger_costcenter c ON c.id = b.cost_center_id
            """
        )
        balances = {row[:4]: row[4:] for row in cursor.fetchall()}
        cursor.execute(
            """
            SELECT j.idempotency_key, j.date, j.memo, l.line_no, a.code, l.amount, l.txn_amount, l.txn_currency, l.rate
            FROM ledger_journalentry j JOIN ledger_journalline l ON l.entry_id = j.id
            JOIN ledger_account a ON a.id = l.account_id
            """
        )
        lines = sorted(cursor.fetchall())
    return {"balances": balances, "lines": lines}


def seed_and_snapshot(seed: int, months: int = 3) -> dict:
    """Seed in a savepoint, read everything, roll back: each call starts from fresh organisations."""
    snapshot = {}
    with pytest.raises(Rollback), transaction.atomic():
        demo.demo_seed(seed=seed, today=TODAY, months=months)
        snapshot = {slug: books_snapshot(slug) for slug in demo.ORG_SPECS}
        raise Rollback
    assert not Organization.objects.filter(slug__in=list(demo.ORG_SPECS)).exists()
    return snapshot


def test_seeding_creates_both_organisations_with_a_member_per_role_and_a_full_chart(db):
    results = demo.demo_seed(today=TODAY, months=3)

    assert [(r.slug, r.created) for r in results] == [("acme", True), ("globex", True)]
    acme, globex = Organization.objects.get(slug="acme"), Organization.objects.get(slug="globex")
    assert (acme.name, str(acme.reporting_currency), acme.fiscal_year_start_month) == ("Acme Corp", "USD", 1)
    assert (globex.name, str(globex.reporting_currency), globex.fiscal_year_start_month) == ("Globex Ltd", "GBP", 4)
    with tenant_context(acme):
        roles = sorted(Membership.objects.filter(organization=acme).values_list("user__email", "role"))
    assert roles == [("admin@acme.example", "admin"), ("director@acme.example", "director"),
                     ("finance@acme.example", "finance"), ("viewer@acme.example", "viewer")]
    assert get_user_model().objects.get(email="viewer@globex.example").check_password("finops-demo")
    for org in (acme, globex):
        with tenant_context(org):
            assert sorted(Entity.objects.values_list("functional_currency", flat=True)) == ["EUR", "GBP", "USD"]
            assert Account.objects.count() == 69
            assert Account.objects.filter(parent=None).count() == 14  # summary accounts
            assert sorted(Account.objects.filter(is_intercompany=True).values_list("code", flat=True)) == [
                "1300", "2200", "4080", "7380"]
            assert CostCenter.objects.count() == 12
            assert sorted(CostCenter.objects.exclude(owner=None).values_list("code", "owner__email")) == [
                ("GTM", f"director@{org.slug}.example"), ("RND", f"director@{org.slug}.example")]
            # 3 months × 3 pairs × (average, closing)
            assert FxRate.objects.count() == 18
            assert JournalEntry.objects.count() == results[0 if org == acme else 1].entries


def test_every_entry_balances_and_each_entity_trial_balance_is_zero(db):
    demo.demo_seed(today=TODAY, months=24)
    for org in Organization.objects.filter(slug__in=["acme", "globex"]):
        with tenant_context(org), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT entry_id FROM ledger_journalline"
                           " GROUP BY entry_id HAVING sum(amount) <> 0 OR count(*) < 2) unbalanced")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT entity_id, sum(amount) FROM ledger_periodbalance GROUP BY entity_id")
            assert {total for _, total in cursor.fetchall()} == {Decimal("0")}
            # Rounded to the cent; every line in its entity's currency or a stated foreign one.
            cursor.execute("SELECT count(*) FROM ledger_journalline WHERE amount <> round(amount, 2)"
                           " OR txn_amount <> round(txn_amount, 2)")
            assert cursor.fetchone() == (0,)
            assert JournalEntry.objects.filter(date__gt=TODAY).count() == 0
            assert JournalEntry.objects.filter(date__lt=date(2024, 12, 1)).count() == 0
            assert JournalEntry.objects.filter(memo="").count() == 0
            months = set(JournalEntry.objects.dates("date", "month"))
            assert len(months) == 24 and min(months) == date(2024, 12, 1) and max(months) == date(2026, 11, 1)


def test_the_balance_sheet_makes_sense_after_two_years(db):
    demo.demo_seed(today=TODAY, months=24, slugs=["acme"])
    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme), connection.cursor() as cursor:
        cursor.execute(
            """SELECT e.code, a.code, sum(b.amount) FROM ledger_periodbalance b
               JOIN ledger_entity e ON e.id = b.entity_id JOIN ledger_account a ON a.id = b.account_id
               GROUP BY 1, 2"""
        )
        balance = {(entity, account): amount for entity, account, amount in cursor.fetchall()}
        for entity in ("US", "UK", "DE"):
            assert balance[entity, "1010"] > 0  # cash
            assert balance[entity, "1100"] > 0  # receivables
            assert balance[entity, "2010"] < 0  # payables are a credit
            assert balance[entity, "1020"] == 0  # the payroll account is funded to the cent
            assert balance[entity, "2030"] == 0  # commissions accrued are paid
        # The parent's intercompany receivable is the subsidiaries' fees of the quarter not yet settled.
        assert balance["US", "1300"] > 0 and ("US", "2200") not in balance
        cursor.execute(
            """SELECT p.start, -sum(b.amount) FROM ledger_periodbalance b JOIN ledger_account a ON a.id = b.account_id
               JOIN ledger_period p ON p.id = b.period_id JOIN ledger_entity e ON e.id = b.entity_id
               WHERE a.code IN ('4010', '4020', '4030') AND e.code = 'US' GROUP BY 1 ORDER BY 1"""
        )
        revenue = dict(cursor.fetchall())
    # Growth of ~2.5 % a month and a Q4 peak: December beats the January after it, and a year later is higher.
    assert revenue[date(2025, 12, 1)] > revenue[date(2026, 1, 1)]
    assert revenue[date(2026, 10, 1)] > revenue[date(2025, 10, 1)] * Decimal("1.2")


def test_the_same_seed_gives_identical_books_and_another_seed_different_ones(db):
    first = seed_and_snapshot(42)
    second = seed_and_snapshot(42)
    other = seed_and_snapshot(7)

    assert first == second
    assert len(first["acme"]["lines"]) > 1000
    assert first["acme"]["balances"] != other["acme"]["balances"]


def test_a_second_run_adds_nothing(db):
    demo.demo_seed(today=TODAY, months=3)
    before = {slug: books_snapshot(slug) for slug in demo.ORG_SPECS}
    users = get_user_model().objects.count()

    again = demo.demo_seed(today=TODAY, months=3)

    assert [(r.created, r.entries, r.lines) for r in again] == [(False, 0, 0), (False, 0, 0)]
    assert {slug: books_snapshot(slug) for slug in demo.ORG_SPECS} == before
    assert get_user_model().objects.count() == users
    with tenant_context(Organization.objects.get(slug="acme")):
        assert FxRate.objects.count() == 18


def test_globex_periods_follow_its_april_fiscal_year(db):
    demo.demo_seed(today=TODAY, months=3, slugs=["globex"])
    with tenant_context(Organization.objects.get(slug="globex")):
        november = Period.objects.get(start=date(2026, 11, 1))
        assert (november.fiscal_year, november.number) == (2027, 8)


def test_the_command_seeds_and_scale_adds_exactly_the_lines_asked_for_in_whole_entries(db):
    out = io.StringIO()
    call_command("seed_demo", "--months", "2", "--today", "2026-11-27", "--scale", "1001", "--chunk", "300", stdout=out)

    text = out.getvalue()
    assert "acme: created" in text and "globex: created" in text
    assert "logins: admin@acme.example" in text and "password finops-demo" in text
    assert "acme: added 1,001 lines in" in text
    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme), connection.cursor() as cursor:
        synthetic = JournalLine.objects.filter(entry__idempotency_key__startswith="demo:scale:42:1001:")
        assert synthetic.count() == 1001
        # Chunks of 300, 300, 300 and 101 lines: four statements, each of whole entries.
        assert synthetic.values("entry__idempotency_key").distinct().count() == JournalEntry.objects.filter(
            idempotency_key__startswith="demo:scale:").count()
        cursor.execute("SELECT count(*) FROM (SELECT entry_id FROM ledger_journalline"
                       " GROUP BY entry_id HAVING sum(amount) <> 0) unbalanced")
        assert cursor.fetchone() == (0,)
        assert synthetic.filter(date__lt=date(2026, 10, 1)).count() == 0
        assert synthetic.filter(date__gt=TODAY).count() == 0

    out = io.StringIO()
    call_command("seed_demo", "--months", "2", "--today", "2026-11-27", "--scale", "1001", "--chunk", "300", stdout=out)
    assert "acme: exists, nothing to add." in out.getvalue()
    assert "4 chunk(s) were written by an earlier run: skipped." in out.getvalue()
    with tenant_context(acme):
        assert JournalLine.objects.filter(entry__idempotency_key__startswith="demo:scale:").count() == 1001


def test_a_wide_organisation_for_load_tests_gets_its_chart_and_lines_and_no_demo_orgs(db):
    call_command("seed_demo", "--org", "load-1", "--accounts", "50", "--cost-centers", "12", "--scale", "400",
                 "--months", "3", "--today", "2026-11-27", stdout=io.StringIO())

    org = Organization.objects.get(slug="load-1")
    assert not Organization.objects.filter(slug__in=["acme", "globex"]).exists()
    with tenant_context(org):
        assert Account.objects.count() == 50
        assert CostCenter.objects.filter(parent__isnull=False).count() == 12  # teams, under 2 divisions
        assert CostCenter.objects.filter(parent=None).count() == 2
        assert JournalLine.objects.count() == 400
        assert JournalLine.objects.exclude(cost_center=None).values("cost_center").distinct().count() == 12


@pytest.mark.parametrize("args, message", [
    (["--scale", "1"], "--scale needs at least 2 lines"),
    (["--months", "0"], "--months must be between 1 and 120"),
    (["--org", "nobody", "--scale", "10"], "No organisation 'nobody'"),
    (["--accounts", "300", "--scale", "10"], "name it with --org, not 'acme'"),
    (["--org", "load-3", "--accounts", "-1"], "must not be negative"),
])
def test_the_command_refuses_bad_options_with_a_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=io.StringIO())
    assert not Organization.objects.exists()


def test_gl_csv_rows_give_the_exact_line_count_in_balanced_entries(db):
    org = volume.wide_org_create(slug="load-2", accounts=20, cost_centers=5)
    rows = list(volume.gl_csv_rows(org=org, lines=1000, months=2, today=TODAY))

    assert rows[0] == ["date", "entry_ref", "entity", "account", "cost_center", "amount", "currency", "memo"]
    assert len(rows) == 1001
    totals = defaultdict(Decimal)
    for row in csv.reader(io.StringIO("\n".join(",".join(r) for r in rows[1:]))):
        totals[row[1]] += Decimal(row[5])
    assert set(totals.values()) == {Decimal("0")}
    assert rows[1:] == list(volume.gl_csv_rows(org=org, lines=1000, months=2, today=TODAY))[1:]


def test_a_run_in_a_later_month_appends_the_months_since_and_they_follow_on(db):
    demo.demo_seed(today=TODAY, months=3, slugs=["acme"])
    later = demo.demo_seed(today=date(2027, 1, 31), months=3, slugs=["acme"])[0]

    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme), connection.cursor() as cursor:
        added = JournalEntry.objects.order_by("-id")[:later.entries]
        assert later.entries > 0 and min(e.date for e in added) > TODAY
        # December's supplier payment run pays exactly what November billed to accounts payable.
        cursor.execute(
            """SELECT sum(l.amount) FILTER (WHERE j.idempotency_key LIKE 'demo:US:2026-11:%%'),
                      sum(l.amount) FILTER (WHERE j.idempotency_key = 'demo:US:2026-12:ap-run')
               FROM ledger_journalline l JOIN ledger_journalentry j ON j.id = l.entry_id
               JOIN ledger_account a ON a.id = l.account_id
               WHERE a.code = '2010' AND (l.amount < 0 OR j.idempotency_key = 'demo:US:2026-12:ap-run')"""
        )
        billed, paid = cursor.fetchone()
        assert billed < 0 and paid == -billed
        cursor.execute("SELECT a.code, sum(b.amount) FROM ledger_periodbalance b"
                       " JOIN ledger_account a ON a.id = b.account_id WHERE a.code IN ('1020', '2030') GROUP BY 1")
        assert dict(cursor.fetchall()) == {"1020": Decimal("0"), "2030": Decimal("0")}
