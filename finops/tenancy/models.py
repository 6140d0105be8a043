"""Organisations (the tenants), their members and invitations.

These three tables are the directory the app consults *before* it knows the tenant (to answer
"which organisations may this user open?"), so they carry `organization_id`, not `tenant_id`.
Organisations are visible to all (a slug names nothing secret). Memberships and invitations are
under row-level security too (migration 0002, `rls.DIRECTORY_POLICIES`): visible within their
organisation's tenant context, to a user for their own memberships (`user_context`), or by the
token of the invitation being redeemed (`invitation_context`); written only in the tenant
context. Access goes through `selectors` and `services`, which enter those contexts. Every other
table that belongs to an organisation inherits `TenantModel`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from djmoney.models.fields import CurrencyField

from .managers import TenantManager
from .permissions import Role


class Organization(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    reporting_currency = CurrencyField(default="USD")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="organization_fiscal_month_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.role}"


class Invitation(models.Model):
    """An e-mailed link to join an organisation. Only the SHA-256 of the token is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization_id} as {self.role}"


class TenantModel(models.Model):
    """Base of every tenant-owned table: `tenant_id` + row-level security + a fail-closed manager."""

    # No single-column index: every tenant table has indexes that lead with tenant_id.
    tenant = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)

    objects = TenantManager()

    class Meta:
        abstract = True


class RateLimitHit(models.Model):
    """One counted request of a rate-limited action (`finops/ratelimit.py`), e.g. a password-reset
    mail for an address or from an IP address. Site-level, like users: no tenant. Rows older
    than their window are deleted as new ones come in."""

    scope = models.CharField(max_length=40)  # "password_reset:email", "password_reset:ip"
    key = models.CharField(max_length=128)  # an IP address, or the SHA-256 of an e-mail address
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "at"], name="ratelimithit_key_idx"),
            models.Index(fields=["at"], name="ratelimithit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} at {self.at:%Y-%m-%d %H:%M:%S}"
