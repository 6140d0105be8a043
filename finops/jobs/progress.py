"""Progress of a running job, as its page polls it (`templates/jobs/_progress.html`).

Progress goes to the cache (Redis), not to the job's row: a job writes all or nothing in one
transaction, which is invisible to the page until it commits, and holds its row's lock while it
works. A job reports (done, total, phase) every `PROGRESS_EVERY` rows (read from this module
when it starts, so a test may lower it); a phase is a key of PHASES or words of its own.

Progress is a nicety: with the cache down a job runs on without it, and the page shows the
job's state from the database (status, started, last heartbeat) instead of a bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, phase)
PROGRESS_EVERY = 5000
PHASES = {"check": "Checking rows", "write": "Writing lines", "post": "Posting to the ledger"}


def _progress_key(job_id: int) -> str:
    return f"jobs:progress:{job_id}"


def job_progress_reporter(job_id: int) -> Progress:
    key = _progress_key(job_id)
    failed = False

    def report(done: int, total: int, phase: str) -> None:
        nonlocal failed
        if failed:
            return  # one failure is enough: do not wait on a dead cache every few thousand rows
        try:
            cache.set(key, {"done": done, "total": total, "phase": phase}, timeout=24 * 3600)
        except Exception:  # noqa: BLE001 - the import goes on; only its progress bar is missing
            failed = True
            log.warning("job %s: progress cannot be written to the cache; going on without it", job_id,
                        exc_info=True)

    return report


def job_progress_get(*, job_id: int) -> dict | None:
    """{"done", "total", "phase", "label", "percent"} from the cache, None before the first
    report, or {"unavailable": True} when the cache cannot be read."""
    try:
        state = cache.get(_progress_key(job_id))
    except Exception:  # noqa: BLE001 - the page shows what the database knows instead
        log.warning("job %s: progress cannot be read from the cache", job_id, exc_info=True)
        return {"unavailable": True}
    if not state:
        return None
    total = max(int(state.get("total") or 0), 1)
    done = min(int(state.get("done") or 0), total)
    return {**state, "label": PHASES.get(state.get("phase"), state.get("phase") or "Working"), "percent": int(100 * done / total)}
