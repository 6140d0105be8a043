"""Variance alerts are evaluated after every change of actuals: the ledger's `actuals_changed`
(sent after commit by postings, reversals and GL imports) queues one evaluation per
organisation, debounced. The queue is read on the real Redis broker."""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from budgets import services
from budgets.models import Alert, AlertRule, AlertThreshold
from budgets.selectors import budget_periods, version_latest
from budgets.tasks import EVALUATE_AFTER, evaluation_pending_key, variance_alerts_evaluate
from finops.celery import app
from finops.ledger import services as ledger
from finops.ledger.importers import gl_import
from finops.ledger.periods import period_ensure
from finops.ledger.services import LineSpec
from finops.ledger.signals import actuals_changed
from finops.notifications.models import Delivery
from finops.tenancy.context import tenant_context
from tests.builders import make_books, make_org
from tests.ledger.gl_files import GOOD, csv_file
from tests.local_servers import celery_worker, child_env, smtp_server

EVALUATE = "budgets.tasks.variance_alerts_evaluate"


@pytest.fixture
def broker():
    """The broker's Redis, its default queue emptied (pending keys are per organisation and
    cleared by the tests' `fresh` below)."""
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        client.delete("celery")
        yield client
        client.delete("celery")


def fresh(org):
    """A test database reuses organisation ids from one run to the next: forget an earlier
    run's pending evaluation of this id."""
    cache.delete(evaluation_pending_key(org.pk))
    return org


def queued(client) -> list[tuple[str, list, datetime | None]]:
    """(task, args, eta) of every message waiting in the default queue, oldest first."""
    out = []
    for raw in reversed(client.lrange("celery", 0, -1)):  # LPUSHed: newest first
        message = json.loads(raw)
        headers = message["headers"]
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        eta = datetime.fromisoformat(headers["eta"]) if headers.get("eta") else None
        out.append((headers["task"], args, eta))
    return out


def post(books, day: int = 9, amount: str = "100.00"):
    return ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, day),
                               memo="rent", lines=[LineSpec(books.rent.pk, D(amount), books.ops.pk),
                                                   LineSpec(books.cash.pk, -D(amount))]).entry


def committed(capture, fn, *args, **kwargs):
    """Run `fn` as its own committed transaction would: its on-commit work runs at the end."""
    with capture(execute=True):
        return fn(*args, **kwargs)


def test_postings_in_a_loop_queue_exactly_one_evaluation_a_little_later(
        books, broker, django_capture_on_commit_callbacks):
    fresh(books.org)
    start = timezone.now()
    for day in range(1, 6):
        committed(django_capture_on_commit_callbacks, post, books, day)
    end = timezone.now()

    ((task, args, eta),) = queued(broker)
    assert (task, args) == (EVALUATE, [books.org.pk])
    assert start + timedelta(seconds=EVALUATE_AFTER) <= eta <= end + timedelta(seconds=EVALUATE_AFTER)


def test_a_posting_or_reversal_after_the_evaluation_started_queues_another(
        books, broker, django_capture_on_commit_callbacks):
    fresh(books.org)
    entry = committed(django_capture_on_commit_callbacks, post, books, 3)
    committed(django_capture_on_commit_callbacks, post, books, 4)
    assert len(queued(broker)) == 1

    variance_alerts_evaluate(books.org.pk)  # the queued task runs (its body, in this process)
    committed(django_capture_on_commit_callbacks, ledger.journal_reverse, tenant=books.org, actor=None, entry=entry)
    committed(django_capture_on_commit_callbacks, post, books, 5)

    assert [(task, args) for task, args, _ in queued(broker)] == [(EVALUATE, [books.org.pk])] * 2


def test_each_organisation_has_its_own_evaluation(books, other_books, broker, django_capture_on_commit_callbacks):
    fresh(books.org), fresh(other_books.org)
    committed(django_capture_on_commit_callbacks, post, books)
    committed(django_capture_on_commit_callbacks, post, other_books)
    committed(django_capture_on_commit_callbacks, post, books)

    assert [(task, args) for task, args, _ in queued(broker)] == [
        (EVALUATE, [books.org.pk]), (EVALUATE, [other_books.org.pk])]


def test_a_rolled_back_or_repeated_posting_queues_nothing(books, broker, django_capture_on_commit_callbacks):
    fresh(books.org)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            post(books)
            raise RuntimeError("the caller fails after posting")
    assert callbacks == []

    first = ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 9),
                                idempotency_key="k-1", lines=[LineSpec(books.rent.pk, D("5")),
                                                              LineSpec(books.cash.pk, D("-5"))])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 9),
                                    idempotency_key="k-1", lines=[LineSpec(books.rent.pk, D("5")),
                                                                  LineSpec(books.cash.pk, D("-5"))])
    assert (again.created, again.entry.pk, callbacks) == (False, first.entry.pk, [])
    assert queued(broker) == []


