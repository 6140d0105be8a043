"""Row-level security, checked as the application's own role (never a superuser)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from finops.ledger import services as ledger
from finops.ledger.models import Account
from finops.ledger.services import LineSpec
from finops.tenancy.context import TenantNotSet, tenant_context

TENANT_TABLES_SQL = """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE c.relkind IN ('r', 'p') ORDER BY c.relname
"""


def post_sale(books, amount="100.00"):
    return ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), memo="sale",
        lines=[LineSpec(books.cash.pk, Decimal(amount)), LineSpec(books.revenue.pk, -Decimal(amount), books.sales.pk)],
    ).entry


def test_the_tests_connect_as_a_role_that_is_neither_superuser_nor_bypassrls(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_every_table_with_a_tenant_id_enables_and_forces_row_level_security(db):
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES_SQL)
        rows = cursor.fetchall()
    assert len(rows) >= 9
    assert [name for name, enabled, forced in rows if not (enabled and forced)] == []


def test_without_a_tenant_a_raw_count_sees_no_rows(books):
    post_sale(books)
    with connection.cursor() as cursor:
        for table in ("ledger_account", "ledger_journalentry", "ledger_journalline", "ledger_periodbalance",
                      "audit_auditevent"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone() == (0,), table


def test_with_a_tenant_set_the_other_tenants_rows_are_invisible(books, other_books):
    post_sale(books)
    post_sale(other_books, "7.00")
    with tenant_context(books.org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(amount) FILTER (WHERE amount > 0) FROM ledger_journalline")
        assert cursor.fetchone() == (2, Decimal("100.0000"))
        cursor.execute("SELECT count(*) FROM ledger_account WHERE tenant_id = %s", [other_books.org.pk])
        assert cursor.fetchone() == (0,)


def test_inserting_a_row_with_another_tenants_id_fails(books, other_books):
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_account (tenant_id, code, name, type, normal_balance, active, is_intercompany)"
                " VALUES (%s, '9999', 'Planted', 'expense', 'debit', true, false)",
                [other_books.org.pk],
            )


def test_a_line_cannot_point_at_another_tenants_account(books, other_books):
    entry = post_sale(books)
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="unknown account"), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date, account_id,"
                " amount, txn_amount, txn_currency, rate, memo)"
                " VALUES (%s, %s, 9, %s, %s, %s, %s, 0.01, 0.01, 'USD', 1, ''),"
                "        (%s, %s, 10, %s, %s, %s, %s, -0.01, -0.01, 'USD', 1, '')",
                [books.org.pk, entry.pk, entry.entity_id, entry.period_id, entry.date, other_books.cash.pk] * 2,
            )


def test_tenant_managers_fail_closed_without_a_tenant(books):
    with pytest.raises(TenantNotSet):
        list(Account.objects.all())
    with tenant_context(books.org):
        assert Account.objects.count() == 5
