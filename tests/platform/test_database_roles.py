"""The application's database role cannot take down row-level security or the ledger's rules.

Every test here runs on the connection the application uses (the runtime role) and shows that
what an owner could do is refused: PostgreSQL answers `insufficient_privilege` (42501).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from finops import dbsetup
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from tests.builders import owner_connection

INSUFFICIENT_PRIVILEGE = "42501"


def post_sale(books):
    return ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), memo="sale",
        lines=[LineSpec(books.cash.pk, Decimal("100.00")), LineSpec(books.revenue.pk, Decimal("-100.00"))],
    ).entry


def refused(statement: str) -> str:
    """Run `statement` as the runtime role in a savepoint; return the SQLSTATE it failed with."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    return caught.value.__cause__.sqlstate


REFUSED_STATEMENTS = [
    "ALTER TABLE ledger_journalline DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE ledger_journalline NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON ledger_journalline",
    "CREATE POLICY everything ON ledger_journalline USING (true)",
    "ALTER POLICY tenant_isolation ON ledger_journalline USING (true)",
    "ALTER TABLE ledger_journalline DISABLE TRIGGER journalline_immutable",
    "ALTER TABLE ledger_journalline DISABLE TRIGGER ALL",
    "DROP TRIGGER journalline_immutable ON ledger_journalline",
    "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "ALTER FUNCTION ledger_refuse_change() RENAME TO gone",
    "TRUNCATE ledger_journalline",
    "TRUNCATE ledger_journalentry",
    "TRUNCATE audit_auditevent",
    "TRUNCATE tenancy_membership",
    "UPDATE ledger_journalline SET memo = 'changed'",
    "DELETE FROM ledger_journalline",
    "UPDATE ledger_journalentry SET memo = 'changed'",
    "DELETE FROM audit_auditevent",
    "UPDATE audit_auditevent SET action = 'nothing'",
    "DELETE FROM ledger_account",
    "DELETE FROM ledger_periodbalance",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('ledger', '9999_fake', now())",
    "CREATE TABLE sneaky (id int)",
    "ALTER TABLE ledger_journalline OWNER TO CURRENT_USER",
    "ALTER TABLE tenancy_membership DISABLE ROW LEVEL SECURITY",
    "SET session_replication_role = replica",
    "ALTER ROLE CURRENT_USER BYPASSRLS",
]


@pytest.mark.parametrize("statement", REFUSED_STATEMENTS)
def test_the_runtime_role_is_refused(books, statement):
    post_sale(books)
    with tenant_context(books.org):
        assert refused(statement) == INSUFFICIENT_PRIVILEGE
    with tenant_context(books.org), connection.cursor() as cursor:  # and nothing changed
        cursor.execute("SELECT count(*), min(memo) FROM ledger_journalline")
        assert cursor.fetchone() == (2, "")


def test_granting_itself_more_grants_nothing(books):
    post_sale(books)
    with tenant_context(books.org), connection.cursor() as cursor:
        cursor.execute("GRANT TRUNCATE, UPDATE ON ledger_journalline TO PUBLIC")  # a warning, not an error
        assert refused("TRUNCATE ledger_journalline") == INSUFFICIENT_PRIVILEGE
        assert refused("UPDATE ledger_journalline SET memo = 'changed'") == INSUFFICIENT_PRIVILEGE


def test_the_runtime_role_has_no_attribute_that_could_lift_a_wall(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication "
                       "FROM pg_roles WHERE rolname = current_user")
        name, *attributes = cursor.fetchone()
    assert name == dbsetup.roles().runtime
    assert attributes == [False, False, False, False, False]


def test_the_runtime_role_owns_nothing_in_the_database(db):
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT 'relation ' || relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL SELECT 'database ' || datname FROM pg_database
                WHERE datname = current_database() AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        """)
        assert cursor.fetchall() == []


def test_on_every_table_the_runtime_role_has_dml_only_and_none_the_ledger_forbids(db):
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, p.privilege
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
                AS p(privilege)
            WHERE c.relkind IN ('r', 'p') AND has_table_privilege(current_user, c.oid, p.privilege)
            ORDER BY 1, 2
        """)
        granted: dict[str, set[str]] = {}
        for table, privilege in cursor.fetchall():
            granted.setdefault(table, set()).add(privilege)
        cursor.execute("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
        assert cursor.fetchone() == (False,)
    assert set().union(*granted.values()) <= {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert granted["ledger_journalline"] == {"SELECT", "INSERT"}
    assert granted["ledger_journalentry"] == {"SELECT", "INSERT"}
    assert granted["audit_auditevent"] == {"SELECT", "INSERT"}
    assert granted["ledger_account"] == {"SELECT", "INSERT", "UPDATE"}
    assert granted["ledger_periodbalance"] == {"SELECT"}  # the rollup trigger writes it as the owner
    assert granted["django_migrations"] == {"SELECT"}
    assert granted["budgets_budgetline"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    for table, privileges in dbsetup.refused_privileges().items():
        assert not set(privileges) & granted.get(table, set()), table


@pytest.mark.django_db(transaction=True)
def test_a_table_the_owner_creates_later_is_granted_to_the_runtime_role_by_default_privileges():
    with owner_connection() as owner:
        owner.execute("CREATE TABLE later_table (id bigint)")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT has_table_privilege(current_user, 'later_table', 'INSERT'), "
                           "has_table_privilege(current_user, 'later_table', 'TRUNCATE')")
            assert cursor.fetchone() == (True, False)
            cursor.execute("INSERT INTO later_table VALUES (1)")
    finally:
        with owner_connection() as owner:
            owner.execute("DROP TABLE later_table")


@pytest.mark.django_db(transaction=True)
def test_migrate_runs_as_the_owner_and_puts_the_runtime_role_back():
    from django.core.management import call_command

    call_command("migrate", "--check", verbosity=0)  # nothing unapplied; ran on the owner's connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (dbsetup.roles().runtime,)