def test_a_broker_outage_is_logged_and_does_not_fail_the_posting(
        books, broker, monkeypatch, caplog, django_capture_on_commit_callbacks):
    fresh(books.org)
    task = app.tasks[EVALUATE]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task, "apply_async", broker_down)
    with caplog.at_level(logging.ERROR, logger="budgets.tasks"):
        entry = committed(django_capture_on_commit_callbacks, post, books)

    with tenant_context(books.org):
        assert entry.lines.count() == 2
    assert [r.getMessage() for r in caplog.records if r.name == "budgets.tasks"] == [
        f"could not queue the variance alerts of organisation {books.org.pk} after a change of actuals "
        "(the hourly evaluation will catch up)"]
    monkeypatch.undo()
    committed(django_capture_on_commit_callbacks, post, books)  # nothing is pending: this one queues
    assert [(task, args) for task, args, _ in queued(broker)] == [(EVALUATE, [books.org.pk])]


def test_a_gl_import_sends_actuals_changed_once_and_only_when_it_wrote(books, broker,
                                                                     django_capture_on_commit_callbacks):
    fresh(books.org)
    received = []

    def receiver(sender, **kwargs):
        received.append(sender)

    actuals_changed.connect(receiver)
    try:
        result = committed(django_capture_on_commit_callbacks, gl_import, tenant=books.org, actor=None,
                           data=csv_file(*GOOD), filename="march.csv")
        assert (result.created, received) == (2, [books.org.pk])

        again = committed(django_capture_on_commit_callbacks, gl_import, tenant=books.org, actor=None,
                          data=csv_file(*GOOD), filename="march.csv")  # the same file: nothing changes
        bad = committed(django_capture_on_commit_callbacks, gl_import, tenant=books.org, actor=None,
                        data=csv_file("2026-03-05,X,US,9999,,1,,", "2026-03-05,X,US,2000,,-1,,"), filename="b.csv")
        assert (again.duplicate_of is not None, bad.errors != [], received) == (True, True, [books.org.pk])
    finally:
        actuals_changed.disconnect(receiver)
    assert [(task, args) for task, args, _ in queued(broker)] == [(EVALUATE, [books.org.pk])]


# --- for real: a worker evaluates after a manual posting, and the alert arrives ---------------------------

@pytest.fixture
def mail_worker(tmp_path):
    with smtp_server() as (port, inbox):
        env = child_env()
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        env["SITE_URL"] = "http://finops.test"
        with celery_worker(tmp_path / "worker.log", env) as log:
            yield inbox, log


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_manual_posting_leads_a_real_worker_to_record_and_send_the_alert(mail_worker):
    inbox, log = mail_worker
    org = fresh(make_org("acme", "Acme"))
    books = make_books(org)
    today = timezone.localdate()
    fiscal_year = period_ensure(tenant=org, d=today).fiscal_year
    budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=fiscal_year,
                                    name="Plan")
    month = next(p for p in budget_periods(tenant=org, budget=budget) if p.start == today.replace(day=1))
    services.budget_lines_set(tenant=org, actor=None, version=version_latest(tenant=org, budget=budget),
                              cells=[(books.rent, books.ops, month, D("1000.00"))])
    with tenant_context(org):
        rule = AlertRule.objects.create(tenant=org, name="Rent watch", budget=budget, recipient_roles=["director"])
        AlertThreshold.objects.create(tenant=org, rule=rule, kind="consumed_pct", pct=D("100"), amount=D("0"))

    # As finance would on the journal page: no task is queued by hand.
    ledger.journal_post(tenant=org, actor=None, entity=books.usd, date=today, memo="Rent",
                        lines=[LineSpec(books.rent.pk, D("1100.00"), books.ops.pk),
                               LineSpec(books.cash.pk, D("-1100.00"))])

    messages = inbox.wait(1, timeout=EVALUATE_AFTER + 60)
    assert len(messages) == 1, log.read_text(errors="replace")[-3000:]
    assert "Rent watch" in messages[0]["Subject"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with tenant_context(org):
            alerts = list(Alert.objects.values_list("rule__name", "period__start", "actual", "budget"))
            deliveries = list(Delivery.objects.values_list("recipient", "status"))
        if deliveries == [("director@acme.test", "sent")]:
            break
        time.sleep(0.2)
    assert alerts == [("Rent watch", today.replace(day=1), D("1100.00"), D("1000.00"))]
    assert deliveries == [("director@acme.test", "sent")]
