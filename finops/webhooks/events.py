"""Events and their deliveries.

A domain calls `webhook_emit(tenant=…, event_type=…, ref=…, data=…)` inside the transaction that
makes the event happen: one outbox delivery per subscribed endpoint is written there, so an
event is sent exactly when it has committed (and never when it rolled back). Each event type is
an outbox kind of its own (`webhook:<type>`), and (type, ref, seq) names one event, so emitting
the same event twice queues nothing more.

Sending (the outbox's task, after commit): a POST of the event as JSON with the Standard
Webhooks headers, 10 s to answer; any 2xx is delivered. Anything else — another status, a
timeout, a refused connection — is tried again after 30 s, 1 min, 2 min … (doubling, at most an
hour apart) until a day has passed since the event, then the delivery is marked failed. Each
attempt is kept (`DeliveryAttempt`: when, how long, "HTTP 500 Internal Server Error: …").

Where events may go: http(s) URLs only; in production, never a private, loopback or link-local
address (checked when the endpoint is saved and again before each send, against DNS answers
that change); `WEBHOOKS_ALLOW_PRIVATE` (default: DEBUG) lets tests and development use a local
receiver."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from finops.errors import DomainError
from finops.notifications.kinds import Kind, Undeliverable, kind_register
from finops.notifications.models import Channel
from finops.notifications.outbox import Outgoing, outbox_queue

from .signing import sign

EVENT_TYPES = {
    "alert.raised": "A budget line crossed a variance-alert threshold",
    "alert.escalated": "An alert crossed a higher threshold",
    "alert.acknowledged": "Someone acknowledged an alert",
    "import.completed": "A GL import succeeded",
    "import.failed": "A GL import was refused (its row errors are in the job)",
    "budget_version.submitted": "A budget version was submitted for approval",
    "budget_version.approved": "A budget version was approved",
    "transfer.decided": "A budget transfer request was approved or rejected",
    "period.closed": "A period was closed",
    "period.reopened": "A period was reopened",
}
# Sent only to the endpoint an admin asks it for ("Send test event"); not subscribable.
TEST_EVENT = "webhook.test"
TIMEOUT_SECONDS = 10
GIVE_UP_AFTER = timedelta(days=1)
LONGEST_WAIT = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts` + 1: 30 s, 1 min, 2 min, … at most an hour
    (`WEBHOOK_FIRST_RETRY_SECONDS` sets the first wait)."""
    first = timedelta(seconds=getattr(settings, "WEBHOOK_FIRST_RETRY_SECONDS", 30))
    return min(first * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def kind_name(event_type: str) -> str:
    return f"webhook:{event_type}"


def url_check(url: str) -> str:
    """`url` when events may go there, else DomainError saying why (see the module)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("A webhook URL is http:// or https:// with a host, e.g. https://ops.example/finops-events.")
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", settings.DEBUG):
        return url.strip()
    try:
        answers = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise DomainError(f"{parts.hostname} does not resolve: check the URL.") from None
    for address in answers:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise DomainError(f"{parts.hostname} resolves to {ip}, a private or local address: webhooks go "
                              f"only to public addresses.")
    return url.strip()


@dataclass(frozen=True)
class Event:
    ref: int  # the row the event is about
    data: dict
    seq: int | None = None  # the occurrence: the same seq again queues nothing; None: a new one


def webhook_emit(*, tenant, event_type: str, ref: int, data: dict, seq: int | None = None) -> int:
    """Queue `event_type` about row `ref` for every active endpoint subscribed to it (in the
    current transaction). `seq` names the occurrence (the same seq again queues nothing: an alert
    escalated twice to the same level is one event); without one, each call is a new occurrence.
    Returns the deliveries queued."""
    return webhook_emit_many(tenant=tenant, event_type=event_type, events=[Event(ref, data, seq)])


def webhook_emit_many(*, tenant, event_type: str, events) -> int:
    """`webhook_emit` for several events of one type: one look at the endpoints, one queueing."""
    from finops.tenancy.context import tenant_context

    from .models import WebhookEndpoint

    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event {event_type!r}.")
    with tenant_context(tenant):
        endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if e.wants(event_type)]
        return webhook_queue(tenant=tenant, event_type=event_type, events=events, endpoints=endpoints)


def webhook_queue(*, tenant, event_type: str, events, endpoints) -> int:
    """Queue `events` of `event_type` for these endpoints (in the current transaction, which must
    have `tenant`'s context); a worker sends them once it commits. Returns the deliveries queued."""
    from django.db import transaction
    from django.db.models import Max

    from finops.notifications.models import Delivery
    from finops.notifications.tasks import outbox_send_task

    if not endpoints:
        return 0
    kind = kind_name(event_type)
    items, now = [], timezone.now().isoformat()
    for event in events:
        seq = event.seq
        if seq is None:
            last = Delivery.objects.filter(kind=kind, ref=event.ref).aggregate(m=Max("seq"))["m"]
            seq = 0 if last is None else last + 1
        payload = {"type": event_type, "timestamp": now, "data": event.data}
        items += [Outgoing(recipient=f"endpoint:{e.pk}", ref=event.ref, seq=seq, channel=Channel.WEBHOOK,
                           payload=payload) for e in endpoints]
    queued = outbox_queue(kind=kind, items=items)
    if queued:  # a worker sends it once this commits: a slow receiver never holds up the request
        tenant_id = tenant.pk
        transaction.on_commit(lambda: outbox_send_task.delay(tenant_id))
    return queued


class WebhookFailed(Exception):
    pass


@dataclass
class _Post:
    url: str
    body: bytes
    headers: dict

    def send(self) -> str:
        """POST it; what the receiver answered ("HTTP 204 No Content"), else WebhookFailed."""
        url_check(self.url)  # again: the name may resolve elsewhere now
        request = urllib.request.Request(self.url, data=self.body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (checked)
                status, reason = response.status, response.reason
        except urllib.error.HTTPError as exc:
            raise WebhookFailed(f"HTTP {exc.code} {exc.reason}{_excerpt(exc)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise WebhookFailed(f"no answer: {getattr(exc, 'reason', exc)}") from None
        if not 200 <= status < 300:
            raise WebhookFailed(f"HTTP {status} {reason}")
        return f"HTTP {status} {reason}".strip()


def _excerpt(error: urllib.error.HTTPError) -> str:
    """The start of what a refusing receiver said, for the delivery log."""
    try:
        text = error.read(300).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f": {' '.join(text.split())[:200]}" if text else ""


def build(*, tenant, deliveries, message_id: str):
    """The POST of one delivery (webhook kinds are not grouped)."""
    from finops.tenancy.context import tenant_context

    from .models import WebhookEndpoint

    delivery = deliveries[0]
    if timezone.now() - delivery.created_at > GIVE_UP_AFTER:
        raise Undeliverable(f"Not delivered within {GIVE_UP_AFTER.days} day: given up ({delivery.last_error}).")
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.filter(pk=int(delivery.recipient.split(":", 1)[1])).first()
    if endpoint is None or not endpoint.active:
        raise Undeliverable("The endpoint was disabled before the event could be sent.")
    msg_id = f"msg_{tenant.pk}_{delivery.pk}"  # the same on every attempt: receivers drop repeats by it
    timestamp = int(time.time())
    body = json.dumps({**delivery.payload, "id": msg_id}, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "finops-webhooks/1",
               "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secret=endpoint.secret, msg_id=msg_id, timestamp=timestamp, body=body)}
    return _Post(endpoint.url, body, headers)


def register_kinds() -> None:
    for event_type, label in {**EVENT_TYPES, TEST_EVENT: "A test event an admin sent"}.items():
        kind_register(Kind(name=kind_name(event_type), label=label, build=build, retry=backoff))
