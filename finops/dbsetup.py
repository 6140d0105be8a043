"""Create the application's database role and database (idempotent).

The application never runs as a superuser: it connects as DATABASE_APP_USER, a role with LOGIN
and CREATEDB (so the test runner can make its database) but neither SUPERUSER nor BYPASSRLS,
so PostgreSQL row-level security applies to every query it makes. DATABASE_URL may carry an
administrative role; it is used only here, to create that role and the database it owns.
"""

from __future__ import annotations

import os

import dj_database_url
import psycopg
from psycopg import sql


def _connect_kwargs(config: dict, dbname: str) -> dict:
    kwargs = {"dbname": dbname, "user": config["USER"] or None, "autocommit": True}
    if config.get("HOST"):
        kwargs["host"] = config["HOST"]
    if config.get("PORT"):
        kwargs["port"] = config["PORT"]
    if config.get("PASSWORD"):
        kwargs["password"] = config["PASSWORD"]
    return kwargs


def bootstrap() -> None:
    url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/finops"
    config = dj_database_url.parse(url)
    app_user = os.environ.get("DATABASE_APP_USER", "finops_app")
    app_password = os.environ.get("DATABASE_APP_PASSWORD", "finops_app")
    dbname = config["NAME"]
    if config["USER"] == app_user:
        return  # the operator provisioned the role and database already
    with psycopg.connect(**_connect_kwargs(config, "postgres")) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_user]).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(app_user), sql.Literal(app_password)
            )
        )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(dbname), sql.Identifier(app_user)
                )
            )
