"""Rate limits kept in the database: how many times an action may happen per key within a window.

In the database, not the cache: a limit must hold (and the page behind it keep working) when
Redis is down, and two requests at once must not both slip under it, which a row lock per key
makes sure of. Only what is let through is counted, so the rows per key never exceed the limit;
rows older than the longest window are deleted as new ones come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from finops.tenancy.models import RateLimitHit

LOCK_CLASS = 0x726C_6D74  # pg_advisory_xact_lock(class, hashtext(scope:key)): "rlmt"


@dataclass(frozen=True)
class Limit:
    scope: str
    key: str
    limit: int
    window: timedelta


def rate_limit_take(*limits: Limit) -> bool:
    """Whether the action may happen now under every one of `limits`; if so it is counted
    against each of them (all or none)."""
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for limit in sorted(limits, key=lambda x: (x.scope, x.key)):  # one lock order for all
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS,
                                                                                  f"{limit.scope}:{limit.key}"])
        for limit in limits:
            RateLimitHit.objects.filter(scope=limit.scope, at__lt=now - limit.window).delete()
        for limit in limits:
            used = RateLimitHit.objects.filter(scope=limit.scope, key=limit.key, at__gte=now - limit.window).count()
            if used >= limit.limit:
                return False
        RateLimitHit.objects.bulk_create([RateLimitHit(scope=limit.scope, key=limit.key, at=now) for limit in limits])
        return True
