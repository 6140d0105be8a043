"""A variance alert for real: a Celery worker process evaluates the rules and sends the e-mail
over SMTP to a local server. Needs committed data, hence `transaction=True`."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal as D

import pytest

from budgets import services
from budgets.models import Alert, AlertRule, AlertThreshold
from budgets.selectors import budget_periods, version_latest
from budgets.tasks import variance_alerts_evaluate
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.notifications.models import Delivery
from finops.tenancy.context import tenant_context
from tests.builders import make_books, make_org
from tests.local_servers import celery_worker, child_env, smtp_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def mail_worker(tmp_path):
    """A real Celery worker whose e-mail goes over SMTP to a local server."""
    with smtp_server() as (port, inbox):
        env = child_env()
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        env["SITE_URL"] = "http://finops.test"
        with celery_worker(tmp_path / "worker.log", env) as log:
            yield inbox, log


def test_a_real_worker_evaluates_the_rules_and_sends_the_alert_over_smtp(mail_worker):
    inbox, log = mail_worker
    org = make_org("acme", "Acme")
    books = make_books(org)
    budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026, name="Plan 2026")
    version = version_latest(tenant=org, budget=budget)
    march = budget_periods(tenant=org, budget=budget)[2]
    services.budget_lines_set(tenant=org, actor=None, version=version,
                              cells=[(books.rent, books.ops, march, D("1000.00"))])
    ledger.journal_post(tenant=org, actor=None, entity=books.usd, date=date(2026, 3, 9), memo="March rent",
                        lines=[LineSpec(books.rent.pk, D("1100.00"), books.ops.pk), LineSpec(books.cash.pk, D("-1100.00"))])
    with tenant_context(org):
        rule = AlertRule.objects.create(tenant=org, name="Rent watch", budget=budget, recipient_roles=["director"])
        AlertThreshold.objects.create(tenant=org, rule=rule, kind="consumed_pct", pct=D("100"), amount=D("0"))

    variance_alerts_evaluate.delay(org.pk, "2026-03-31")

    assert len(inbox.wait(1, timeout=60)) == 1, log.read_text(errors="replace")[-3000:]
    message = inbox.messages[0]
    assert message["To"] == "director@acme.test"
    assert "Rent watch" in message["Subject"]
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "6100" in text and "1,100.00" in text and "1,000.00" in text
    assert "http://finops.test/alerts/unsubscribe/" in text
    deadline = time.monotonic() + 20  # the worker marks the delivery sent after the SMTP conversation
    while time.monotonic() < deadline:
        with tenant_context(org):
            deliveries = list(Delivery.objects.values_list("recipient", "status"))
        if deliveries == [("director@acme.test", "sent")]:
            break
        time.sleep(0.2)
    assert deliveries == [("director@acme.test", "sent")]
    with tenant_context(org):
        assert Alert.objects.count() == 1
