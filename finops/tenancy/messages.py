"""The directory's e-mails, sent through the kernel's outbox (`finops.notifications`): an
invitation (an organisation's message) and a password reset (the site's: a user belongs to no
one organisation). Neither link is stored in the outbox, and neither can be rebuilt from the
database alone:

- An invitation's token is an HMAC (keyed by SECRET_KEY) of a random nonce; the delivery keeps
  the nonce, the invitation keeps the token's SHA-256. The e-mail is built from the two when it
  is sent, and refused (`Undeliverable`) if they no longer match (SECRET_KEY changed: invite
  again), or if the invitation was accepted or withdrawn meanwhile.
- A password reset's token is Django's, made when the e-mail is sent (it stays valid for
  PASSWORD_RESET_TIMEOUT from then, and dies with the next password change or sign-in).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from finops.notifications.kinds import Kind, Undeliverable

from .models import Invitation

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_token(nonce: str) -> str:
    return salted_hmac("finops.tenancy.invitation", nonce, algorithm="sha256").hexdigest()


def invitation_email(*, tenant, deliveries, message_id: str) -> EmailMultiAlternatives:
    [delivery] = deliveries
    invitation = Invitation.objects.select_related("invited_by").filter(pk=delivery.ref).first()
    if invitation is None or invitation.revoked_at or invitation.accepted_at:
        raise Undeliverable("The invitation was withdrawn, used or deleted before its e-mail was sent.")
    token = invitation_token(delivery.payload.get("nonce", ""))
    if invitation_token_hash(token) != invitation.token_hash:
        raise Undeliverable("The invitation's link cannot be rebuilt (the secret key changed): invite again.")
    context = {"org_name": tenant.name, "inviter": invitation.invited_by.email if invitation.invited_by else "",
               "role": invitation.role, "link": settings.SITE_URL + reverse("invitation_accept", args=[token]),
               "expires_at": invitation.expires_at}
    message = EmailMultiAlternatives(subject=f"You are invited to {tenant.name} on finops",
                                     body=render_to_string("emails/invitation.txt", context), to=[invitation.email],
                                     headers={"Message-ID": message_id})
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    return message


def password_reset_email(*, tenant, deliveries, message_id: str) -> EmailMultiAlternatives:
    [delivery] = deliveries
    user = get_user_model().objects.filter(pk=delivery.ref, is_active=True).first()
    if user is None or not user.has_usable_password():
        raise Undeliverable("The account was removed or disabled before the reset e-mail was sent.")
    context = {"email": user.email, "user": user, "uid": urlsafe_base64_encode(force_bytes(user.pk)),
               "token": default_token_generator.make_token(user), "site_url": settings.SITE_URL,
               "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}
    subject = "".join(render_to_string("registration/password_reset_subject.txt", context).splitlines())
    message = EmailMultiAlternatives(subject=subject,
                                     body=render_to_string("registration/password_reset_email.txt", context),
                                     to=[user.email], headers={"Message-ID": message_id})
    message.attach_alternative(render_to_string("registration/password_reset_email.html", context), "text/html")
    return message


KINDS = [Kind(name=INVITATION, label="Invitations", build=invitation_email),
         Kind(name=PASSWORD_RESET, label="Password resets", build=password_reset_email)]
