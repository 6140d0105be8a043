"""Real local peers for tests: an SMTP server (aiosmtpd) and a Celery worker process; and waiting
for a condition instead of sleeping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition, timeout: float = 60, what: str = "the condition", every: float = 0.05) -> None:
    """Poll `condition` until it holds; fail the test, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(every)


class Inbox(MessageHandler):
    """Keeps every message the SMTP server receives."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)

    def wait(self, count: int = 1, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def closed_port() -> int:
    """A loopback port nobody listens on (bound, read, released): a server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on a free loopback port: yields (port, inbox)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def child_env() -> dict[str, str]:
    """The environment of a child process (a worker, `manage.py`) that talks to *this* test database
    and Redis. DATABASE_URL keeps the server's address as configured (a socket path stays escaped)."""
    from django.conf import settings
    from django.db import connection

    env = os.environ.copy()
    url = urlsplit(env.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/finops")
    env["DATABASE_URL"] = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    env["REDIS_URL"] = settings.REDIS_URL
    env["DEBUG"] = "1"
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


@dataclass
class Worker:
    """A running worker process and its log."""

    log: Path
    process: subprocess.Popen

    def read_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no cleanup, no message restored."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)


@contextmanager
def celery_worker_process(log: Path, env: dict[str, str], *, hostname: str = "worker@%h") -> Iterator[Worker]:
    """A real `celery worker -P solo` (one process, which runs the tasks itself) on the configured
    broker, stopped when the block ends unless the test killed it already."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "finops", "worker", "-P", "solo", "--purge",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-n", hostname],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Worker(log, process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def celery_worker(log: Path, env: dict[str, str]) -> Iterator[Path]:
    """A real `celery worker -P solo` on the configured broker, stopped when the block ends."""
    with celery_worker_process(log, env) as worker:
        yield worker.log
