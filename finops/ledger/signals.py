"""What the ledger tells the rest of the application, without knowing who listens.

`actuals_changed` (sender: the tenant id, an int) is sent after the commit of anything that
changed the tenant's actuals: a GL import that wrote entries, a posting, a reversal. Budgets
listen to re-evaluate variance alerts; the ledger itself imports no domain app (DESIGN §3:
`finops.*` ← `budgets`, …).

Receivers run after the commit, so the change is visible to whatever they queue; a receiver
that fails is logged and never fails the posting (which has committed anyway) or the other
receivers. Receivers should only queue work, not do it: they run in the poster's request.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

actuals_changed = Signal()


def actuals_changed_on_commit(tenant_id: int) -> None:
    """Send `actuals_changed` for `tenant_id` when the current transaction commits (at once
    outside a transaction); nothing is sent if it rolls back."""
    transaction.on_commit(lambda: _send(tenant_id))


def _send(tenant_id: int) -> None:
    for receiver, outcome in actuals_changed.send_robust(sender=tenant_id):
        if isinstance(outcome, Exception):
            log.error("actuals_changed: receiver %r failed for organisation %s", receiver, tenant_id,
                      exc_info=outcome)
