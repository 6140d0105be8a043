"""Reads of the directory (organisations, memberships, invitations)."""

from __future__ import annotations

from django.db.models import QuerySet

from finops.errors import found

from .context import tenant_context, user_context
from .models import Invitation, Membership, Organization


def organization_for_slug(slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def membership_in(*, tenant: Organization, user) -> Membership | None:
    """The user's membership of `tenant`, or None. Runs in (or opens) the organisation's tenant
    context, in which a request is served anyway: the middleware asks this first."""
    with tenant_context(tenant, savepoint=False):
        membership = Membership.objects.filter(organization=tenant, user=user).first()
    if membership is not None:
        membership.organization = tenant
    return membership


def memberships_of(*, user) -> list[Membership]:
    with user_context(user):
        return list(Membership.objects.select_related("organization").filter(user=user).order_by("organization__name"))


def member_user_by_email(*, tenant: Organization, email: str):
    """The user with this e-mail if they are a member of `tenant`, else None (for commands)."""
    with tenant_context(tenant):
        membership = (Membership.objects.select_related("user")
                      .filter(organization=tenant, user__email__iexact=email.strip()).first())
    return membership.user if membership else None


# Within the organisation's tenant context (a page of the organisation, or a service):


def member_users(*, tenant: Organization) -> QuerySet:
    """The users who are members of `tenant`, by e-mail (for a choice of person in a form)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(memberships__organization=tenant).order_by("email")


def member_list(*, tenant: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=tenant).order_by("user__email")


def invitation_list_pending(*, tenant: Organization) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        organization=tenant, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def access_membership(*, tenant: Organization, pk) -> Membership:
    """A membership of `tenant`, or NotFound. Memberships are visible to their own members too
    (row-level security), so the organisation is narrowed explicitly."""
    with tenant_context(tenant):
        return found(Membership.objects.select_related("user").filter(pk=pk, organization=tenant).first(),
                     "membership")


def access_invitation(*, tenant: Organization, pk) -> Invitation:
    with tenant_context(tenant):
        return found(Invitation.objects.filter(pk=pk, organization=tenant).first(), "invitation")
