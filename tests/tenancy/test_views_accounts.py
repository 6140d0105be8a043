"""Signing in and out, the lockout after wrong passwords, password reset and the start page."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from finops.tenancy import services as tenancy
from finops.tenancy.permissions import Role
from tests.builders import PASSWORD, make_org
from tests.local_servers import closed_port

pytestmark = pytest.mark.django_db


def sign_in(client, email, password, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def test_signing_in_with_the_email_address_opens_the_only_organisation(client, org):
    response = sign_in(client, "finance@acme.test", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("reporting:dashboard", kwargs={"org_slug": "acme"})


def test_the_email_is_matched_whatever_its_case(client, org):
    response = sign_in(client, "  Finance@ACME.test", PASSWORD)
    assert response.status_code == 302


def test_a_wrong_password_is_refused_with_a_message_and_keeps_the_email(client, org):
    response = sign_in(client, "finance@acme.test", "not the password")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert 'value="finance@acme.test"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_that_user_from_that_address_with_429(client, org):
    statuses = [sign_in(client, "viewer@acme.test", f"wrong {i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # Locked: even the right password is refused, with the cool-off in words.
    response = sign_in(client, "viewer@acme.test", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # axes saw the request: one record for this e-mail and address, the locked attempt counted too.
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == ("viewer@acme.test", "127.0.0.1", 6)


def test_changing_the_case_of_the_email_buys_no_extra_attempts(client, org):
    for i, spelling in enumerate(["viewer@acme.test", "Viewer@acme.test", "VIEWER@ACME.TEST", " viewer@Acme.test"]):
        assert sign_in(client, spelling, f"wrong {i}").status_code == 200
    assert sign_in(client, "viewer@ACME.test", "wrong again").status_code == 429


def test_the_lockout_spares_another_user_and_the_same_user_from_another_address(client, org):
    for i in range(5):
        sign_in(client, "viewer@acme.test", f"wrong {i}")
    assert sign_in(client, "viewer@acme.test", PASSWORD).status_code == 429
    assert sign_in(client, "director@acme.test", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "viewer@acme.test", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_signing_out_takes_a_post_and_ends_the_session(client, org, users):
    client.force_login(users["viewer"])
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_a_password_reset_link_arrives_by_email_and_sets_a_new_password(client, org, settings, reset):
    settings.SITE_URL = "https://finops.example.com"
    response = reset("Director@acme.test")
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["director@acme.test"]
    assert message.subject == "Reset your finops password"
    html = message.alternatives[0][0]
    link = re.search(r"https://finops\.example\.com(/password-reset/[^/]+/[^/\s]+/)", message.body).group(1)
    assert link in html

    response = client.get(link, follow=True)  # Django swaps the token for a session key, then shows the form
    assert response.status_code == 200
    assert b"Choose a new password" in response.content
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "a much better passphrase 42",
                                      "new_password2": "a much better passphrase 42"})
    assert response["Location"] == reverse("password_reset_complete")
    assert sign_in(client, "director@acme.test", "a much better passphrase 42").status_code == 302
    client.logout()
    assert sign_in(client, "director@acme.test", PASSWORD).status_code == 200


def test_a_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client, org):
    response = client.post(reverse("password_reset"), {"email": "nobody@acme.test"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


@pytest.fixture
def reset(client, django_capture_on_commit_callbacks):
    """Ask for a reset as a browser would; the e-mail goes once the request's work commits."""
    def post(email: str, ip: str = "127.0.0.1"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)
    return post


def test_password_reset_mails_to_one_address_stop_at_the_limit_and_the_page_says_the_same(client, org, settings, reset):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3

    answers = [reset("director@acme.test" if n % 2 else "Director@ACME.test ") for n in range(5)]

    assert [(a.status_code, a["Location"]) for a in answers] == [(302, reverse("password_reset_done"))] * 5
    assert [m.to for m in mail.outbox] == [["director@acme.test"]] * 3


def test_password_resets_from_one_ip_address_stop_at_its_limit_whatever_the_addresses(client, org, settings, reset):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 3

    for email in ("admin@acme.test", "nobody@acme.test", "finance@acme.test", "director@acme.test"):
        assert reset(email, ip="203.0.113.9")["Location"] == reverse("password_reset_done")
    reset("viewer@acme.test", ip="198.51.100.7")  # another address has its own count

    # The unknown address counted too (the limit says nothing about which addresses exist).
    assert [m.to for m in mail.outbox] == [["admin@acme.test"], ["finance@acme.test"], ["viewer@acme.test"]]


def test_the_password_reset_limit_forgets_requests_older_than_its_window(client, org, settings, reset):
    from datetime import timedelta

    from django.utils import timezone

    from finops.tenancy.models import RateLimitHit

    settings.PASSWORD_RESET_LIMIT_PER_EMAIL, settings.PASSWORD_RESET_WINDOW_MINUTES = 2, 60
    for _ in range(3):
        reset("director@acme.test")
    assert len(mail.outbox) == 2
    RateLimitHit.objects.update(at=timezone.now() - timedelta(minutes=61))  # an hour has gone by

    reset("director@acme.test")

    assert len(mail.outbox) == 3
    assert RateLimitHit.objects.filter(at__lt=timezone.now() - timedelta(minutes=60)).count() == 0  # forgotten


def test_with_redis_down_a_password_reset_is_still_sent(client, org, settings, reset):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}}

    assert reset("director@acme.test")["Location"] == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [["director@acme.test"]]


def test_the_start_page_sends_strangers_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("login")


def test_the_start_page_lists_every_organisation_of_a_member_of_several(client, org, other_org):
    user = get_user_model().objects.get(email="viewer@acme.test")
    tenancy.member_add(tenant=other_org, actor=None, user=user, role=Role.DIRECTOR)
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "Choose an organisation" in page
    assert reverse("reporting:dashboard", kwargs={"org_slug": "acme"}) in page
    assert reverse("reporting:dashboard", kwargs={"org_slug": "globex"}) in page


def test_the_start_page_explains_what_to_do_without_any_organisation(client, db):
    user = tenancy.user_get_or_create(email="lonely@nowhere.test", password=PASSWORD)
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "No organisation yet" in response.content.decode()


def test_a_signed_in_user_opening_the_sign_in_page_goes_home(client, org, users):
    client.force_login(users["viewer"])
    assert client.get(reverse("login"))["Location"] == reverse("home")


def test_pages_of_an_organisation_send_strangers_to_sign_in_and_back(client, org):
    url = reverse("org:members", kwargs={"org_slug": "acme"})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_make_org_fixture_users_sign_in_into_their_own_organisation(client, db):
    make_org("initech", "Initech")
    sign_in(client, "admin@initech.test", PASSWORD)
    assert client.get(reverse("home"))["Location"] == "/o/initech/"
