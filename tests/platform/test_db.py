"""Statistics after bulk writes: `finops.db.analyze` runs ANALYZE through `finops_analyze()`, a
SECURITY DEFINER function, so it works for a runtime role that does not own the tables."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from budgets import services as budgets
from budgets.importers import budget_import
from finops import db as finops_db
from finops.ledger import services as ledger
from finops.ledger.importers import gl_import
from finops.ledger.models import FxRate, JournalEntry, JournalLine
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

CSV = (b"date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
       b"2026-03-05,INV-1,US,6100,OPS,1200.00,,March rent\n"
       b"2026-03-05,INV-1,US,2000,,-1200.00,,March rent\n"
       b"2026-04-20,INV-2,US,6200,SALES,300.50,,Licences\n"
       b"2026-04-20,INV-2,US,6200,OPS,99.50,,Licences\n"
       b"2026-04-20,INV-2,US,2000,,-400.00,,Licences\n")


def statistics(*tables: str) -> dict[str, float]:
    """{table: pg_class.reltuples}: the row count the last ANALYZE found (INSERTs do not change
    it; -1 before the first). ANALYZE writes it in place, outside transactions: a test sets its
    own starting point with `baseline`, as a rolled-back test may have left any value. (pg_stats
    would hide tables under row-level security.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [list(tables)])
        return dict(cursor.fetchall())


LEDGER = ("ledger_journalentry", "ledger_journalline", "ledger_periodbalance", "ledger_period")


def baseline(*tables: str) -> None:
    """The tables analysed as they are now (empty): from here on, autovacuum's rule asks for more
    than 50 changed rows (+ 10 % of the table) before they are analysed again."""
    finops_db.analyze(*tables)
    assert set(statistics(*tables).values()) == {0}


def gl_csv(entries: int) -> bytes:
    """`entries` entries of two lines each, every one on its own cost center and month pair."""
    rows = ["date,entry_ref,entity,account,cost_center,amount,currency,memo"]
    for n in range(1, entries + 1):
        rows += [f"2026-{n % 2 + 3:02d}-05,E-{n},US,{6100 if n % 3 else 6200},{'OPS' if n % 5 else 'SALES'},{n}.00,,",
                 f"2026-{n % 2 + 3:02d}-05,E-{n},US,2000,,-{n}.00,,"]
    return ("\n".join(rows) + "\n").encode()


def test_a_gl_import_leaves_statistics_of_every_table_it_loaded(books, django_capture_on_commit_callbacks):
    baseline(*LEDGER)
    with django_capture_on_commit_callbacks(execute=True):
        result = gl_import(tenant=books.org, actor=None, data=gl_csv(30), filename="actuals.csv")

    assert result.created == 30
    # 30 entries of 2 lines; balances: 6100/OPS, 6100/SALES, 6200/OPS, 6200/SALES and 2000 in
    # March and in April; the fiscal year's 12 periods.
    assert statistics(*LEDGER) == {"ledger_journalentry": 30, "ledger_journalline": 60, "ledger_periodbalance": 10,
                                   "ledger_period": 12}


def test_a_small_write_into_an_analysed_table_does_not_analyse_it_again_and_a_large_one_does(db):
    finops_db.analyze(JournalLine)  # empty: 0 tuples, analysed

    assert finops_db.analyze_if_stale(JournalLine, rows=50) == []  # autovacuum's rule: 50 + 10 % of the table
    assert finops_db.analyze_if_stale(JournalLine, rows=51) == ["ledger_journalline"]


def test_the_budget_import_and_a_revision_analyse_the_budget_lines(books, django_capture_on_commit_callbacks):
    combos = ["4000,", "6100,OPS", "6100,SALES", "6200,OPS", "6200,SALES"]
    lines = [f"US,{combo},2026-{m:02d},{m}00.00" for combo in combos for m in range(1, 13)]
    baseline("budgets_budgetline")
    with django_capture_on_commit_callbacks(execute=True):
        result = budget_import(tenant=books.org, actor=None, filename="plan.csv", budget_name="Plan 2026",
                               data=("entity,account,cost_center,period,amount\n" + "\n".join(lines) + "\n").encode())
    assert statistics("budgets_budgetline") == {"budgets_budgetline": 60}

    version = result.version
    for step in (budgets.version_submit, budgets.version_approve):
        version = step(tenant=books.org, actor=None, version=version)
    with django_capture_on_commit_callbacks(execute=True):
        budgets.version_revise(tenant=books.org, actor=None, version=version)  # copies the 60 lines

    assert statistics("budgets_budgetline") == {"budgets_budgetline": 120}


