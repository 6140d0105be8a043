"""Operator commands: create_org and add_member, with the same checks as the web pages."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from finops.audit.models import AuditEvent
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization
from tests.builders import member
from tests.local_servers import child_env


def command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_org_creates_an_organisation_with_its_currency_and_fiscal_year(db):
    out = command("create_org", "initech", "--name", "Initech LLC", "--currency", "usd", "--fiscal-year-start", "7")

    org = Organization.objects.get(slug="initech")
    assert (org.name, str(org.reporting_currency), org.fiscal_year_start_month) == ("Initech LLC", "USD", 7)
    assert out.strip() == "Created Initech LLC (/o/initech/), reporting in USD, fiscal year from month 7."


@pytest.mark.parametrize("args, message", [
    (["Bad Slug", "--name", "X", "--currency", "USD"], "'bad slug' is not a usable slug"),
    (["admin", "--name", "X", "--currency", "USD"], "'admin' is not a usable slug"),
    (["initech", "--name", "X", "--currency", "ZZZ"], "Unknown currency 'ZZZ'."),
    (["initech", "--name", "X", "--currency", "USD", "--fiscal-year-start", "13"],
     "The fiscal year start month must be between 1 and 12."),
    (["initech", "--name", "X", "--currency", "USD", "--fiscal-year-start", "July"], "'July' is not a month number"),
    (["initech", "--name", " ", "--currency", "USD"], "The name must not be empty."),
])
def test_create_org_refuses_bad_input_and_creates_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        command("create_org", *args)
    assert not Organization.objects.exists()


def test_create_org_refuses_a_slug_that_is_taken(db):
    command("create_org", "initech", "--name", "Initech", "--currency", "USD")
    with pytest.raises(CommandError, match="An organisation with slug 'initech' exists already.") as excinfo:
        command("create_org", "initech", "--name", "Other", "--currency", "EUR")
    assert excinfo.value.returncode == 1
    assert Organization.objects.get().name == "Initech"


def test_add_member_creates_the_user_with_a_password_and_audits_the_membership(org):
    out = command("add_member", "Milton@Initech.example", "--org", org.slug, "--role", "finance",
                  "--password", "red-stapler-1999")

    user = get_user_model().objects.get(email="milton@initech.example")
    assert user.check_password("red-stapler-1999")
    assert member(org, user=user).role == "finance"
    assert out.strip() == "new user milton@initech.example is finance of Acme."
    with tenant_context(org):
        event = AuditEvent.objects.get(action="member.add", object_repr="milton@initech.example")
        assert (event.actor_label, event.after) == ("system", {"role": "finance"})


def test_add_member_without_a_password_leaves_a_new_user_without_one_and_says_how_to_set_it(org):
    out = command("add_member", "peter@initech.example", "--org", org.slug, "--role", "viewer")

    assert not get_user_model().objects.get(email="peter@initech.example").has_usable_password()
    assert "“Forgot password?”" in out


def test_add_member_changes_the_role_of_an_existing_member_and_keeps_their_password(org, users):
    command("add_member", "viewer@acme.test", "--org", org.slug, "--role", "director")

    assert member(org, user=users["viewer"]).role == "director"
    users["viewer"].refresh_from_db()
    assert users["viewer"].has_usable_password()


def test_add_member_cannot_demote_the_last_admin(org, users):
    with pytest.raises(CommandError, match="The organisation needs at least one admin."):
        command("add_member", "admin@acme.test", "--org", org.slug, "--role", "viewer")
    assert member(org, user=users["admin"]).role == "admin"


@pytest.mark.parametrize("args, message", [
    (["not-an-email", "--org", "acme", "--role", "viewer"], "'not-an-email' is not an e-mail address."),
    (["new@initech.example", "--org", "acme", "--role", "owner"],
     "Unknown role 'owner': choose one of admin, finance, director, viewer."),
    (["new@initech.example", "--org", "initech", "--role", "viewer"], "No organisation with slug 'initech'."),
    (["new@initech.example", "--org", "acme", "--role", "viewer", "--password", "123"],
     "The password is refused: This password is too short."),
])
def test_add_member_refuses_bad_input_and_creates_no_user(org, args, message, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
    users = get_user_model().objects.count()
    with pytest.raises(CommandError, match=message):
        command("add_member", *args)
    assert get_user_model().objects.count() == users


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_a_refusal_goes_to_stderr_with_exit_status_1():
    env = child_env()
    done = subprocess.run(
        [sys.executable, "manage.py", "create_org", "x", "--name", "X", "--currency", "NOPE", "--skip-checks"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "CommandError: Unknown currency 'NOPE'."
    assert done.stdout == ""
