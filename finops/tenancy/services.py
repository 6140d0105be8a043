"""Writes to the directory: organisations, members, invitations, password-reset limits.

Membership changes are audited in the organisation's audit trail. An organisation always keeps
at least one admin: the last one can be neither demoted nor removed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.ledger.money import active_currency_problem, is_valid_currency
from finops.notifications.outbox import Outgoing, outbox_queue, send_after_commit
from finops.ratelimit import Limit, rate_limit_take

from .context import invitation_context, tenant_context
from .messages import INVITATION, invitation_token, invitation_token_hash
from .models import Invitation, Membership, Organization
from .permissions import Action, Role
from .policy import requires

RESERVED_SLUGS = {"new", "admin", "static", "accounts", "invite", "api"}


def organization_create(*, slug: str, name: str, currency: str, fiscal_year_start: int = 1, creator=None) -> Organization:
    slug = slug.strip().lower()
    currency = currency.strip().upper()
    if slugify(slug) != slug or not slug or slug in RESERVED_SLUGS:
        raise DomainError(f"{slug!r} is not a usable slug: use lower-case letters, digits and hyphens.")
    if not is_valid_currency(currency):
        raise DomainError(f"Unknown currency {currency!r}.")
    if problem := active_currency_problem(currency):
        raise DomainError(problem)
    if not 1 <= int(fiscal_year_start) <= 12:
        raise DomainError("The fiscal year start month must be between 1 and 12.")
    with transaction.atomic():
        if Organization.objects.filter(slug=slug).exists():
            raise DomainError(f"An organisation with slug {slug!r} exists already.")
        tenant = Organization.objects.create(
            slug=slug, name=name.strip(), reporting_currency=currency, fiscal_year_start_month=int(fiscal_year_start)
        )
        if creator is not None:
            member_add(tenant=tenant, actor=creator, user=creator, role=Role.ADMIN)
        return tenant


def user_get_or_create(*, email: str, password: str | None = None):
    User = get_user_model()
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email[:150], email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def member_add(*, tenant: Organization, actor, user, role: str) -> Membership:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    with tenant_context(tenant):
        membership, created = Membership.objects.get_or_create(organization=tenant, user=user, defaults={"role": role})
        if not created and membership.role != role:
            return member_set_role(tenant=tenant, actor=actor, membership=membership, role=role)
        if created:
            audit_record(tenant=tenant, actor=actor, action=AuditAction.MEMBER_ADD, object_type="membership",
                         object_id=membership.pk, object_repr=user.email, after={"role": role})
        return membership


def _admin_count(tenant: Organization) -> int:
    return Membership.objects.filter(organization=tenant, role=Role.ADMIN).count()


@requires(Action.ADMINISTER)
def member_set_role(*, tenant: Organization, actor, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.")
    with tenant_context(tenant):
        # Lock the organisation's admins so two demotions cannot both pass the last-admin check.
        list(Membership.objects.select_for_update().filter(organization=tenant, role=Role.ADMIN))
        membership = Membership.objects.select_for_update().get(pk=membership.pk, organization=tenant)
        if membership.role == Role.ADMIN and role != Role.ADMIN and _admin_count(tenant) <= 1:
            raise DomainError("The organisation needs at least one admin.")
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(tenant=tenant, actor=actor, action=AuditAction.MEMBER_ROLE, object_type="membership",
                     object_id=membership.pk, object_repr=membership.user.email,
                     before={"role": before}, after={"role": role})
        return membership


@requires(Action.ADMINISTER)
def member_remove(*, tenant: Organization, actor, membership: Membership) -> None:
    with tenant_context(tenant):
        list(Membership.objects.select_for_update().filter(organization=tenant, role=Role.ADMIN))
        membership = Membership.objects.select_for_update().get(pk=membership.pk, organization=tenant)
        if membership.role == Role.ADMIN and _admin_count(tenant) <= 1:
            raise DomainError("The organisation needs at least one admin.")
        email = membership.user.email
        audit_record(tenant=tenant, actor=actor, action=AuditAction.MEMBER_REMOVE, object_type="membership",
                     object_id=membership.pk, object_repr=email, before={"role": membership.role})
        membership.delete()


@requires(Action.ADMINISTER)
def invitation_create(*, tenant: Organization, actor, email: str, role: str) -> tuple[Invitation, str]:
    """Create an invitation and queue the e-mail of its link, sent once this commits. Returns it
    and the raw token."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.")
    email = email.strip().lower()
    nonce = secrets.token_urlsafe(32)
    token = invitation_token(nonce)
    with tenant_context(tenant):
        if Membership.objects.filter(organization=tenant, user__email__iexact=email).exists():
            raise DomainError(f"{email} is already a member.")
        invitation = Invitation.objects.create(
            organization=tenant, email=email, role=role, token_hash=invitation_token_hash(token), invited_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        )
        audit_record(tenant=tenant, actor=actor, action=AuditAction.MEMBER_INVITE, object_type="invitation",
                     object_id=invitation.pk, object_repr=email, after={"role": role})
        outbox_queue(kind=INVITATION, items=[Outgoing(recipient=email, ref=invitation.pk, payload={"nonce": nonce})])
    send_after_commit(tenant=tenant, kind=INVITATION, refs=[invitation.pk])  # someone is waiting for it
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    token_hash = invitation_token_hash(token)
    with invitation_context(token_hash):
        return Invitation.objects.select_related("organization").filter(token_hash=token_hash).first()