def test_the_demo_data_is_analysed_as_it_is_loaded(db, settings):
    from finops.demo import orgs as demo

    settings.DEMO_SEEDERS = []  # the ledger's own demo data only
    baseline("ledger_journalentry", "ledger_journalline")

    demo.demo_seed(today=demo.ANCHOR, months=2, slugs=["acme"])

    with tenant_context(Organization.objects.get(slug="acme")):
        entries, lines = JournalEntry.objects.count(), JournalLine.objects.count()
    assert statistics("ledger_journalentry", "ledger_journalline") == {
        "ledger_journalentry": entries, "ledger_journalline": lines}


def test_finops_analyze_refuses_a_table_outside_the_public_schema(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE scratch (x int)")
        with pytest.raises(DatabaseError, match="is not a table of the public schema"):
            cursor.execute("SELECT finops_analyze(ARRAY['scratch']::regclass[])")


@pytest.mark.django_db(transaction=True)
def test_a_role_that_does_not_own_the_tables_analyses_them_through_the_function(books):
    """The runtime role will not own the tables: a plain ANALYZE of theirs is skipped (PostgreSQL
    < 17 only warns), the function's is not. Needs the administrative DATABASE_URL role."""
    settings_dict = connection.settings_dict
    admin_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/finops"
    role = f"finops_test_not_owner_{os.getpid()}"
    try:
        admin = psycopg.connect(admin_url, dbname=settings_dict["NAME"], autocommit=True)
    except psycopg.Error as exc:
        pytest.skip(f"no administrative connection: {exc}")
    with admin:
        if not admin.execute("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            pytest.skip("the DATABASE_URL role cannot create roles")
        admin.execute(f"CREATE ROLE {role} NOLOGIN")
        try:
            admin.execute(f"GRANT {role} TO current_user")  # to SET ROLE to it below
            admin.execute(f"SET ROLE {role}")
            notices = []
            admin.add_notice_handler(lambda diag: notices.append(diag.message_primary))
            before = admin.execute("SELECT clock_timestamp()").fetchone()[0]

            admin.execute("ANALYZE ledger_fxrate")

            assert len(notices) == 1 and "skipping" in notices[0] and "ledger_fxrate" in notices[0]
            last = last_analyze(admin, "ledger_fxrate")
            assert last is None or last < before
            before = admin.execute("SELECT clock_timestamp()").fetchone()[0]

            admin.execute("SELECT finops_analyze(ARRAY['ledger_fxrate']::regclass[])")

            assert last_analyze(admin, "ledger_fxrate") >= before
            assert statistics("ledger_fxrate") == {"ledger_fxrate": 2}  # the books' two rates
        finally:
            admin.execute("RESET ROLE")
            admin.execute(f"DROP ROLE {role}")


def last_analyze(conn, table: str):
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT pg_stat_get_last_analyze_time(%s::regclass)", [table]).fetchone()[0]


def test_writes_in_one_transaction_are_analysed_once_after_the_commit_with_their_rows_added_up(
        books, django_capture_on_commit_callbacks):
    finops_db.analyze(FxRate)  # the 2 rates of the books; stale after 50 + 10 % × 2 changed rows
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            finops_db.analyze_on_commit(FxRate, rows=1000)
            raise ZeroDivisionError  # rolled back, and its callback with it
        for currency in ("CHF", "CAD", "SEK"):
            ledger.fx_rate_set(tenant=books.org, actor=None, date=date(2026, 3, 1), from_currency=currency,
                               to_currency="USD", rate=Decimal("1.09"))
        finops_db.analyze_on_commit(FxRate, rows=30)
        finops_db.analyze_on_commit("ledger_fxrate", rows=30)  # 30 + 30 > 50.2; either alone is not
        assert statistics("ledger_fxrate") == {"ledger_fxrate": 2}

    assert [c.__qualname__ for c in callbacks] == ["AnalyzeBatch.run"]
    assert statistics("ledger_fxrate") == {"ledger_fxrate": 5}
