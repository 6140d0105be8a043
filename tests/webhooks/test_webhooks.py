"""Webhooks: Standard Webhooks signatures, endpoints only to where events may go, one delivery
per subscribed endpoint queued with the event, exponential backoff, and a real worker delivering
a signed event over real HTTP to a local receiver that fails twice first."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from finops.errors import DomainError, NotAllowed
from finops.ledger.periods import period_close, period_ensure, period_reopen
from finops.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus
from finops.notifications.outbox import outbox_send
from finops.notifications.tasks import outbox_send_task
from finops.tenancy.context import tenant_context
from finops.webhooks.events import backoff, url_check
from finops.webhooks.services import endpoint_create, endpoint_disable, endpoint_test
from finops.webhooks.signing import sign, verify
from tests.builders import make_books, make_org
from tests.local_servers import celery_worker, child_env, wait_until


def test_signatures_follow_standard_webhooks():
    # The specification's own example (github.com/standard-webhooks, "Signature scheme").
    assert sign(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                timestamp=1614265330, body=b'{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert verify(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                  timestamp=1614265330, body=b'{"test": 2432232314}',
                  signature_header="v1,other v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    assert not verify(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                      timestamp=1614265331, body=b'{"test": 2432232314}',
                      signature_header="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_endpoints_go_only_to_public_http_urls_in_production(settings, books, users):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    for url, message in (("ftp://ops.example/x", "http:// or https://"), ("http://127.0.0.1:9/x", "private or local"),
                         ("http://10.1.2.3/x", "private or local"), ("http://[::1]/x", "private or local"),
                         ("http://169.254.169.254/latest", "private or local")):
        with pytest.raises(DomainError, match=message):
            url_check(url)
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert url_check(" http://127.0.0.1:9/x ") == "http://127.0.0.1:9/x"
    with pytest.raises(NotAllowed):
        endpoint_create(tenant=books.org, actor=users["finance"], url="http://127.0.0.1:9/x")
    with pytest.raises(DomainError, match="Unknown event type"):
        endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/x", event_types=["x.y"])


def test_an_event_queues_one_delivery_per_subscribed_endpoint_in_its_transaction(books, users):
    subscribed = endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/a",
                                 event_types=["period.closed"])
    endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/b", event_types=["alert.raised"])
    everything = endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/c")
    disabled = endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/d")
    endpoint_disable(tenant=books.org, actor=users["admin"], endpoint=disabled)
    period = period_ensure(tenant=books.org, d=date(2026, 3, 1))
    period_close(tenant=books.org, actor=users["finance"], period=period)
    period_reopen(tenant=books.org, actor=users["finance"], period=period)
    period_close(tenant=books.org, actor=users["finance"], period=period)
    with tenant_context(books.org):
        rows = sorted((d.kind, d.seq, d.recipient) for d in Delivery.objects.filter(channel="webhook"))
        payload = Delivery.objects.filter(kind="webhook:period.closed").first().payload
    assert rows == sorted([("webhook:period.closed", 0, f"endpoint:{everything.pk}"),
                           ("webhook:period.closed", 0, f"endpoint:{subscribed.pk}"),
                           ("webhook:period.closed", 1, f"endpoint:{everything.pk}"),
                           ("webhook:period.closed", 1, f"endpoint:{subscribed.pk}"),
                           ("webhook:period.reopened", 0, f"endpoint:{everything.pk}")])
    assert payload["type"] == "period.closed" and payload["data"] == {
        "period": "2026-03", "fiscal_year": 2026, "status": "closed", "by": "finance@acme.test"}


def test_backoff_doubles_from_the_first_wait_to_an_hour(settings):
    settings.WEBHOOK_FIRST_RETRY_SECONDS = 30
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


class Receiver:
    """A local HTTP server that answers 500 (with `body`) `fail` times, then 204; it keeps what it
    received."""

    def __init__(self, fail: int, body: bytes = b""):
        self.fail, self.received = fail, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                received = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, received))  # case-insensitive names
                failing = len(receiver.received) <= receiver.fail
                self.send_response(500 if failing else 204)
                if failing and body:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if failing and body:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/finops-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_a_failed_delivery_waits_then_is_sent_with_the_same_id(books, users, settings):
    settings.WEBHOOK_FIRST_RETRY_SECONDS = 30
    receiver = Receiver(fail=1)
    try:
        endpoint = endpoint_create(tenant=books.org, actor=users["admin"], url=receiver.url)
        period_close(tenant=books.org, actor=None, period=period_ensure(tenant=books.org, d=date(2026, 3, 1)))
        start = timezone.now()
        assert outbox_send(tenant=books.org, now=start) == 0
        with tenant_context(books.org):
            delivery = Delivery.objects.get(channel="webhook")
        assert (delivery.status, delivery.attempts, delivery.last_error) == (
            DeliveryStatus.PENDING, 1, "HTTP 500 Internal Server Error")
        assert timedelta(seconds=29) < delivery.due_at - start < timedelta(seconds=31)
        assert outbox_send(tenant=books.org, now=start + timedelta(seconds=10)) == 0  # not due yet
        assert outbox_send(tenant=books.org, now=start + timedelta(seconds=31)) == 1
        (first, _), (second, body) = receiver.received
        assert first["webhook-id"] == second["webhook-id"] == f"msg_{books.org.pk}_{delivery.pk}"
        assert verify(secret=endpoint.secret, msg_id=second["webhook-id"], timestamp=int(second["webhook-timestamp"]),
                      body=body, signature_header=second["webhook-signature"])
        assert json.loads(body)["type"] == "period.closed"
    finally:
        receiver.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_real_worker_delivers_a_signed_event_over_http_after_two_failures(tmp_path):
    receiver = Receiver(fail=2)
    env = child_env()
    env["WEBHOOK_FIRST_RETRY_SECONDS"] = "1"
    env["WEBHOOKS_ALLOW_PRIVATE"] = "1"
    try:
        with celery_worker(tmp_path / "worker.log", env):
            org = make_org("acme", "Acme")
            make_books(org)
            from django.contrib.auth import get_user_model

            admin = get_user_model().objects.get(email="admin@acme.test")
            endpoint = endpoint_create(tenant=org, actor=admin, url=receiver.url, event_types=["period.closed"])
            period_close(tenant=org, actor=admin, period=period_ensure(tenant=org, d=date(2026, 3, 1)))
            # The commit queued the send; beat's job (try what is due again) is done here every second.
            deadline = time.monotonic() + 60
            while len(receiver.received) < 3 and time.monotonic() < deadline:
                time.sleep(1)
                outbox_send_task.delay(org.pk)
            wait_until(lambda: len(receiver.received) >= 3, timeout=30, what="three attempts at the receiver")
            time.sleep(1)
            with tenant_context(org):
                delivery = Delivery.objects.get(channel="webhook")
            assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 3, "")
            assert len(receiver.received) == 3  # delivered once: no attempt after the 204
            with tenant_context(org):  # each attempt logged, with the receiver's answer
                log = [(a.number, a.ok, a.answer) for a in DeliveryAttempt.objects.filter(delivery_id=delivery.pk)]
            assert log == [(1, False, "HTTP 500 Internal Server Error"), (2, False, "HTTP 500 Internal Server Error"),
                           (3, True, "HTTP 204 No Content")]
            headers, body = receiver.received[-1]
            assert verify(secret=endpoint.secret, msg_id=headers["webhook-id"],
                          timestamp=int(headers["webhook-timestamp"]), body=body,
                          signature_header=headers["webhook-signature"])
            assert json.loads(body)["data"]["period"] == "2026-03"
    finally:
        receiver.close()


def test_admins_register_an_endpoint_read_its_log_and_replay_a_delivery(client, books, users):
    from django.urls import reverse

    client.force_login(users["admin"])
    listing = reverse("webhooks:endpoints", kwargs={"org_slug": "acme"})
    bad = client.post(listing, {"url": "ftp://ops.example/x"})
    assert bad.status_code == 400 and 'value="ftp://ops.example/x"' in bad.content.decode()
    created = client.post(listing, {"url": "http://127.0.0.1:9/events", "event_types": ["period.closed"]})
    detail = created["Location"]
    page = client.get(detail).content.decode()
    assert "whsec_" in page and "Nothing sent yet." in page
    period_close(tenant=books.org, actor=None, period=period_ensure(tenant=books.org, d=date(2026, 3, 1)))
    outbox_send(tenant=books.org)  # nobody listens on port 9: a failed attempt
    page = client.get(detail).content.decode()
    assert "period.closed" in page and "no answer" in page
    with tenant_context(books.org):
        delivery = Delivery.objects.get(channel="webhook")
    endpoint_pk = int(detail.rstrip("/").rsplit("/", 1)[1])
    client.post(reverse("webhooks:replay", kwargs={"org_slug": "acme", "pk": endpoint_pk, "delivery_id": delivery.pk}))
    with tenant_context(books.org):
        replayed = Delivery.objects.get(pk=delivery.pk)
    assert replayed.status == DeliveryStatus.PENDING and replayed.due_at <= timezone.now()
    client.force_login(users["finance"])
    assert client.get(listing).status_code in (403, 404)


def test_a_test_event_goes_to_that_endpoint_alone_and_its_page_shows_each_attempt(client, books, users, settings):
    from django.urls import reverse

    settings.WEBHOOK_FIRST_RETRY_SECONDS = 30
    receiver = Receiver(fail=1, body=b'{"error": "signature   mismatch"}')
    try:
        target = endpoint_create(tenant=books.org, actor=users["admin"], url=receiver.url, event_types=["alert.raised"])
        endpoint_create(tenant=books.org, actor=users["admin"], url="http://127.0.0.1:9/other")
        with pytest.raises(NotAllowed):
            endpoint_test(tenant=books.org, actor=users["finance"], endpoint=target)
        client.force_login(users["admin"])
        kwargs = {"org_slug": "acme", "pk": target.pk}
        assert client.post(reverse("webhooks:test", kwargs=kwargs)).status_code == 302
        start = timezone.now()
        outbox_send(tenant=books.org, now=start)
        outbox_send(tenant=books.org, now=start + timedelta(seconds=31))
        with tenant_context(books.org):
            (delivery,) = Delivery.objects.filter(channel="webhook")  # not to the other endpoint
            log = [(a.number, a.ok, a.answer) for a in DeliveryAttempt.objects.filter(delivery_id=delivery.pk)]
        assert (delivery.kind, delivery.recipient, delivery.status) == (
            "webhook:webhook.test", f"endpoint:{target.pk}", DeliveryStatus.SENT)
        assert log == [(1, False, 'HTTP 500 Internal Server Error: {"error": "signature mismatch"}'),
                       (2, True, "HTTP 204 No Content")]
        headers, body = receiver.received[-1]
        assert json.loads(body)["type"] == "webhook.test" and json.loads(body)["data"]["organisation"] == "acme"
        page = client.get(reverse("webhooks:delivery", kwargs={**kwargs, "delivery_id": delivery.pk})).content.decode()
        assert "HTTP 204 No Content" in page and "signature mismatch" in page and "webhook.test" in page
        assert f"msg_{books.org.pk}_{delivery.pk}" in page
        other = client.get(reverse("webhooks:delivery", kwargs={**kwargs, "delivery_id": delivery.pk + 1000}))
        assert other.status_code == 404
        endpoint_disable(tenant=books.org, actor=users["admin"], endpoint=target)
        with pytest.raises(DomainError, match="disabled"):
            endpoint_test(tenant=books.org, actor=users["admin"], endpoint=target)
    finally:
        receiver.close()
