"""The audit trail: who changed what and when, with the values before and after.

Rows are append-only (the database refuses UPDATE and DELETE) and readable by every member,
viewers and auditors included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.tenancy.models import TenantModel


class AuditEvent(TenantModel):
    # Append-only: the runtime role may not change rows, and a trigger refuses it.
    runtime_refuses = ("UPDATE", "DELETE")

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True)  # kept if the user is deleted
    action = models.CharField(max_length=60)  # an AuditAction (finops/audit/actions.py)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at", "-id"], name="auditevent_at_idx"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="auditevent_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
