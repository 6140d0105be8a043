"""Progress of a GL import, as the page polls it.

Progress goes to the cache (Redis), not to the database: the import's own transaction is
invisible to the page that polls it until it commits. The checking and writing loops report
every `PROGRESS_EVERY` rows (read from this module when they start, so a test may lower it).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache

Progress = Callable[[int, int, str], None]  # (done, total, phase)
PROGRESS_EVERY = 5000
PHASES = {"check": "Checking rows", "write": "Writing lines", "post": "Posting to the ledger"}


def _progress_key(job_id: int) -> str:
    return f"ledger:import-progress:{job_id}"


def job_progress_reporter(job_id: int) -> Progress:
    key = _progress_key(job_id)

    def report(done: int, total: int, phase: str) -> None:
        cache.set(key, {"done": done, "total": total, "phase": phase}, timeout=24 * 3600)

    return report


def import_progress_get(*, job_id: int) -> dict | None:
    """{"done", "total", "phase", "label", "percent"} from the cache, or None before the first report."""
    state = cache.get(_progress_key(job_id))
    if not state:
        return None
    total = max(int(state.get("total") or 0), 1)
    done = min(int(state.get("done") or 0), total)
    return {**state, "label": PHASES.get(state.get("phase"), "Working"), "percent": int(100 * done / total)}
