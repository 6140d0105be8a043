"""Acting on a variance alert: each alert is an item of the organisation's inbox
(`finops.notifications.inbox`); acknowledging or snoozing it is the inbox's rule, audited."""

from __future__ import annotations

from datetime import datetime

from finops.notifications.inbox import (
    SNOOZE_DAYS,
    inbox_acknowledge,
    inbox_reopen,
    inbox_snooze,
)
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires
from finops.webhooks.events import webhook_emit

from ..models import Alert


@requires(Action.REQUEST)
def alert_acknowledge(*, tenant, actor, alert, note: str = "", now: datetime | None = None):
    """Someone has seen the alert and owns it: it leaves the open list for good."""
    with tenant_context(tenant):
        alert = Alert.objects.select_related("item").get(pk=getattr(alert, "pk", alert))
        alert.item = inbox_acknowledge(tenant=tenant, actor=actor, item=alert.item, note=note, now=now)
        from .evaluation import alert_event

        full = Alert.objects.select_related("rule__budget__entity", "account", "cost_center", "period",
                                            "threshold").get(pk=alert.pk)
        webhook_emit(tenant=tenant, event_type="alert.acknowledged", ref=alert.pk, seq=alert.escalations,
                     data={**alert_event(full), "acknowledged_by": getattr(actor, "email", None), "note": note})
    return alert


@requires(Action.REQUEST)
def alert_reopen(*, tenant, actor, alert, now: datetime | None = None):
    """Back on the open list: acknowledged too soon, or a snooze no longer wanted."""
    with tenant_context(tenant):
        alert = Alert.objects.select_related("item").get(pk=getattr(alert, "pk", alert))
        alert.item = inbox_reopen(tenant=tenant, actor=actor, item=alert.item, now=now)
    return alert


@requires(Action.REQUEST)
def alert_snooze(*, tenant, actor, alert, days: int = SNOOZE_DAYS, now: datetime | None = None):
    """Put the alert aside for `days`; after that it counts as open again."""
    with tenant_context(tenant):
        alert = Alert.objects.select_related("item").get(pk=getattr(alert, "pk", alert))
        alert.item = inbox_snooze(tenant=tenant, actor=actor, item=alert.item, days=days, now=now)
    return alert
