"""Every key of every tenant table leads with tenant_id, so each table can be distributed on it
(finops/tenancy/keys.py). Read from the catalog, so a new table that breaks the rule fails here."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from finops.ledger.models import Account
from finops.tenancy.context import tenant_context
from tests.builders import owner_connection

# Per tenant table (one with a tenant_id column): its primary key and unique indexes whose first
# column is not tenant_id, and its foreign keys to another tenant table that do not join on it.
VIOLATIONS_SQL = """
WITH tenant_tables AS (
    SELECT c.oid, c.relname, a.attnum AS tenant_col
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p')
)
SELECT t.relname, CASE WHEN i.indisprimary THEN 'primary key ' ELSE 'unique index ' END || ic.relname
FROM tenant_tables t
JOIN pg_index i ON i.indrelid = t.oid AND (i.indisprimary OR i.indisunique)
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indkey[0] <> t.tenant_col
UNION ALL
SELECT t.relname, 'no primary key'
FROM tenant_tables t
WHERE NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary)
UNION ALL
SELECT t.relname, 'foreign key ' || con.conname
FROM tenant_tables t
JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
JOIN tenant_tables target ON target.oid = con.confrelid
WHERE NOT EXISTS (
    SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(col, ref)
    WHERE k.col = t.tenant_col AND k.ref = target.tenant_col
)
ORDER BY 1, 2
"""

TENANT_TABLES_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
"""


def violations() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(VIOLATIONS_SQL)
        return cursor.fetchall()


def test_every_key_of_every_tenant_table_leads_with_tenant_id(db):
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES_SQL)
        assert cursor.fetchone()[0] >= 19
    assert violations() == []


def test_the_primary_keys_are_tenant_id_then_id(db):
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid IN ('ledger_journalline'::regclass, 'budgets_alert'::regclass, 'audit_auditevent'::regclass)
              AND contype = 'p'
        """)
        assert [row[0] for row in cursor.fetchall()] == ["PRIMARY KEY (tenant_id, id)"] * 3


def test_a_reference_to_another_tenants_row_is_refused_by_the_composite_key(books, other_books):
    # A raw write past the service's own checks: the database refuses a parent of the other tenant.
    with tenant_context(books.org), pytest.raises(IntegrityError, match="account_parent_fk"), transaction.atomic():
        Account.objects.filter(pk=books.rent.pk).update(parent_id=other_books.rent.pk)
        connection.check_constraints()  # Django's keys are checked at commit; ask now


def _as_owner(statement: str) -> None:
    with owner_connection() as owner:
        owner.execute(statement)


@pytest.mark.django_db(transaction=True)
def test_a_new_table_that_breaks_the_rule_is_named():
    _as_owner("""
        CREATE TABLE careless_parent (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
        CREATE TABLE careless (id bigint, tenant_id bigint NOT NULL, code text UNIQUE,
                               parent_id bigint REFERENCES careless_parent (id), PRIMARY KEY (tenant_id, id));
    """)
    try:
        assert violations() == [
            ("careless", "foreign key careless_parent_id_fkey"),
            ("careless", "unique index careless_code_key"),
            ("careless_parent", "primary key careless_parent_pkey"),
        ]
    finally:
        _as_owner("DROP TABLE careless; DROP TABLE careless_parent")


def test_an_aggregate_grouped_by_a_model_selects_columns_postgresql_sees_as_grouped(books):
    """Django groups by `id` alone where it may; with (tenant_id, id) as the database's key that is
    refused, so finops/postgres/base.py has it group by every selected column."""
    from django.db.models import Count

    with tenant_context(books.org):
        counted = {(a.code, a.n) for a in Account.objects.annotate(n=Count("children")).filter(code__in=["1000", "6100"])}
    assert counted == {("1000", 0), ("6100", 0)}
    assert connection.features.allows_group_by_selected_pks is False
