"""`make run`: set everything up and start web + worker + beat together.

1. Start (or re-attach to) embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset,
   and create the application's database role and database.
2. Migrate, load the demo data (a second run finds it and adds nothing).
3. Start gunicorn, a Celery worker and Celery beat; print the URL and the demo logins.
Ctrl-C stops all three, then the embedded servers; their data stay under .finops/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from finops.embedded import STATE_DIR, ensure_environment, local_defaults

DEMO_ROLES = ("admin", "finance", "director", "viewer")


def _say(text: str) -> None:
    """Print, but never fail: the terminal or pipe may be gone while we shut down."""
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True, env=os.environ.copy())


def main() -> int:
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    local_defaults()
    os.chdir(Path(__file__).resolve().parent.parent)
    print("finops: starting PostgreSQL and Redis …", flush=True)
    ensure_environment()
    print("finops: migrating …", flush=True)
    _manage("migrate", "--noinput", "-v", "0")
    print("finops: loading demo data (skipped when present) …", flush=True)
    _manage("seed_demo")

    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [str(bin_dir / "gunicorn"), "finops.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
                "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5"],
        "worker": [str(bin_dir / "celery"), "-A", "finops", "worker", "--loglevel", "INFO",
                   "--concurrency", "2", "--hostname", "worker@%h"],
        "beat": [str(bin_dir / "celery"), "-A", "finops", "beat", "--loglevel", "INFO",
                 "--schedule", str(STATE_DIR / "celerybeat-schedule")],
    }
    children = {name: subprocess.Popen(cmd, env=os.environ.copy(), start_new_session=True)
                for name, cmd in commands.items()}

    print("\n" + "=" * 64)
    print(f"  finops is running at http://{host}:{port}/")
    print("  Demo logins (password: finops-demo):")
    for org in ("acme", "globex"):
        print("   ", "  ".join(f"{role}@{org}.example" for role in DEMO_ROLES))
    print("  Mail is written to", os.environ.get("EMAIL_URL") or STATE_DIR / "mail")
    print("  Press Ctrl-C to stop web, worker, beat and the embedded servers.")
    print("=" * 64 + "\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    _say(f"finops: {name} exited with {child.returncode}; stopping the rest.")
                    exit_code, stopping = 1, True
                    break
            time.sleep(0.5)
    finally:
        # Whatever happened (even a closed terminal or pipe), the children do not outlive us.
        _say("finops: stopping …")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        _say(f"finops: stopped. Data is kept under {STATE_DIR}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
