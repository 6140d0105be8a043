"""The journal shows a new posting in a real browser without a reload (finops/ledger/views/live.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from tests.builders import make_books, make_org
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post(books, memo: str):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 10), memo=memo,
                        lines=[LineSpec(books.rent.pk, Decimal("12.34"), books.ops.pk),
                               LineSpec(books.cash.pk, Decimal("-12.34"))])


def test_the_journal_shows_a_new_posting_without_a_reload(live_server, page, settings):
    settings.LIVE_POLL_SECONDS = 1
    org = make_org("acme", "Acme")
    books = make_books(org)
    post(books, "Rent, March")
    sign_in(page, live_server.url, "viewer@acme.test")
    page.goto(f"{live_server.url}/o/acme/ledger/")
    table = page.locator("#journal-table")
    expect(table).to_contain_text("Rent, March")
    page.evaluate("window.__notReloaded = true")
    post(books, "Hosting, posted by the API")
    expect(table).to_contain_text("Hosting, posted by the API", timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True  # the table came in place; the page stayed
    assert page.locator("#journal-table").count() == 1
    assert page.console_errors == []
