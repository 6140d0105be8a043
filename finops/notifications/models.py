"""The outbox, the recipients' choices, and the inbox: one set of tables for every domain.

`Delivery` is one message to one recipient over one channel, written in the same transaction as
what it tells of, and sent after that commits (`finops.notifications.outbox`). What the message
is about is named, not referenced: `kind` (a registered message kind, `kinds.py`: "variance_alert",
"invitation", …) and `ref` (the id of the row of that kind it tells of: an alert, an invitation).
A channel (e-mail today, webhooks with the API) is a column, so a domain adds a kind, not a table.
`SiteDelivery` is the same row for what belongs to no organisation (a password reset, which is a
user's): site-level, like users, with no tenant and no row-level security.

`Preference` is a recipient's choice per organisation and kind: immediately, in the daily digest,
or not at all.

`InboxItem` is what someone in the organisation should look at (a budget line past its threshold,
a cost anomaly, a failed revenue run): a subject line and a link, open until someone acknowledges
it (who, when, and a note are kept) or snoozed until a date, when it counts as open again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.tenancy.models import TenantModel


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # the kind said it can never be sent (e.g. its subject is gone)


class DeliveryFields(models.Model):
    """What every outbox row holds, tenant or site (see the module docstring)."""

    kind = models.CharField(max_length=40)
    ref = models.BigIntegerField(null=True, blank=True)  # the row of that kind the message tells of
    # The how-manieth message about that row: 0 when it is first told of, 1, 2 … each time it
    # changes in a way worth telling again (an alert escalated to a higher threshold).
    seq = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.CharField(max_length=2000)  # an e-mail address, or a webhook's URL
    payload = models.JSONField(default=dict, blank=True)  # what the kind needs to build the message
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    due_at = models.DateTimeField()  # now for immediate delivery, the next digest for a digest
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=200, blank=True)  # shared by the deliveries of one message
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} #{self.ref} → {self.recipient} ({self.status})"


class Delivery(TenantModel, DeliveryFields):
    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "ref", "seq", "channel", "recipient"],
                                    name="delivery_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "due_at"], name="delivery_due_idx")]


class DeliveryAttempt(TenantModel):
    """One try at sending a delivery: when, how long it took, and what the other side answered
    ("HTTP 204", "HTTP 500 Internal Server Error", "no answer: timed out"). A log: never changed."""

    runtime_refuses = ("UPDATE", "DELETE")

    delivery_id = models.BigIntegerField()
    number = models.PositiveSmallIntegerField()  # 1 for the first try
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    answer = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["delivery_id", "number", "id"]
        indexes = [models.Index(fields=["tenant", "delivery_id", "number"], name="deliveryattempt_delivery_idx")]


class SiteDelivery(DeliveryFields):
    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="sitedelivery_due_idx")]


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "Daily digest"
    OFF = "off", "Off"


class Preference(TenantModel):
    """How an address wants messages of one kind from one organisation (immediately when none)."""

    email = models.EmailField()
    kind = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "email", "kind"], name="preference_unique")]

    def __str__(self) -> str:
        return f"{self.email}: {self.kind} {self.mode}"


class InboxStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"


class InboxItem(TenantModel):
    kind = models.CharField(max_length=40)
    ref = models.BigIntegerField()  # the row of that kind it is about (an alert, an anomaly)
    title = models.CharField(max_length=300)
    link = models.CharField(max_length=2000, blank=True)  # a path inside the app
    status = models.CharField(max_length=12, choices=InboxStatus.choices, default=InboxStatus.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "ref"], name="inboxitem_unique")]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="inboxitem_status_idx")]

    def __str__(self) -> str:
        return self.title
