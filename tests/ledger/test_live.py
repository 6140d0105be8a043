"""Live pages: a cheap "has anything been posted?" answer (the browser side: tests/e2e/test_live_journal.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.urls import reverse

from finops.ledger import services as ledger
from finops.ledger.selectors import ledger_stamp
from finops.ledger.services import LineSpec


def post(books, memo: str):
    return ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), memo=memo,
                               lines=[LineSpec(books.rent.pk, Decimal("12.34"), books.ops.pk),
                                      LineSpec(books.cash.pk, Decimal("-12.34"))]).entry


def test_the_stamp_answers_204_while_nothing_is_posted_and_raises_ledger_changed_after(client, users, books):
    client.force_login(users["viewer"])
    url = reverse("ledger:changed", kwargs={"org_slug": "acme"})
    stamp = ledger_stamp(tenant=books.org)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"since": stamp}).status_code == 204
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert "ledger_periodbalance" not in touched and "ledger_journalline" not in touched  # no report runs
    assert [q["sql"] for q in queries.captured_queries if "ledger_journalentry" in q["sql"]] == [
        f"SELECT coalesce(max(id), 0) FROM ledger_journalentry WHERE tenant_id = {books.org.pk}"]
    entry = post(books, "Rent, late")
    changed = client.get(url, {"since": stamp})
    assert changed.status_code == 200 and changed["HX-Trigger"] == "ledger-changed"
    assert f'data-stamp="{entry.pk}"' in changed.content.decode() and ledger_stamp(tenant=books.org) == entry.pk
    assert client.get(url, {"since": "nonsense"}).status_code == 200  # an unknown stamp refreshes once
    assert client.get(reverse("ledger:changed", kwargs={"org_slug": "globex"})).status_code == 404
