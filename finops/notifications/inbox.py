"""The organisation's inbox: what someone should look at, of every kind, in one list.

A domain opens an item when something needs a person (`inbox_item_open`, in its own transaction,
one item per (kind, ref): opening it again returns the same item) and keeps its own facts on its
own row (a budget alert keeps the line, the actual and the budget). The inbox keeps what every kind
shares: a subject line and a link, and the status: open until someone acknowledges it (who, when
and an optional note are kept, and audited), or snoozed for some days, after which it counts as
open again without anyone touching it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.tenancy.context import require_tenant_id, tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .models import InboxItem, InboxStatus

SNOOZE_DAYS = 7
NOTE_MAX = 2000


def inbox_item_open(*, kind: str, ref: int, title: str, link: str = "") -> InboxItem:
    """The open item of (kind, ref), created now if there is none (in the current tenant)."""
    item, _ = InboxItem.objects.get_or_create(tenant_id=require_tenant_id(), kind=kind, ref=ref,
                                              defaults={"title": title[:300], "link": link})
    return item


def inbox_is_open(item: InboxItem, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return item.status == InboxStatus.OPEN or (
        item.status == InboxStatus.SNOOZED and item.snoozed_until is not None and item.snoozed_until <= now)


def inbox_status_q(status: str, *, now: datetime | None = None, prefix: str = "") -> Q:
    """A filter for items (or rows joined to them through `prefix`, e.g. "item__") of one status,
    as a person means it: a snooze that has run out is open again."""
    now = now or timezone.now()
    f = {"status": f"{prefix}status", "until": f"{prefix}snoozed_until"}
    expired = Q(**{f["status"]: InboxStatus.SNOOZED, f"{f['until']}__lte": now})
    if status == InboxStatus.OPEN:
        return Q(**{f["status"]: InboxStatus.OPEN}) | expired
    if status == InboxStatus.SNOOZED:
        return Q(**{f["status"]: InboxStatus.SNOOZED, f"{f['until']}__gt": now})
    if status == InboxStatus.ACKNOWLEDGED:
        return Q(**{f["status"]: InboxStatus.ACKNOWLEDGED})
    return Q()


def _lock_open(item, verb: str, now: datetime) -> InboxItem:
    found = InboxItem.objects.select_for_update().filter(pk=getattr(item, "pk", item)).first()
    if found is None:
        raise DomainError("This alert does not exist.")
    if not inbox_is_open(found, now=now):
        state = found.get_status_display().lower()
        if found.status == InboxStatus.SNOOZED and found.snoozed_until:
            state += f" until {found.snoozed_until:%Y-%m-%d %H:%M} UTC"
        raise DomainError(f"Alert #{found.ref} is {state}; only an open alert can be {verb}.")
    return found


def _state(item: InboxItem) -> dict:
    return {"status": item.status, "snoozed_until": item.snoozed_until.isoformat() if item.snoozed_until else None}


def _set(*, tenant, actor, item, action: AuditAction, verb: str, now: datetime, **changes) -> InboxItem:
    with tenant_context(tenant):
        locked = _lock_open(item, verb, now)
        before = _state(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes))
        audit_record(tenant=tenant, actor=actor, action=action, obj=locked, before=before,
                     after={**_state(locked), **({"note": locked.note} if "note" in changes and locked.note else {})})
    return locked


@requires(Action.REQUEST)
def inbox_acknowledge(*, tenant, actor, item, note: str = "", now: datetime | None = None) -> InboxItem:
    """Someone has seen it and owns it: it leaves the open list for good, with who, when and why."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(f"Keep the note to {NOTE_MAX} characters (it has {len(note)}).")
    now = now or timezone.now()
    return _set(tenant=tenant, actor=actor, item=item, action=AuditAction.INBOX_ACKNOWLEDGE, verb="acknowledged",
                now=now, status=InboxStatus.ACKNOWLEDGED, snoozed_until=None,
                acknowledged_by=actor if getattr(actor, "pk", None) else None, acknowledged_at=now, note=note)


@requires(Action.REQUEST)
def inbox_reopen(*, tenant, actor, item, now: datetime | None = None) -> InboxItem:
    """Put an acknowledged or snoozed item back on the open list (who acknowledged it stays in the
    audit log)."""
    now = now or timezone.now()
    with tenant_context(tenant):
        locked = InboxItem.objects.select_for_update().filter(pk=getattr(item, "pk", item)).first()
        if locked is None:
            raise DomainError("This alert does not exist.")
        if inbox_is_open(locked, now=now):
            raise DomainError(f"Alert #{locked.ref} is open already.")
        before = _state(locked)
        _reopen(locked)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.INBOX_REOPEN, obj=locked, before=before,
                     after=_state(locked))
    return locked


def inbox_item_escalate(*, item: InboxItem, title: str) -> InboxItem:
    """What the item is about got worse: the new subject line, and open again whatever its state
    (in the current tenant and transaction; the domain records what changed)."""
    item = InboxItem.objects.select_for_update().get(pk=item.pk)
    item.title = title[:300]
    _reopen(item)
    return item


def _reopen(item: InboxItem) -> None:
    item.status, item.snoozed_until = InboxStatus.OPEN, None
    item.acknowledged_by, item.acknowledged_at, item.note = None, None, ""
    item.save(update_fields=["title", "status", "snoozed_until", "acknowledged_by", "acknowledged_at", "note"])


@requires(Action.REQUEST)
def inbox_snooze(*, tenant, actor, item, days: int = SNOOZE_DAYS, now: datetime | None = None) -> InboxItem:
    """Put it aside for `days`; after that it counts as open again."""
    if not 1 <= days <= 90:
        raise DomainError("Snooze an alert for 1 to 90 days.")
    now = now or timezone.now()
    return _set(tenant=tenant, actor=actor, item=item, action=AuditAction.INBOX_SNOOZE, verb="snoozed", now=now,
                status=InboxStatus.SNOOZED, snoozed_until=now + timedelta(days=days))
