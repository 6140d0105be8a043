"""Beat: idempotent responses are kept a day (a client retries within minutes), then dropped."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

from .models import IdempotentResponse

KEEP = timedelta(days=1)


@shared_task
def idempotent_responses_expire() -> int:
    """Delete the stored answers older than KEEP, organisation by organisation (row-level security)."""
    cutoff, deleted = timezone.now() - KEEP, 0
    for tenant in Organization.objects.all():
        with tenant_context(tenant):
            deleted += IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()[0]
    return deleted
