"""API tokens: created by admins (the page and `create_api_token`), shown once, stored hashed,
revoked, and turned back into a caller (`token_authenticate`).

A token acts as a member (`ApiToken.user`) with that member's role at the time of each request,
so the services' role rules (`finops.tenancy.policy`) apply to the API unchanged; its scopes only
narrow what it may call (a read-only token never writes, whatever the member may do). Every
change made with a token is audited with its name (`audit_label`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from finops.audit.actions import AuditAction
from finops.audit.services import acting_via, audit_record
from finops.errors import DomainError, found
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires, role_of

from .models import ApiToken, Scope

TOKEN_PREFIX = "fo_"
LAST_USED_EVERY = timedelta(minutes=1)  # last-used time is written at most this often

def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # the whole token: shown once, never stored


def _scopes(scopes: Sequence[str]) -> list[str]:
    chosen = sorted({s.strip().lower() for s in scopes if s and s.strip()})
    unknown = [s for s in chosen if s not in Scope.values]
    if unknown:
        raise DomainError(f"Unknown scope {', '.join(unknown)}; choose among {', '.join(Scope.values)}.")
    if not chosen:
        raise DomainError("Give the token at least one scope (read, write).")
    if Scope.WRITE in chosen and Scope.READ not in chosen:
        chosen = sorted({*chosen, Scope.READ.value})  # what may write may read what it wrote
    return chosen


def expiry_after(day) -> datetime:
    """A token that works through `day` (its last day, in the project's time zone) expires at its end."""
    from datetime import time

    return timezone.make_aware(datetime.combine(day, time.max))


@requires(Action.ADMINISTER, "create API tokens")
def token_create(*, tenant, actor, name: str, user, scopes: Sequence[str],
                 expires_at: datetime | None = None) -> Issued:
    """A new token acting as `user` (a member) with `scopes`; its secret is returned once."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the token after what will use it (e.g. “warehouse sync”).")
    if len(name) > 100:
        raise DomainError("A token's name has at most 100 characters.")
    chosen = _scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry is in the past: choose a later date, or none.")
    if role_of(tenant=tenant, actor=user) is None:
        raise DomainError(f"{user.email} is not a member of this organisation: a token acts as a member.")
    with tenant_context(tenant):
        if ApiToken.objects.filter(name=name).exists():
            raise DomainError(f"A token named “{name}” exists already: choose another name.")
        body = secrets.token_urlsafe(32)
        prefix = body[:8]
        raw = f"{TOKEN_PREFIX}{prefix}_{body[8:]}"
        token = ApiToken.objects.create(tenant_id=tenant.pk, name=name, prefix=f"{TOKEN_PREFIX}{prefix}",
                                        token_hash=token_hash(raw), scopes=chosen, user=user,
                                        created_by=actor if getattr(actor, "pk", None) else None,
                                        expires_at=expires_at)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.API_TOKEN_CREATE, obj=token,
                     after={"name": name, "scopes": chosen, "user": user.email,
                            "expires_at": expires_at.isoformat() if expires_at else None})
    return Issued(token, raw)


@requires(Action.ADMINISTER, "revoke API tokens")
def token_revoke(*, tenant, actor, token: ApiToken) -> ApiToken:
    with tenant_context(tenant):
        token = found(ApiToken.objects.filter(pk=token.pk).first(), "API token")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(tenant=tenant, actor=actor, action=AuditAction.API_TOKEN_REVOKE, obj=token,
                         before={"revoked": False}, after={"revoked": True})
    return token


def token_list(*, tenant) -> list[ApiToken]:
    with tenant_context(tenant):
        return list(ApiToken.objects.select_related("user", "created_by"))


def access_token(*, tenant, pk) -> ApiToken:
    with tenant_context(tenant):
        return found(ApiToken.objects.filter(pk=pk).first(), "API token")


@contextmanager
def _by_hash(digest: str) -> Iterator[None]:
    """The token's row is visible by its hash alone (its organisation is not known yet)."""
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.api_token', %s, true)", [digest])
        yield


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token, its organisation, the member it acts as and that member's role."""

    token: ApiToken
    tenant: object
    user: object
    role: str

    def may(self, scope: str) -> bool:
        return scope in self.token.scopes


class NotAuthenticated(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def token_authenticate(raw: str, *, now: datetime | None = None) -> Caller:
    """The caller a bearer token stands for, or NotAuthenticated saying why not."""
    now = now or timezone.now()
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise NotAuthenticated("Send an API token: Authorization: Bearer fo_…")
    digest = token_hash(raw)
    token = _token_row(digest)
    if token is None:
        raise NotAuthenticated("This API token is not known.")
    if token.revoked_at is not None:
        raise NotAuthenticated("This API token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated(f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.")
    role = role_of(tenant=token.tenant, actor=token.user)
    if role is None:
        raise NotAuthenticated(f"{token.user.email}, whom this token acts as, is no longer a member.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        with tenant_context(token.tenant):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return Caller(token=token, tenant=token.tenant, user=token.user, role=role)


def _token_row(digest: str) -> ApiToken | None:
    """The token with this hash: found by its hash (row-level security lets that one row through),
    then read within its organisation."""
    from finops.tenancy.models import Organization

    with _by_hash(digest), connection.cursor() as cursor:
        cursor.execute("SELECT id, tenant_id FROM api_apitoken WHERE token_hash = %s", [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    tenant = Organization.objects.get(pk=row[1])
    with tenant_context(tenant):
        return ApiToken.objects.select_related("user").get(pk=row[0])


def audit_label(token: ApiToken):
    """Changes made inside are audited as made with `token` (its name beside the member's)."""
    return acting_via(f"API token “{token.name}”")
