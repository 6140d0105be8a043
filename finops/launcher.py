"""`make run`: set everything up and start web + worker + beat together.

1. Start (or re-attach to) embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset,
   and create the application's database role and database.
2. Migrate, load the demo data (a second run finds it and adds nothing).
3. Start gunicorn, a Celery worker and Celery beat; print the URL and the demo logins.
   A child that dies is started again after a delay that doubles with each crash in a row (up to
   a cap), and the others run on; one that keeps crashing soon after it starts is given up on,
   and then everything stops (`supervise`).
Ctrl-C stops all three, then the embedded servers; their data stay under .finops/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Backoff:
    """How `supervise` restarts a child that exited: after `first` seconds, doubling with each
    crash in a row up to `cap`. A child that ran `stable_after` seconds before it exited counts
    from the first delay again; `give_up_after` crashes in a row, each sooner, and it is given up."""

    first: float = 1.0
    cap: float = 30.0
    stable_after: float = 60.0
    give_up_after: int = 6  # about a minute of restarts: 1 + 2 + 4 + 8 + 16 s


@dataclass
class _Child:
    name: str
    command: list[str]
    env: dict[str, str] | None
    process: subprocess.Popen | None = None
    started: float = 0.0
    crashes: int = 0  # in a row, each before `stable_after`
    restart_at: float | None = None

    def start(self) -> None:
        # Own session: Ctrl-C in the terminal reaches the launcher, which stops the children in order.
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.started, self.restart_at = time.monotonic(), None


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def supervise(commands: dict[str, list[str]], *, stop: threading.Event, env: dict[str, str] | None = None,
              backoff: Backoff = Backoff(), say: Callable[[str], None] = _say, poll: float = 0.5) -> int:
    """Run `commands` ({name: argv}) until `stop` is set (0), restarting a child that exits as
    `backoff` says, or until one is given up on (1). Every child is stopped before it returns."""
    children = [_Child(name, command, env) for name, command in commands.items()]
    for child in children:
        child.start()
    exit_code = 0
    try:
        while not stop.is_set():
            now = time.monotonic()
            for child in children:
                if child.process is None:
                    if now >= child.restart_at:
                        child.start()
                        say(f"finops: {child.name} restarted.")
                    continue
                code = child.process.poll()
                if code is None:
                    continue
                child.process = None
                child.crashes = 1 if now - child.started >= backoff.stable_after else child.crashes + 1
                if child.crashes >= backoff.give_up_after:
                    say(f"finops: {child.name} {_how_it_ended(code)} {child.crashes} times in a row, each time "
                        f"within {backoff.stable_after:g} s of starting: giving up and stopping everything. "
                        "Its output above says why.")
                    exit_code = 1
                    stop.set()
                    break
                delay = min(backoff.cap, backoff.first * 2 ** (child.crashes - 1))
                child.restart_at = now + delay
                say(f"finops: {child.name} {_how_it_ended(code)}; restarting it in {delay:g} s "
                    f"(restart {child.crashes} of {backoff.give_up_after}).")
            stop.wait(poll)
    finally:
        # Whatever happened (even a closed terminal or pipe), the children do not outlive us.
        say("finops: stopping …")
        running = [c.process for c in children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return exit_code


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
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    print("\n" + "=" * 64)
    print(f"  finops is running at http://{host}:{port}/")
    print("  Demo logins (password: finops-demo):")
    for org in ("acme", "globex"):
        print("   ", "  ".join(f"{role}@{org}.example" for role in DEMO_ROLES))
    print("  Mail is written to", os.environ.get("EMAIL_URL") or STATE_DIR / "mail")
    print("  Press Ctrl-C to stop web, worker, beat and the embedded servers.")
    print("=" * 64 + "\n", flush=True)

    try:
        exit_code = supervise(commands, stop=stop, env=os.environ.copy())
    finally:
        _say(f"finops: stopped. Data is kept under {STATE_DIR}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
