"""The outbox: queue a message in the transaction that has something to tell, send it after.

Queueing (`outbox_queue`, `site_outbox_queue`) writes delivery rows in the caller's transaction,
so a message exists exactly when what it tells of has committed. For kinds recipients choose
(`Kind.chosen`), each address's `Preference` decides: immediately, the next daily digest (07:00
UTC), or nothing. Re-queueing the same (kind, ref, channel, recipient) adds nothing.

Sending (`outbox_send`, `site_outbox_send`) runs after that commit, from a task, from beat, or
right after the request's commit for what someone waits for (an invitation, a password reset:
`send_after_commit`). Delivery is AT LEAST ONCE: due deliveries are claimed (row locks taken
with SKIP LOCKED, status "sending", one Message-ID per message) and committed; then the message
goes; then they are marked "sent". A crash between the claim and the mark leaves them "sending":
after SENDING_TIMEOUT they are sent again with the SAME Message-ID, so a mail server or client
can drop the duplicate. The alternative (mark sent, then send) loses messages on a crash; a
repeated one is the lesser harm. A send that fails with an exception puts its deliveries back to
"pending" at once, the error kept; beat tries again. A kind that says its message can never be
sent (`Undeliverable`) has its deliveries marked "failed", with the reason.

One message per delivery, except for grouped kinds (`Kind.grouped`): one recipient's due
deliveries of that kind go out together (the variance alerts of one evaluation, or of a day in
a digest).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from time import monotonic

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from finops.tenancy.context import require_tenant_id, tenant_context
from finops.tenancy.models import Organization

from .kinds import Undeliverable, kind_get
from .models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Mode, SiteDelivery
from .preferences import preferences_of

log = logging.getLogger(__name__)

SENDING_TIMEOUT = timedelta(minutes=15)
EMAIL_ADDRESS_MAX = 254  # what SMTP takes (RFC 5321's path limit, less its brackets)
DIGEST_HOUR_UTC = 7  # the daily digest goes out at 07:00 UTC


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: to whom, about which row, and whether its rule wants the digest."""

    recipient: str
    ref: int | None = None
    digest: bool = False
    seq: int = 0  # the how-manieth message about `ref` (see Delivery.seq)
    channel: str = Channel.EMAIL
    payload: dict = field(default_factory=dict)


def next_digest_at(now: datetime) -> datetime:
    today = datetime.combine(now.astimezone(UTC).date(), time(DIGEST_HOUR_UTC), tzinfo=UTC)
    return today if now <= today else today + timedelta(days=1)


def _kind(name: str):
    found = kind_get(name)
    if found is None:
        raise LookupError(f"No message kind {name!r} is registered.")
    return found


def outbox_queue(*, kind: str, items: Iterable[Outgoing], now: datetime | None = None) -> int:
    """Queue `items` of `kind` in the current tenant's context (and transaction); returns how many
    deliveries were written (an address that chose "off" gets none; one queued before, no new)."""
    found, now, tenant_id = _kind(kind), now or timezone.now(), require_tenant_id()
    items = list(items)
    modes = preferences_of(kind=kind, emails=[i.recipient for i in items]) if found.chosen else {}
    rows = []
    for item in items:
        if item.channel == Channel.EMAIL and len(item.recipient) > EMAIL_ADDRESS_MAX:
            raise ValueError(f"{item.recipient[:40]}… is longer than an e-mail address can be ({EMAIL_ADDRESS_MAX}).")
        mode = modes.get(item.recipient.lower(), Mode.IMMEDIATE)
        if mode == Mode.OFF:
            continue
        digest = found.chosen and (mode == Mode.DIGEST or item.digest)
        rows.append(Delivery(tenant_id=tenant_id, kind=kind, ref=item.ref, seq=item.seq, channel=item.channel,
                             recipient=item.recipient,
                             payload=item.payload, due_at=next_digest_at(now) if digest else now))
    queued_before = set(Delivery.objects.filter(kind=kind, ref__in={r.ref for r in rows})
                        .values_list("ref", "seq", "channel", "recipient"))
    rows = [r for r in rows if (r.ref, r.seq, r.channel, r.recipient) not in queued_before]
    # A sender queueing the same message at this moment loses the race quietly (the unique key).
    return len(Delivery.objects.bulk_create(rows, ignore_conflicts=True))


