"""Background work of budgets: variance alerts, and uploads (at the end). Tasks are thin: load
ids, enter the tenant, call a service.

Evaluating twice is safe (alerts and deliveries are unique per rule × line × period × threshold
and per recipient), so the tasks are acks_late: a worker lost mid-task means it runs again.

Evaluation runs after every change of actuals (the ledger's `actuals_changed` signal, connected
in `apps.py`) and hourly on beat. The signal is debounced per organisation: a batch of postings
queues one evaluation, a little later, not one per posting. How no posting is missed:

- The receiver runs after the posting has committed. It queues an evaluation only when it can
  add the organisation's "pending" key to the cache (an atomic SET NX), and the evaluation
  deletes that key when it STARTS, before it reads any actuals.
- So when the key exists, an evaluation has been queued and has not started yet: it will read
  the actuals after this posting's commit and see it. When the key does not exist, the receiver
  adds it and queues a new evaluation, which starts after the commit too.
- A posting that commits while an evaluation is running finds the key gone (deleted at the
  start) and queues the next one; the running one may or may not see it, the next one will.
- What cannot be proven lives in the timeout and the beat: if a queued message is lost, the key
  expires after PENDING_TIMEOUT and the hourly evaluation catches up. If queueing fails (broker
  down), the key is removed at once so the next posting tries again, and the posting succeeds.

A spare evaluation (the beat's, or two queued around a start) is harmless: it is idempotent.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from finops.notifications.tasks import outbox_send_task
from finops.tenancy.models import Organization

from .alerts.evaluation import alerts_evaluate
from .uploads import budget_upload_run

log = logging.getLogger(__name__)

EVALUATE_AFTER = 10  # seconds: postings of a batch that commit within it share one evaluation
PENDING_TIMEOUT = 600  # seconds: how long a queued evaluation may wait before another is queued


def evaluation_pending_key(tenant_id: int) -> str:
    return f"budgets:variance-alerts-pending:{tenant_id}"


def variance_alerts_on_actuals_changed(sender: int, **kwargs) -> None:
    """Receiver of the ledger's `actuals_changed` (after commit): queue one evaluation of the
    organisation's alerts unless one is queued and has not started (see the module docstring).
    A broker or cache outage is logged and never fails the posting."""
    tenant_id = int(sender)
    key = evaluation_pending_key(tenant_id)
    try:
        if not cache.add(key, 1, timeout=PENDING_TIMEOUT):
            return  # queued and not started yet: it will read these actuals
        try:
            variance_alerts_evaluate.apply_async((tenant_id,), countdown=EVALUATE_AFTER)
        except Exception:
            cache.delete(key)  # nothing is queued: let the next posting try again
            raise
    except Exception:  # noqa: BLE001
        log.exception("could not queue the variance alerts of organisation %s after a change of actuals "
                      "(the hourly evaluation will catch up)", tenant_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def variance_alerts_evaluate(tenant_id: int, as_of: str | None = None) -> int | None:
    """Evaluate the organisation's alert rules for today (or `as_of`, ISO date), then send."""
    # First of all, before any actuals are read: from now on a posting queues the next
    # evaluation instead of counting on this one (see the module docstring).
    try:
        cache.delete(evaluation_pending_key(tenant_id))
    except Exception:  # noqa: BLE001
        log.warning("could not clear the pending evaluation of organisation %s; it expires in %s s",
                    tenant_id, PENDING_TIMEOUT, exc_info=True)
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("variance_alerts_evaluate: organisation %s does not exist", tenant_id)
        return None
    day = timezone.localdate() if as_of is None else timezone.datetime.fromisoformat(as_of).date()
    result = alerts_evaluate(tenant=tenant, as_of=day)  # committed on return
    if result.deliveries_created:
        outbox_send_task.delay(tenant_id)
    return result.alerts_created


@shared_task
def variance_alerts_evaluate_all() -> int:
    """Beat, hourly: one evaluation task per organisation (organisations are the directory)."""
    count = 0
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        variance_alerts_evaluate.delay(tenant_id)
        count += 1
    return count


# --- uploads -------------------------------------------------------------------------------------

# Acknowledged when it starts, like the GL import (finops/ledger/tasks.py): the job's row is what
# makes it run, and beat requeues it if its worker is lost (finops/jobs/tasks.py).
@shared_task(acks_late=False)
def budget_upload_run_task(tenant_id: int, job_id: int) -> str | None:
    """Import an uploaded budget file (`uploads.budget_upload_run`). Idempotent: a finished job is not run again, and one
    redelivered after a crash (its transaction rolled back) runs again from the start."""
    tenant = Organization.objects.filter(pk=tenant_id).first()
    if tenant is None:
        log.warning("budget_upload_run_task: organisation %s does not exist", tenant_id)
        return None
    job = budget_upload_run(tenant=tenant, job_id=job_id)
    if job is None:
        log.warning("budget_upload_run_task: upload job %s of organisation %s does not exist", job_id, tenant_id)
        return None
    return job.status
