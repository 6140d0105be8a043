"""Two database roles: an owner that runs migrations, and the runtime role the application uses.

Row-level security and the ledger's triggers are walls only if the application cannot take them
down. A table's owner can `DISABLE ROW LEVEL SECURITY`, drop a policy, disable a trigger, replace
its function or `TRUNCATE`; so the application must own nothing:

- The **owner** runs `migrate` (and `flush`) and owns the database, its `public` schema, every
  table, sequence and function. Its credentials are `DATABASE_OWNER_USER` /
  `DATABASE_OWNER_PASSWORD`, or else those of `DATABASE_URL`.
- The **runtime role** (`DATABASE_APP_USER`) is what web, worker, beat and every other command
  connect as: LOGIN and nothing else (not superuser, no CREATEDB, CREATEROLE or BYPASSRLS). After
  each `migrate` it gets SELECT, INSERT, UPDATE and DELETE on the tables, minus what the ledger
  forbids (a model's `runtime_refuses`), and USAGE on the sequences; never TRUNCATE, REFERENCES,
  TRIGGER or CREATE on the schema. Default privileges give it the same on tables the owner
  creates later.

`bootstrap()` (run by `python -m finops.embedded` and `manage.py`) uses `DATABASE_URL`'s
credentials to create what is missing: the runtime role, the owner role when
`DATABASE_OWNER_USER` names a new one, the database, the owner's hold on the schema. When those
credentials cannot, it says in one line what to grant. An install from before the split (where
the runtime role owned everything) is handed over to the owner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dj_database_url
import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/finops"
RUNTIME_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Tables that are not models of ours: the runtime role reads which migrations ran, never records one.
NON_MODEL_REFUSALS = {"django_migrations": ("INSERT", "UPDATE", "DELETE")}


class DatabaseSetupError(RuntimeError):
    """The configured credentials cannot set up the roles; the message says what to grant."""


@dataclass(frozen=True)
class Roles:
    config: dict  # DATABASE_URL parsed: host, port, name, and the admin's credentials
    owner: str
    owner_password: str | None
    runtime: str
    runtime_password: str

    @property
    def dbname(self) -> str:
        return self.config["NAME"]


def roles() -> Roles:
    config = dj_database_url.parse(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    owner = os.environ.get("DATABASE_OWNER_USER") or config["USER"]
    owner_password = (os.environ.get("DATABASE_OWNER_PASSWORD") if os.environ.get("DATABASE_OWNER_USER")
                      else config.get("PASSWORD")) or None
    return Roles(
        config=config,
        owner=owner,
        owner_password=owner_password,
        runtime=os.environ.get("DATABASE_APP_USER", "finops_app"),
        runtime_password=os.environ.get("DATABASE_APP_PASSWORD", "finops_app"),
    )


def connect(dbname: str, *, user: str | None = None, password: str | None = None, **kwargs) -> psycopg.Connection:
    """A psycopg connection to `dbname` on the configured server, as `user` (default: the admin)."""
    config = roles().config
    params = {"dbname": dbname, "user": user or config["USER"] or None, "autocommit": True, **kwargs}
    if config.get("HOST"):
        params["host"] = config["HOST"]
    if config.get("PORT"):
        params["port"] = config["PORT"]
    password = password if user else config.get("PASSWORD")
    if password:
        params["password"] = password
    return psycopg.connect(**params)


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _role_exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone() is not None


def _can(conn, attribute: str) -> bool:
    """Whether the connected role is superuser or has `attribute` (rolcreaterole, rolcreatedb)."""
    row = conn.execute(f"SELECT rolsuper OR {attribute} FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def _is_superuser(conn) -> bool:
    return _can(conn, "false")


def bootstrap() -> None:
    r = roles()
    if r.config["USER"] == r.runtime:
        return  # the operator connects as the runtime role and provisioned everything else
    if r.owner == r.runtime:
        raise DatabaseSetupError(
            f"DATABASE_OWNER_USER and DATABASE_APP_USER are both {r.runtime!r}: the application's role "
            "must not own the tables. Name two different roles.")
    with connect("postgres") as conn:
        _ensure_role(conn, r.runtime, r.runtime_password, attributes="LOGIN NOSUPERUSER NOCREATEDB "
                     "NOCREATEROLE NOBYPASSRLS NOREPLICATION")
        if r.owner != r.config["USER"]:
            _ensure_role(conn, r.owner, r.owner_password, attributes="LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS",
                         create_only=True)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [r.dbname]).fetchone():
            if not _can(conn, "rolcreatedb"):
                raise DatabaseSetupError(
                    f"The database {r.dbname!r} does not exist and {r.config['USER']!r} cannot create it: "
                    f"as a superuser run CREATE DATABASE {r.dbname} OWNER {r.owner};")
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                _ident(r.dbname), _ident(r.owner)))
    with connect(r.dbname) as conn:
        _hand_over(conn, r)


def _ensure_role(conn, name: str, password: str | None, *, attributes: str, create_only: bool = False) -> None:
    exists = _role_exists(conn, name)
    if exists and create_only:
        return
    if not _can(conn, "rolcreaterole"):
        if exists:
            return  # we cannot adjust it; `check_runtime_role` below says what is wrong, if anything
        raise DatabaseSetupError(
            f"The role {name!r} does not exist and {conn.info.user!r} cannot create roles: as a superuser run "
            f"CREATE ROLE {name} {attributes} PASSWORD '…';")
    statement = sql.SQL("{} ROLE {} " + attributes).format(sql.SQL("ALTER" if exists else "CREATE"), _ident(name))
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    conn.execute(statement)


def _hand_over(conn, r: Roles) -> None:
    """Make the owner own the database and its schema; take over what the runtime role owned."""
    runtime_owns = conn.execute(
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid) + "
        "(SELECT count(*) FROM pg_proc WHERE proowner = r.oid) + "
        "(SELECT count(*) FROM pg_database WHERE datname = current_database() AND datdba = r.oid) + "
        "(SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) FROM pg_roles r WHERE r.rolname = %s",
        [r.runtime]).fetchone()[0]
    superuser = _is_superuser(conn)
    if runtime_owns:
        if not superuser:
            raise DatabaseSetupError(
                f"The runtime role {r.runtime!r} owns objects in {r.dbname!r} (an install from before the "
                f"role split): as a superuser run, in that database, REASSIGN OWNED BY {r.runtime} TO {r.owner};")
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(_ident(r.runtime), _ident(r.owner)))
    if superuser:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(_ident(r.dbname), _ident(r.owner)))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(_ident(r.owner)))
    elif not conn.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')", [r.owner]).fetchone()[0]:
        raise DatabaseSetupError(
            f"{r.owner!r} may not create tables in the schema public of {r.dbname!r}: as a superuser run, in "
            f"that database, ALTER SCHEMA public OWNER TO {r.owner};")


# --- as the owner, for `migrate` and `flush` ------------------------------------------------------

@contextmanager
def as_owner(connection) -> Iterator[None]:
    """Run the block on Django's `connection` as the owner role, then reconnect as the runtime role."""
    r = roles()
    settings_dict = connection.settings_dict
    runtime = settings_dict["USER"], settings_dict["PASSWORD"]
    if runtime[0] == r.owner:
        yield  # already the owner (the test runner creates its database as the owner)
        return
    connection.close()
    settings_dict["USER"], settings_dict["PASSWORD"] = r.owner, r.owner_password or ""
    try:
        yield
    finally:
        connection.close()
        settings_dict["USER"], settings_dict["PASSWORD"] = runtime


