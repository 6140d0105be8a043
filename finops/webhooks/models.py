from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.tenancy.models import TenantModel


class WebhookEndpoint(TenantModel):
    """Where an organisation wants events sent: a URL, the secret its deliveries are signed with,
    and the event types it subscribes to (none: every type)."""

    # Never deleted (disabled instead): its delivery log refers to it.
    runtime_refuses = ("DELETE",)

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80)  # "whsec_" + base64 of 24 random bytes (Standard Webhooks)
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhookendpoint_active_idx")]

    def __str__(self) -> str:
        return f"Webhook endpoint {self.url}"

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.event_types or event_type in self.event_types)
