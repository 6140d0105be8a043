"""The kernel's outbox, told apart from any one domain: a kind that can never be sent is failed
with its reason, a refused send is kept and sent on the next run, grouped kinds share one
message per recipient, and what does not fit is refused. Invitations and password resets go
through it: a mail server that is down loses neither, and each link still works when it is sent
later."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from finops.errors import DomainError
from finops.notifications import kinds
from finops.notifications.kinds import Kind, Undeliverable
from finops.notifications.models import Delivery, DeliveryStatus, SiteDelivery
from finops.notifications.outbox import Outgoing, outbox_queue, outbox_send, site_outbox_send
from finops.notifications.preferences import UNSUBSCRIBE_SALT, preference_set, unsubscribe_token_read
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Invitation
from tests.local_servers import closed_port, smtp_server


def note_email(*, tenant, deliveries, message_id):
    refs = ", ".join(str(d.ref) for d in deliveries)
    return EmailMessage(subject=f"Notes {refs}", body="", to=[deliveries[0].recipient],
                        headers={"Message-ID": message_id})


def never(*, tenant, deliveries, message_id):
    raise Undeliverable("The note was torn up.")


@pytest.fixture
def kinds_for_tests(monkeypatch):
    monkeypatch.setitem(kinds._KINDS, "test_note", Kind(name="test_note", label="Notes", build=note_email))
    monkeypatch.setitem(kinds._KINDS, "test_digest", Kind(name="test_digest", label="Digests", build=note_email,
                                                           grouped=True, chosen=True))
    monkeypatch.setitem(kinds._KINDS, "test_never", Kind(name="test_never", label="Never", build=never))


def queue(org, kind, *items):
    with tenant_context(org):
        return outbox_queue(kind=kind, items=list(items))


def rows(org):
    with tenant_context(org):
        return sorted(Delivery.objects.values_list("kind", "ref", "recipient", "status", "attempts", "last_error"))


def test_a_grouped_kind_sends_one_message_per_recipient_and_another_kind_one_per_delivery(org, kinds_for_tests):
    assert queue(org, "test_digest", Outgoing("a@x.test", 1), Outgoing("a@x.test", 2), Outgoing("b@x.test", 1)) == 3
    assert queue(org, "test_note", Outgoing("a@x.test", 7), Outgoing("a@x.test", 8)) == 2
    assert queue(org, "test_note", Outgoing("a@x.test", 7)) == 0  # queued before: nothing new

    assert outbox_send(tenant=org) == 4
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("a@x.test", "Notes 1, 2"), ("a@x.test", "Notes 7"), ("a@x.test", "Notes 8"), ("b@x.test", "Notes 1")]
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<test-digest.{org.pk}.")
    assert {r[3:] for r in rows(org)} == {("sent", 1, "")}
    assert outbox_send(tenant=org) == 0


def test_a_kind_that_can_never_be_sent_is_failed_with_its_reason_and_not_tried_again(org, kinds_for_tests):
    queue(org, "test_never", Outgoing("a@x.test", 1))
    assert outbox_send(tenant=org) == 0
    assert outbox_send(tenant=org, now=timezone.now() + timedelta(hours=1)) == 0
    assert rows(org) == [("test_never", 1, "a@x.test", DeliveryStatus.FAILED, 1, "The note was torn up.")]


def test_a_delivery_of_a_kind_nobody_registers_any_more_is_failed_and_says_so(org, kinds_for_tests, monkeypatch):
    queue(org, "test_note", Outgoing("a@x.test", 1))
    monkeypatch.delitem(kinds._KINDS, "test_note")
    assert outbox_send(tenant=org) == 0
    assert rows(org) == [("test_note", 1, "a@x.test", "failed", 1, "No message kind 'test_note' is registered.")]


def test_a_refused_send_stays_pending_with_the_error_and_goes_on_the_next_run(org, kinds_for_tests, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    queue(org, "test_note", Outgoing("a@x.test", 1))

    assert outbox_send(tenant=org) == 0
    [(_, _, _, status, attempts, error)] = rows(org)
    assert (status, attempts) == ("pending", 1) and "refused" in error.lower()

    with smtp_server() as (port, inbox):
        settings.EMAIL_PORT = port
        assert outbox_send(tenant=org) == 1
    assert [(m["To"], m["Subject"]) for m in inbox.messages] == [("a@x.test", "Notes 1")]
    assert rows(org) == [("test_note", 1, "a@x.test", "sent", 2, "")]


def test_an_address_longer_than_an_email_address_can_be_is_refused_and_nothing_is_queued(org, kinds_for_tests):
    with pytest.raises(ValueError, match=r"is longer than an e-mail address can be \(254\)"):
        queue(org, "test_note", Outgoing("a@x.test", 1), Outgoing("x" * 250 + "@x.test", 2))
    assert rows(org) == []


def test_only_a_kind_recipients_choose_takes_a_preference(org, kinds_for_tests):
    with pytest.raises(DomainError, match="There is no choice to make for messages of kind 'test_note'."):
        preference_set(tenant=org, email="a@x.test", kind="test_note", mode="off")
    preference_set(tenant=org, email="A@x.test", kind="test_digest", mode="off")
    assert queue(org, "test_digest", Outgoing("a@x.test", 1), Outgoing("b@x.test", 1)) == 1
    assert [r[2] for r in rows(org)] == ["b@x.test"]


def test_an_unsubscribe_link_mailed_before_kinds_existed_still_reads_as_variance_alerts(org):
    old = signing.dumps({"t": org.pk, "e": "finance@acme.test"}, salt=UNSUBSCRIBE_SALT, compress=True)
    assert unsubscribe_token_read(old) == (org.pk, "finance@acme.test", "variance_alert")
    forged = signing.dumps({"t": org.pk, "e": "finance@acme.test", "k": "nothing"}, salt=UNSUBSCRIBE_SALT)
    assert unsubscribe_token_read(forged) is None


# --- invitations and password resets ------------------------------------------------------------

@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return settings


def test_an_invitation_made_while_the_mail_server_is_down_is_sent_later_and_its_link_works(
        client, org, users, smtp_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = tenancy.invitation_create(tenant=org, actor=users["admin"], email="new@acme.test",
                                                      role="finance")
    [(kind, ref, to, status, attempts, error)] = rows(org)
    assert (kind, ref, to, status, attempts) == ("invitation", invitation.pk, "new@acme.test", "pending", 1)
    assert error  # the refusal, kept for the administrator

    with smtp_server() as (port, inbox):
        smtp_down.EMAIL_PORT = port
        assert outbox_send(tenant=org) == 1
    [message] = inbox.messages
    text = message.get_payload()[0].get_payload(decode=True).decode()
    path = re.search(r"https?://[^/\s]+(/invite/[0-9a-f]+/)", text).group(1)
    assert path == reverse("invitation_accept", args=[token])
    assert client.get(path).status_code == 200


def test_an_invitation_withdrawn_before_its_email_went_is_never_sent(org, users, smtp_down,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = tenancy.invitation_create(tenant=org, actor=users["admin"], email="new@acme.test",
                                                  role="viewer")
    tenancy.invitation_revoke(tenant=org, actor=users["admin"], invitation=invitation)
    assert outbox_send(tenant=org) == 0
    assert rows(org)[0][3:] == ("failed", 2, "The invitation was withdrawn, used or deleted before its e-mail was sent.")
    with tenant_context(org):
        assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None


def test_a_password_reset_asked_while_the_mail_server_is_down_is_sent_later_and_its_link_works(
        client, org, smtp_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "director@acme.test"})
    assert response["Location"] == reverse("password_reset_done")  # no 500 for a mail server that is down
    assert list(SiteDelivery.objects.values_list("kind", "recipient", "status")) == [
        ("password_reset", "director@acme.test", "pending")]

    with smtp_server() as (port, inbox):
        smtp_down.EMAIL_PORT = port
        assert site_outbox_send() == 1
    [message] = inbox.messages
    assert (message["To"], message["Subject"]) == ("director@acme.test", "Reset your finops password")
    text = message.get_payload()[0].get_payload(decode=True).decode()
    link = re.search(r"https?://[^/\s]+(/password-reset/[^/]+/[^/\s]+/)", text).group(1)
    assert b"Choose a new password" in client.get(link, follow=True).content
    assert list(SiteDelivery.objects.values_list("status", "attempts")) == [("sent", 2)]