def invitation_check(invitation: Invitation | None) -> Invitation:
    """Raise, in words, why an invitation can no longer be accepted."""
    if invitation is None:
        raise DomainError("This invitation link is not valid.")
    if invitation.revoked_at:
        raise DomainError("This invitation was withdrawn by an admin of the organisation.")
    if invitation.accepted_at:
        raise DomainError("This invitation has been used already.")
    if invitation.expires_at <= timezone.now():
        raise DomainError("This invitation has expired: ask an admin to invite you again.")
    return invitation


def _invitation_locked(token_hash: str) -> Invitation:
    return invitation_check(
        Invitation.objects.select_for_update(of=("self",)).select_related("organization")
        .filter(token_hash=token_hash).first()
    )


def invitation_accept(*, token: str, user) -> Membership:
    token_hash = invitation_token_hash(token)
    with invitation_context(token_hash):
        invitation = _invitation_locked(token_hash)
        if user.email.lower() != invitation.email.lower():
            raise DomainError(f"This invitation is for {invitation.email}; you are signed in as {user.email}.")
        with tenant_context(invitation.organization):  # the directory is written in its organisation
            invitation.accepted_at = timezone.now()
            invitation.save(update_fields=["accepted_at"])
            return member_add(tenant=invitation.organization, actor=user, user=user, role=invitation.role)


def invitation_accept_new_user(*, token: str, password: str):
    """Create the account an invitation is addressed to (no account may exist for that e-mail
    yet: an existing user signs in instead) and accept the invitation. Returns the membership."""
    User = get_user_model()
    token_hash = invitation_token_hash(token)
    with invitation_context(token_hash):
        invitation = _invitation_locked(token_hash)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise DomainError(f"An account for {invitation.email} exists already: sign in to accept.")
        user = user_get_or_create(email=invitation.email, password=password)
        return invitation_accept(token=token, user=user)


@requires(Action.ADMINISTER)
def invitation_revoke(*, tenant: Organization, actor, invitation: Invitation) -> None:
    with tenant_context(tenant):
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk, organization=tenant)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(tenant=tenant, actor=actor, action=AuditAction.MEMBER_INVITE_REVOKE, object_type="invitation",
                     object_id=invitation.pk, object_repr=invitation.email)


@requires(Action.ADMINISTER)
def organization_update(*, tenant: Organization, actor, name: str, fiscal_year_start: int, currency: str) -> Organization:
    from finops.ledger.models import Period
    from finops.tenancy.context import tenant_context

    currency = currency.upper()
    if not is_valid_currency(currency):
        raise DomainError(f"Unknown currency {currency!r}.")
    with transaction.atomic():
        tenant = Organization.objects.select_for_update().get(pk=tenant.pk)
        # The code it reports in already stays acceptable even if it has left circulation since.
        if problem := active_currency_problem(currency, keep=str(tenant.reporting_currency)):
            raise DomainError(problem)
        before = {"name": tenant.name, "fiscal_year_start_month": tenant.fiscal_year_start_month,
                  "reporting_currency": str(tenant.reporting_currency)}
        if int(fiscal_year_start) != tenant.fiscal_year_start_month:
            with tenant_context(tenant):
                if Period.objects.exists():
                    raise DomainError("The fiscal year start cannot change once periods exist.")
        tenant.name, tenant.fiscal_year_start_month, tenant.reporting_currency = name, int(fiscal_year_start), currency
        tenant.save()
        audit_record(tenant=tenant, actor=actor, action=AuditAction.ORGANIZATION_UPDATE, obj=tenant, before=before,
                     after={"name": name, "fiscal_year_start_month": int(fiscal_year_start), "reporting_currency": currency})
        return tenant


def password_reset_permitted(*, email: str, ip: str | None) -> bool:
    """Whether a password-reset mail may go out for `email`, asked for from `ip`: at most
    PASSWORD_RESET_LIMIT_PER_EMAIL per address and PASSWORD_RESET_LIMIT_PER_IP per IP address
    within PASSWORD_RESET_WINDOW_MINUTES. Addresses without an account count the same, so the
    limit tells nothing about which addresses exist; the page answers the same either way."""
    window = timedelta(minutes=settings.PASSWORD_RESET_WINDOW_MINUTES)
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no address kept in clear
    return rate_limit_take(
        Limit("password_reset:email", address, settings.PASSWORD_RESET_LIMIT_PER_EMAIL, window),
        Limit("password_reset:ip", ip or "unknown", settings.PASSWORD_RESET_LIMIT_PER_IP, window),
    )
