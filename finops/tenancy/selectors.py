"""Reads of the directory (organisations, memberships, invitations)."""

from __future__ import annotations

from django.db.models import QuerySet

from .context import user_context
from .models import Invitation, Membership, Organization


def membership_for(*, user, slug: str) -> Membership | None:
    with user_context(user):
        return (
            Membership.objects.select_related("organization")
            .filter(user=user, organization__slug=slug)
            .first()
        )


def memberships_of(*, user) -> list[Membership]:
    with user_context(user):
        return list(Membership.objects.select_related("organization").filter(user=user).order_by("organization__name"))


# Within the organisation's tenant context (a page of the organisation, or a service):


def member_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=org).order_by("user__email")


def invitation_list_pending(*, org: Organization) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        organization=org, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
