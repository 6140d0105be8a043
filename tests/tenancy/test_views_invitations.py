"""Invitations end to end: an admin invites by e-mail, the link creates the account or is accepted
by the signed-in user with that e-mail; expired, used, withdrawn and foreign links are refused."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Invitation
from finops.tenancy.permissions import Role
from tests.builders import PASSWORD, member

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "plenty of entropy here 77"


def invite(client, users, email, role="finance", django_capture_on_commit_callbacks=None):
    client.force_login(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("org:member_invite", kwargs={"org_slug": "acme"}), {"email": email, "role": role})
    client.logout()
    return response


def link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message.body).group(1)


def test_an_invited_newcomer_creates_the_account_from_the_email_and_joins_with_the_role(
        client, org, users, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://finops.example.com"
    response = invite(client, users, "New.Person@Example.com", "director", django_capture_on_commit_callbacks)
    assert response["Location"] == reverse("org:members", kwargs={"org_slug": "acme"})
    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert message.subject == "You are invited to Acme on finops"
    path = link_path(message)
    assert path in message.alternatives[0][0]

    page = client.get(path).content.decode()
    assert "Join Acme" in page and "Director" in page and "new.person@example.com" in page

    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse("reporting:dashboard", kwargs={"org_slug": "acme"})
    user = get_user_model().objects.get(email="new.person@example.com")
    assert member(org, user=user).role == Role.DIRECTOR
    assert client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    assert client.post(reverse("login"), {"username": "new.person@example.com", "password": NEW_PASSWORD}).status_code == 302
    # The link is spent.
    client.logout()
    assert "used already" in client.get(path).content.decode()


def test_a_weak_or_mismatched_password_is_refused_next_to_the_field_and_nothing_is_created(
        client, org, users, django_capture_on_commit_callbacks):
    invite(client, users, "someone@example.com", "viewer", django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    response = client.post(path, {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert "The two passwords differ." in response.content.decode()
    assert not get_user_model().objects.filter(email="someone@example.com").exists()


def test_an_existing_user_signs_in_and_accepts_with_a_post(client, org, other_org, users, django_capture_on_commit_callbacks):
    # globex's viewer is invited to acme.
    invite(client, users, "viewer@globex.test", "finance", django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    page = client.get(path).content.decode()
    assert "Sign in to accept" in page
    assert client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 200  # no takeover
    guest = get_user_model().objects.get(email="viewer@globex.test")
    assert guest.check_password(PASSWORD)
    client.force_login(guest)
    assert "Accept and open Acme" in client.get(path).content.decode()
    response = client.post(path)
    assert response["Location"] == "/o/acme/"
    assert member(org, user=guest).role == Role.FINANCE


def test_a_link_opened_by_someone_signed_in_with_another_email_is_refused(client, org, users, django_capture_on_commit_callbacks):
    invite(client, users, "invitee@example.com", "viewer", django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    client.force_login(users["viewer"])
    assert "you are signed in as" in client.get(path).content.decode()
    response = client.post(path, follow=True)
    assert "This invitation is for invitee@example.com; you are signed in as viewer@acme.test." in response.content.decode()
    with tenant_context(org):
        assert Invitation.objects.get().accepted_at is None


def test_an_expired_link_says_so_and_grants_nothing(client, org, users, django_capture_on_commit_callbacks):
    invite(client, users, "late@example.com", "viewer", django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    with tenant_context(org):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation has expired: ask an admin to invite you again." in response.content.decode()
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert not get_user_model().objects.filter(email="late@example.com").exists()


def test_a_withdrawn_link_says_so(client, org, users, django_capture_on_commit_callbacks):
    invite(client, users, "maybe@example.com", "viewer", django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    client.force_login(users["admin"])
    with tenant_context(org):
        invitation = Invitation.objects.get()
    response = client.post(reverse("org:invitation_revoke", kwargs={"org_slug": "acme", "pk": invitation.pk}))
    assert response.status_code == 302
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_an_unknown_link_is_not_found(client, db):
    response = client.get(reverse("invitation_accept", args=["no-such-token"]))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_inviting_a_member_again_is_refused_next_to_the_email(client, org, users):
    client.force_login(users["admin"])
    response = client.post(reverse("org:member_invite", kwargs={"org_slug": "acme"}),
                           {"email": "viewer@acme.test", "role": "finance"})
    assert response.status_code == 200
    assert "viewer@acme.test is already a member." in response.content.decode()
    assert 'value="viewer@acme.test"' in response.content.decode()  # what was typed is kept
    with tenant_context(org):
        assert Invitation.objects.count() == 0


def test_a_bad_email_or_role_in_an_invitation_is_refused(client, org, users):
    client.force_login(users["admin"])
    url = reverse("org:member_invite", kwargs={"org_slug": "acme"})
    page = client.post(url, {"email": "not an address", "role": "finance"}).content.decode()
    assert "Enter a valid email address." in page
    page = client.post(url, {"email": "x@example.com", "role": "owner"}).content.decode()
    assert "Select a valid choice. owner is not one of the available choices." in page
    with tenant_context(org):
        assert Invitation.objects.count() == 0


def test_only_admins_invite(client, org, users):
    url = reverse("org:member_invite", kwargs={"org_slug": "acme"})
    for role in ("finance", "director", "viewer"):
        client.force_login(users[role])
        assert client.post(url, {"email": "x@example.com", "role": "viewer"}).status_code == 403
    with tenant_context(org):
        assert Invitation.objects.count() == 0


def test_the_service_refuses_a_new_account_for_an_email_that_has_one(org, users):
    _, token = tenancy.invitation_create(tenant=org, actor=users["admin"], email="someone@example.com", role="viewer")
    tenancy.user_get_or_create(email="someone@example.com", password=PASSWORD)
    from finops.errors import DomainError

    with pytest.raises(DomainError, match="exists already: sign in to accept"):
        tenancy.invitation_accept_new_user(token=token, password=NEW_PASSWORD)
