"""Organisation API tokens and the responses of idempotent POSTs.

A token is `fo_<prefix>_<secret>`: shown once, stored as its SHA-256 only. It acts as the member
who created it for (`user`), with that member's current role, narrowed by its scopes: `read`
(GET) and `write` (every POST). A token whose member has left, that is revoked or past its
expiry, authenticates nothing. It is found before its organisation is known, so its row is also
visible by its hash (`app.api_token`, see `finops.api.tokens.token_context`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.tenancy.models import TenantModel


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class ApiToken(TenantModel):
    # Never deleted (revoked instead): the audit log names it.
    runtime_refuses = ("DELETE",)

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # shown in lists, so a token can be recognised
    token_hash = models.CharField(max_length=64)  # SHA-256 hex of the whole token
    scopes = models.JSONField(default=list)  # a subset of Scope
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="apitoken_hash_unique"),
            models.UniqueConstraint(fields=["tenant", "name"], name="apitoken_name_unique"),
        ]

    def __str__(self) -> str:
        return f"API token “{self.name}” ({self.prefix}…)"


class IdempotentResponse(TenantModel):
    """What a POST with an `Idempotency-Key` answered, replayed for the same key and body."""

    token = models.ForeignKey(ApiToken, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "token", "key"], name="idempotentresponse_key_unique")]
        indexes = [models.Index(fields=["tenant", "created_at"], name="idempotentresponse_age_idx")]