def site_outbox_queue(*, kind: str, item: Outgoing, now: datetime | None = None) -> SiteDelivery:
    """Queue one message that belongs to no organisation (a password reset)."""
    _kind(kind)
    return SiteDelivery.objects.create(kind=kind, ref=item.ref, channel=item.channel, recipient=item.recipient,
                                       payload=item.payload, due_at=now or timezone.now())


def message_id(*, kind: str, scope: int | str, delivery_ids: list[int]) -> str:
    """Stable per set of deliveries: the same deliveries sent again carry the same Message-ID."""
    digest = hashlib.sha256(",".join(map(str, sorted(delivery_ids))).encode()).hexdigest()[:16]
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "finops"
    return f"<{_kind(kind).message_id_prefix}.{scope}.{min(delivery_ids)}.{digest}@{domain}>"


def _claim(model, *, scope: int | str, now: datetime, only: dict) -> list[str]:
    """Claim due deliveries (and those stuck "sending" past the timeout), one Message-ID per
    message; committed by the caller's block before anything is sent."""
    due = list(model.objects.select_for_update(skip_locked=True)
               .filter(status=DeliveryStatus.PENDING, due_at__lte=now, **only).order_by("id"))
    stuck = list(model.objects.select_for_update(skip_locked=True)
                 .filter(status=DeliveryStatus.SENDING, sending_at__lt=now - SENDING_TIMEOUT, **only).order_by("id"))
    messages = defaultdict(list)
    for d in due:
        found = kind_get(d.kind)
        key = (d.kind, d.channel, d.recipient) if found is not None and found.grouped else d.pk
        messages[key].append(d)
    for group in messages.values():
        kind = group[0].kind
        mid = (message_id(kind=kind, scope=scope, delivery_ids=[d.pk for d in group]) if kind_get(kind)
               else f"<unknown.{scope}.{group[0].pk}@finops>")
        for d in group:
            d.message_id = mid
    for d in [*due, *stuck]:
        d.status, d.sending_at, d.attempts = DeliveryStatus.SENDING, now, d.attempts + 1
    model.objects.bulk_update([*due, *stuck], ["status", "sending_at", "attempts", "message_id"])
    return list(dict.fromkeys(d.message_id for d in [*due, *stuck]))


def _scope(tenant: Organization | None):
    return tenant_context(tenant) if tenant is not None else transaction.atomic()


def _only(kind: str | None, refs: list[int] | None) -> dict:
    return {k: v for k, v in (("kind", kind), ("ref__in", refs)) if v is not None}


def outbox_claim(*, tenant, now: datetime | None = None, kind: str | None = None,
                 refs: list[int] | None = None) -> list[str]:
    """Claim what is due in `tenant` and commit: the first step of sending, alone (a sender that
    dies right after it leaves exactly this behind). Returns the Message-IDs claimed."""
    tenant = tenant if isinstance(tenant, Organization) else Organization.objects.get(pk=tenant)
    with _scope(tenant):
        return _claim(Delivery, scope=tenant.pk, now=now or timezone.now(), only=_only(kind, refs))


