"""Production settings pass Django's deployment checks; e-mail really goes over SMTP."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.mail import get_connection

from finops.tenancy import services as tenancy
from tests.local_servers import smtp_server

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_passes_with_production_settings():
    unset = {"DEBUG", "SECURE_COOKIES", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(DEBUG="0", SECRET_KEY="k" * 20 + "-a-long-and-random-production-secret-key-0123456789",
               ALLOWED_HOSTS="finops.example.com", DJANGO_SETTINGS_MODULE="finops.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="0", ALLOWED_HOSTS="finops.example.com")
    result = subprocess.run([sys.executable, "-c", "import finops.settings"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


@pytest.fixture
def smtp():
    with smtp_server() as (port, inbox):
        yield port, inbox


def test_an_invitation_is_delivered_over_real_smtp(org, users, smtp, settings, django_capture_on_commit_callbacks):
    port, inbox = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    assert get_connection().__class__.__name__ == "EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        tenancy.invitation_create(tenant=org, actor=users["admin"], email="new.hire@acme.test", role="finance")
    deadline = time.monotonic() + 5
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "new.hire@acme.test"
    assert message["Subject"] == "You are invited to Acme on finops"
    assert message.is_multipart()
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "invited you to join Acme on finops as finance" in text
    assert "/invite/" in text
