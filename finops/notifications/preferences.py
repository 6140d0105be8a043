"""Recipients' choices per organisation and message kind, and the signed unsubscribe link.

The unsubscribe link sits at the site root, outside /o/<slug>/: its token (organisation,
address, kind, signed with the time by Django's `signing.dumps`) is the credential, so it works
without signing in, and stops working after NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS. Links mailed
before kinds existed carry no kind: they are variance alerts' (the only kind with one then), and
the salt is theirs, so those links keep working.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing

from finops.errors import DomainError
from finops.tenancy.context import tenant_context

from .kinds import kind_get
from .models import Mode, Preference

UNSUBSCRIBE_SALT = "budgets.alerts.unsubscribe"  # the first kind's; kept so mailed links still work
KIND_OF_OLD_LINKS = "variance_alert"


class UnsubscribeLinkExpired(Exception):
    """An unsubscribe token signed longer ago than NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS."""

    def __init__(self, tenant_id: int | None):
        super().__init__(tenant_id)
        self.tenant_id = tenant_id


def unsubscribe_token(*, tenant_id: int, email: str, kind: str) -> str:
    return signing.dumps({"t": tenant_id, "e": email.lower(), "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, str, str] | None:
    """(tenant id, address, kind) of a valid token; None for a tampered or malformed one. Raises
    `UnsubscribeLinkExpired` (with the tenant, the signature being genuine) for an old one."""
    try:
        max_age = timedelta(days=settings.NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS)
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
        kind = str(data.get("k", KIND_OF_OLD_LINKS))
        if kind_get(kind) is None:
            return None
        return int(data["t"]), str(data["e"]), kind
    except signing.SignatureExpired:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)  # genuine, only old: which organisation
        raise UnsubscribeLinkExpired(data.get("t") if isinstance(data, dict) else None) from None
    except (signing.BadSignature, AttributeError, KeyError, TypeError, ValueError):
        return None


def _chosen_kind(kind: str):
    found = kind_get(kind)
    if found is None or not found.chosen:
        raise DomainError(f"There is no choice to make for messages of kind {kind!r}.")
    return found


def preference_get(*, tenant, email: str, kind: str) -> str:
    """The delivery mode of `email` for `kind` in `tenant` (immediately when never chosen)."""
    with tenant_context(tenant):
        mode = Preference.objects.filter(email=email.lower(), kind=kind).values_list("mode", flat=True).first()
    return mode or Mode.IMMEDIATE


def preferences_of(*, kind: str, emails) -> dict[str, str]:
    """Address → mode, for those of `emails` that chose one (inside the tenant's context)."""
    return dict(Preference.objects.filter(kind=kind, email__in=[e.lower() for e in emails])
                .values_list("email", "mode"))


def preference_set(*, tenant, email: str, kind: str, mode: str) -> Preference:
    _chosen_kind(kind)
    if mode not in Mode.values:
        raise DomainError(f"Unknown preference {mode!r}; choose immediate, digest or off.")
    email = email.lower()
    with tenant_context(tenant) as tenant_id:
        user = get_user_model().objects.filter(email__iexact=email).first()
        pref, _ = Preference.objects.update_or_create(
            tenant_id=tenant_id, email=email, kind=kind, defaults={"mode": mode, "user": user})
    return pref