def _send(model, *, tenant: Organization | None, now: datetime, only: dict) -> int:
    def scope():
        return _scope(tenant)

    with scope():
        message_ids = _claim(model, scope=tenant.pk if tenant is not None else "site", now=now, only=only)
    sent = 0
    for mid in message_ids:
        with scope():
            deliveries = list(model.objects.filter(message_id=mid, status=DeliveryStatus.SENDING).order_by("id"))
            if not deliveries:
                continue
            ids = [d.pk for d in deliveries]
            kind = kind_get(deliveries[0].kind)
            try:
                if kind is None:
                    raise Undeliverable(f"No message kind {deliveries[0].kind!r} is registered.")
                message = kind.build(tenant=tenant, deliveries=deliveries, message_id=mid)
            except Undeliverable as exc:
                model.objects.filter(pk__in=ids).update(status=DeliveryStatus.FAILED, last_error=str(exc)[:1000])
                log.warning("outbox: %s not sent and not to be tried again: %s", mid, exc)
                continue
            except Exception as exc:  # noqa: BLE001  a bug in one kind must not stop the others
                log.exception("outbox: could not build %s", mid)
                model.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, last_error=str(exc)[:1000])
                continue
        started, clock = timezone.now(), monotonic()
        try:
            answer = message.send()
        except Exception as exc:  # noqa: BLE001  the server refused or was unreachable: due again
            # at once, or after the kind's wait for this many attempts
            wait = None if kind.retry is None else kind.retry(deliveries[0].attempts)
            due = {} if wait is None else {"due_at": timezone.now() + wait}
            with scope():
                model.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, last_error=str(exc)[:1000],
                                                        **due)
                _attempts_log(model, deliveries, started, clock, ok=False, answer=str(exc))
            if wait is not None and tenant is not None:  # tried again when due, not at beat's next round
                from .tasks import outbox_send_task

                transaction.on_commit(lambda t=tenant.pk, w=wait: outbox_send_task.apply_async(
                    (t,), countdown=w.total_seconds()))
            continue
        with scope():
            model.objects.filter(pk__in=ids, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
            _attempts_log(model, deliveries, started, clock, ok=True,
                          answer=answer if isinstance(answer, str) and answer else "sent")
        sent += 1
    return sent


def _attempts_log(model, deliveries, started: datetime, clock: float, *, ok: bool, answer: str) -> None:
    """Keep this try of each delivery (an organisation's; site messages keep only their last error)."""
    if model is not Delivery:
        return
    took = int((monotonic() - clock) * 1000)
    DeliveryAttempt.objects.bulk_create(
        [DeliveryAttempt(tenant_id=d.tenant_id, delivery_id=d.pk, number=d.attempts, at=started, duration_ms=took,
                         ok=ok, answer=str(answer)[:1000]) for d in deliveries])


def outbox_send(*, tenant, now: datetime | None = None, kind: str | None = None,
                refs: list[int] | None = None) -> int:
    """Send the due deliveries of `tenant` (only those of `kind` / `refs` when given); returns
    the messages sent. Must run outside any transaction: the claim commits before sending."""
    tenant = tenant if isinstance(tenant, Organization) else Organization.objects.get(pk=tenant)
    return _send(Delivery, tenant=tenant, now=now or timezone.now(), only=_only(kind, refs))


def site_outbox_send(*, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Send the due site-level deliveries (only `ids` when given); returns the messages sent."""
    return _send(SiteDelivery, tenant=None, now=now or timezone.now(), only={"pk__in": ids} if ids else {})


def send_after_commit(*, tenant=None, kind: str, refs: list[int] | None = None, ids: list[int] | None = None) -> None:
    """Send these deliveries as soon as the current transaction commits, in this process, for
    messages someone is waiting for. A failure is logged, never raised into the request: the
    delivery stays pending and beat sends it (`tasks.outbox_send_all`)."""
    tenant_id = getattr(tenant, "pk", tenant)

    def send() -> None:
        try:
            if tenant_id is None:
                site_outbox_send(ids=ids)
            else:
                outbox_send(tenant=tenant_id, kind=kind, refs=refs)
        except Exception:  # noqa: BLE001
            log.exception("outbox: sending %s after commit failed; beat will try again", kind)

    transaction.on_commit(send)  # at once when no transaction is open
