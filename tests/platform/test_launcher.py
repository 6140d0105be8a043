"""`make run`'s supervisor with real child processes: a crashed child is restarted after a growing,
capped delay while the others keep running; one that crashes in a tight loop is given up on,
with a message, and then everything stops."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from finops.launcher import Backoff, supervise
from tests.local_servers import wait_until


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def recorder(path: Path) -> str:
    """Code for a child that appends "<pid> <monotonic time>" to `path` when it starts."""
    return (f"import os, time\nwith open({str(path)!r}, 'a') as f: f.write(f'{{os.getpid()}} {{time.monotonic()}}\\n')\n"
            f"starts = sum(1 for _ in open({str(path)!r}))\n")


def starts(path: Path) -> list[tuple[int, float]]:
    if not path.exists():
        return []
    return [(int(pid), float(at)) for pid, at in (line.split() for line in path.read_text().splitlines())]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_in_thread(commands, backoff: Backoff):
    said: list[str] = []
    stop = threading.Event()
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(
        supervise(commands, stop=stop, backoff=backoff, say=said.append, poll=0.02)), daemon=True)
    thread.start()
    return said, stop, outcome, thread


def test_a_crashed_child_is_restarted_after_growing_capped_delays_and_the_others_keep_running(tmp_path):
    flaky, steady = tmp_path / "flaky", tmp_path / "steady"
    commands = {
        # Killed by SIGKILL the first time, exits with 3 the next two, then stays up.
        "flaky": python(recorder(flaky) + "import signal, sys\n"
                        "if starts == 1: os.kill(os.getpid(), signal.SIGKILL)\n"
                        "if starts < 4: sys.exit(3)\n"
                        "time.sleep(60)\n"),
        "steady": python(recorder(steady) + "time.sleep(60)\n"),
    }
    said, stop, outcome, thread = run_in_thread(commands, Backoff(first=0.1, cap=0.25, stable_after=30, give_up_after=5))

    wait_until(lambda: len(starts(flaky)) == 4, timeout=30, every=0.02)
    time.sleep(0.2)  # the fourth stays up
    stop.set()
    thread.join(timeout=20)

    assert outcome == [0]
    assert said == [
        "finops: flaky was killed by SIGKILL; restarting it in 0.1 s (restart 1 of 5).",
        "finops: flaky restarted.",
        "finops: flaky exited with code 3; restarting it in 0.2 s (restart 2 of 5).",
        "finops: flaky restarted.",
        "finops: flaky exited with code 3; restarting it in 0.25 s (restart 3 of 5).",
        "finops: flaky restarted.",
        "finops: stopping …",
    ]
    times = [at for _, at in starts(flaky)]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert [gap >= delay for gap, delay in zip(gaps, (0.1, 0.2, 0.25), strict=True)] == [True, True, True]
    assert len(starts(steady)) == 1  # never restarted
    assert not any(alive(pid) for pid, _ in starts(flaky) + starts(steady))


def test_a_child_that_crashes_in_a_tight_loop_is_given_up_on_and_everything_stops(tmp_path):
    crasher, steady = tmp_path / "crasher", tmp_path / "steady"
    commands = {
        "worker": python(recorder(crasher) + "raise SystemExit(1)\n"),
        "web": python(recorder(steady) + "time.sleep(60)\n"),
    }
    said, stop, outcome, thread = run_in_thread(commands, Backoff(first=0.01, cap=0.02, stable_after=30,
                                                                  give_up_after=3))

    thread.join(timeout=30)

    assert outcome == [1]
    assert said == [
        "finops: worker exited with code 1; restarting it in 0.01 s (restart 1 of 3).",
        "finops: worker restarted.",
        "finops: worker exited with code 1; restarting it in 0.02 s (restart 2 of 3).",
        "finops: worker restarted.",
        "finops: worker exited with code 1 3 times in a row, each time within 30 s of starting: giving up "
        "and stopping everything. Its output above says why.",
        "finops: stopping …",
    ]
    assert len(starts(crasher)) == 3
    assert not any(alive(pid) for pid, _ in starts(steady))


def test_a_child_that_ran_long_enough_before_it_crashed_starts_again_from_the_first_delay(tmp_path):
    runs = tmp_path / "runs"
    commands = {"beat": python(recorder(runs) + "time.sleep(0.4)\nraise SystemExit(2)\n")}
    said, stop, outcome, thread = run_in_thread(commands, Backoff(first=0.05, cap=1, stable_after=0.3,
                                                                  give_up_after=2))

    wait_until(lambda: len(starts(runs)) == 4, timeout=30, every=0.02)
    stop.set()
    thread.join(timeout=20)

    assert outcome == [0]
    assert said[:6] == ["finops: beat exited with code 2; restarting it in 0.05 s (restart 1 of 2).",
                        "finops: beat restarted."] * 3