def refused_privileges() -> dict[str, tuple[str, ...]]:
    """Per table, the privileges the runtime role must not have (a model's `runtime_refuses`)."""
    from django.apps import apps

    refused = dict(NON_MODEL_REFUSALS)
    for model in apps.get_models():
        if getattr(model, "runtime_refuses", ()):
            refused[model._meta.db_table] = tuple(model.runtime_refuses)
    return refused


def grant_runtime_privileges(connection, runtime: str | None = None) -> None:
    """As the owner: give the runtime role exactly the DML it needs (idempotent; after `migrate`)."""
    runtime = runtime or roles().runtime
    role = connection.ops.quote_name(runtime)
    owner = connection.ops.quote_name(connection.settings_dict["USER"])
    dml = ", ".join(RUNTIME_PRIVILEGES)
    statements = [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT {dml} ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT {dml} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {name for (name,) in cursor.fetchall()}
        statements += [f"REVOKE {', '.join(privileges)} ON {connection.ops.quote_name(table)} FROM {role}"
                       for table, privileges in refused_privileges().items() if table in tables]
        for statement in statements:
            cursor.execute(statement)


def main(argv: list[str]) -> int:
    """`python -m finops.dbsetup`: bootstrap and report, for operators."""
    try:
        bootstrap()
    except DatabaseSetupError as exc:
        print(f"finops: {exc}", file=sys.stderr)
        return 1
    r = roles()
    print(f"finops: database {r.dbname!r}, owner {r.owner!r}, runtime role {r.runtime!r}: ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
