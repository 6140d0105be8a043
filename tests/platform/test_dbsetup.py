"""Setting up the two database roles on databases provisioned in other ways (finops/dbsetup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from finops import dbsetup
from tests.local_servers import child_env


def server_url(dbname: str, *, user: str | None = None, password: str | None = None) -> str:
    """DATABASE_URL (the admin's, a socket path escaped as configured) for another database or user."""
    url = urlsplit(os.environ.get("DATABASE_URL") or dbsetup.DEFAULT_URL)
    netloc = f"{user}:{password}@{url.netloc.rsplit('@', 1)[-1]}" if user else url.netloc
    return urlunsplit(url._replace(netloc=netloc, path="/" + dbname))


@pytest.fixture
def admin():
    with dbsetup.connect("postgres") as conn:
        yield conn


@pytest.mark.django_db
def test_a_database_a_dba_created_migrates_and_the_runtime_role_owns_nothing(admin):
    """`createdb finops` as postgres, then DATABASE_URL=postgres://postgres@…/finops: it just works."""
    runtime = dbsetup.roles().runtime
    admin.execute("DROP DATABASE IF EXISTS finops_dba_provisioned WITH (FORCE)")
    admin.execute("CREATE DATABASE finops_dba_provisioned")  # owned by the admin, as `createdb` does
    try:
        env = child_env() | {"DATABASE_URL": server_url("finops_dba_provisioned")}
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                              cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
        assert (done.returncode, done.stderr) == (0, "")
        roles = dbsetup.roles()
        with dbsetup.connect("finops_dba_provisioned", user=runtime, password=roles.runtime_password) as app:
            assert app.execute("SELECT count(*) FROM ledger_journalline").fetchone() == (0,)
            assert app.execute(
                "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            ).fetchone() == (0,)
            assert app.execute("SELECT has_table_privilege('ledger_journalline', 'TRUNCATE'), "
                               "has_table_privilege('ledger_journalline', 'UPDATE'), "
                               "has_schema_privilege('public', 'CREATE')").fetchone() == (False, False, False)
    finally:
        admin.execute("DROP DATABASE IF EXISTS finops_dba_provisioned WITH (FORCE)")


def test_credentials_that_cannot_set_up_the_roles_get_one_line_saying_what_to_grant(admin, monkeypatch):
    admin.execute("DROP DATABASE IF EXISTS finops_limited_db WITH (FORCE)")
    for role in ("finops_limited", "finops_limited_app"):
        admin.execute(f"DROP ROLE IF EXISTS {role}")
    admin.execute("CREATE ROLE finops_limited LOGIN PASSWORD 'limited' NOCREATEROLE NOCREATEDB")
    monkeypatch.setenv("DATABASE_URL", server_url("finops_limited_db", user="finops_limited", password="limited"))
    monkeypatch.setenv("DATABASE_APP_USER", "finops_limited_app")
    monkeypatch.delenv("DATABASE_OWNER_USER", raising=False)
    try:
        with pytest.raises(dbsetup.DatabaseSetupError) as refused:
            dbsetup.bootstrap()
        assert str(refused.value) == (
            "The role 'finops_limited_app' does not exist and 'finops_limited' cannot create roles: as a superuser "
            "run CREATE ROLE finops_limited_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION "
            "PASSWORD '…';")

        admin.execute("CREATE ROLE finops_limited_app LOGIN")
        with pytest.raises(dbsetup.DatabaseSetupError) as refused:
            dbsetup.bootstrap()
        assert str(refused.value) == (
            "The database 'finops_limited_db' does not exist and 'finops_limited' cannot create it: as a superuser "
            "run CREATE DATABASE finops_limited_db OWNER finops_limited;")

        admin.execute("CREATE DATABASE finops_limited_db")  # a DBA's database, its schema not ours
        with pytest.raises(dbsetup.DatabaseSetupError) as refused:
            dbsetup.bootstrap()
        assert str(refused.value) == (
            "'finops_limited' may not create tables in the schema public of 'finops_limited_db': as a superuser "
            "run, in that database, ALTER SCHEMA public OWNER TO finops_limited;")

        admin.execute("ALTER DATABASE finops_limited_db OWNER TO finops_limited")  # what the line says, near enough
        dbsetup.bootstrap()  # now nothing is missing
    finally:
        admin.execute("DROP DATABASE IF EXISTS finops_limited_db WITH (FORCE)")
        for role in ("finops_limited", "finops_limited_app"):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_the_runtime_role_may_not_be_the_owner(monkeypatch):
    monkeypatch.setenv("DATABASE_OWNER_USER", "finops_same")
    monkeypatch.setenv("DATABASE_APP_USER", "finops_same")
    with pytest.raises(dbsetup.DatabaseSetupError, match="must not own the tables"):
        dbsetup.bootstrap()
