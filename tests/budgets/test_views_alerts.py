"""Variance-alert pages: the inbox lists alerts with their figures, directors and up acknowledge
or snooze them (viewers may not), another organisation's alert is a 404, and each user keeps
their own delivery preference."""
# ruff: noqa: F811  (fixtures imported from test_alerts are redefined as arguments)

from __future__ import annotations

import csv
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from budgets.alerts.evaluation import alerts_evaluate
from budgets.models import Alert
from budgets.selectors import budget_periods
from finops.audit.models import AuditEvent
from finops.notifications.inbox import inbox_item_open
from finops.notifications.models import Preference
from finops.tenancy.context import tenant_context

from .test_alerts import MARCH, make_rule, plan  # noqa: F401  (fixtures)


def url(name, **kwargs):
    return reverse(f"budgets:{name}", kwargs={"org_slug": "acme", **kwargs})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def alert(books, budget, plan):
    """One alert: software / SALES consumed 130 % (260 of 200) in March 2026."""
    make_rule(books, budget, "Overspend", [("consumed_pct", "120", "0")])
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 1
    with tenant_context(books.org):
        return Alert.objects.get()


def status_of(books, alert):
    with tenant_context(books.org):
        alert.item.refresh_from_db()
    return alert.item.status


def test_the_inbox_lists_an_open_alert_with_its_rule_line_period_and_figures(client, users, alert):
    client.force_login(users["viewer"])
    page = client.get(url("alert_inbox"))
    assert page.status_code == 200
    text = text_of(page.content.decode())
    assert (f"6200 Software · SALES Overspend · 120 % of budget consumed · #{alert.pk} March 2026 2026-03 USD "
            "260.00 200.00 60.00 30.0 % 130.0 % Open") in text
    journal = reverse("ledger:journal", kwargs={"org_slug": "acme"})
    assert (f'<a href="{journal}?entity={alert.entity_id}&amp;account={alert.account_id}&amp;cost_center='
            f'{alert.cost_center_id}&amp;period_from=2026-03&amp;period_to=2026-03&amp;back=%2Fo%2Facme%2Fbudgets%2Falerts%2F" '
            'title="The journal lines behind this actual">260.00</a>') in page.content.decode()
    assert '<td data-label="Variance" class="num bad" title="Unfavourable">60.00</td>' in page.content.decode()  # expense over budget
    assert url("alert_acknowledge", pk=alert.pk) not in page.content.decode()  # a viewer reads only
    client.force_login(users["director"])
    assert url("alert_acknowledge", pk=alert.pk) in client.get(url("alert_inbox")).content.decode()


def test_a_director_acknowledges_an_alert_and_it_leaves_the_open_list(client, users, books, alert):
    client.force_login(users["director"])
    response = client.post(url("alert_acknowledge", pk=alert.pk), {"status": "open"})
    assert response.status_code == 302 and response["Location"] == url("alert_inbox") + "?status=open"
    assert status_of(books, alert) == "acknowledged"
    assert alert.item.snoozed_until is None
    assert (alert.item.acknowledged_by, alert.item.note) == (users["director"], "")
    with tenant_context(books.org):
        event = AuditEvent.objects.get(action="inbox.acknowledge")
    assert (event.actor, event.object_type, event.object_id, event.before["status"], event.after["status"]) == (
        users["director"], "inboxitem", str(alert.item_id), "open", "acknowledged")
    assert "No open alerts." in text_of(client.get(url("alert_inbox")).content.decode())
    listed = text_of(client.get(url("alert_inbox") + "?status=acknowledged").content.decode())
    assert "6200 Software · SALES" in listed and "Acknowledged" in listed


def test_acknowledging_keeps_a_note_and_reopening_puts_the_alert_back_on_the_open_list(client, users, books, alert):
    client.force_login(users["director"])
    client.post(url("alert_acknowledge", pk=alert.pk), {"status": "open", "note": "  Annual licence, paid once "})
    listed = text_of(client.get(url("alert_inbox") + "?status=acknowledged").content.decode())
    assert "by director@acme.test," in listed and ": “Annual licence, paid once”" in listed
    assert url("alert_reopen", pk=alert.pk) in client.get(url("alert_inbox") + "?status=acknowledged").content.decode()
    response = client.post(url("alert_reopen", pk=alert.pk), {"status": "acknowledged"})
    assert response["Location"] == url("alert_inbox") + "?status=acknowledged"
    assert status_of(books, alert) == "open" and alert.item.note == "" and alert.item.acknowledged_by is None
    with tenant_context(books.org):
        event = AuditEvent.objects.get(action="inbox.reopen")
    assert (event.actor, event.before["status"], event.after["status"]) == (users["director"], "acknowledged", "open")
    again = client.post(url("alert_reopen", pk=alert.pk), {"status": "open"}, follow=True)
    assert f"Alert #{alert.pk} is open already." in text_of(again.content.decode())
    client.force_login(users["viewer"])
    assert client.post(url("alert_reopen", pk=alert.pk)).status_code == 403


def test_finance_snoozes_an_alert_for_exactly_seven_days(client, users, books, alert):
    client.force_login(users["finance"])
    before = timezone.now()
    assert client.post(url("alert_snooze", pk=alert.pk)).status_code == 302
    after = timezone.now()
    assert status_of(books, alert) == "snoozed"
    assert before + timedelta(days=7) <= alert.item.snoozed_until <= after + timedelta(days=7)
    assert "No open alerts." in text_of(client.get(url("alert_inbox")).content.decode())
    assert f"until {alert.item.snoozed_until:%Y-%m-%d}" in text_of(
        client.get(url("alert_inbox") + "?status=snoozed").content.decode())


def test_an_alert_already_acknowledged_cannot_be_snoozed_and_says_why(client, users, books, alert):
    client.force_login(users["admin"])
    client.post(url("alert_acknowledge", pk=alert.pk))
    response = client.post(url("alert_snooze", pk=alert.pk), follow=True)
    assert response.status_code == 200
    assert (f"Alert #{alert.pk} is acknowledged; only an open alert can be snoozed."
            in text_of(response.content.decode()))
    assert status_of(books, alert) == "acknowledged"


def test_a_viewer_gets_403_when_acknowledging_or_snoozing(client, users, books, alert):
    client.force_login(users["viewer"])
    assert client.post(url("alert_acknowledge", pk=alert.pk)).status_code == 403
    assert client.post(url("alert_snooze", pk=alert.pk)).status_code == 403
    assert status_of(books, alert) == "open"


@pytest.fixture
def foreign_alert(other_books):
    """An open alert of Globex (rent / OPS, 90 % consumed in March 2026)."""
    from django.contrib.auth import get_user_model

    from budgets import services

    finance = get_user_model().objects.get(email="finance@globex.test")
    budget = services.budget_create(tenant=other_books.org, actor=finance, entity=other_books.usd,
                                    fiscal_year=2026, name="Globex plan")
    march = budget_periods(tenant=other_books.org, budget=budget)[2]
    rule = make_rule(other_books, budget, "Globex spend", [("consumed_pct", "80", "0")])
    with tenant_context(other_books.org):
        alert = Alert.objects.create(tenant=other_books.org, rule=rule, threshold=rule.thresholds.get(),
                                     entity=other_books.usd, account=other_books.rent, cost_center=other_books.ops,
                                     period=march, actual=D("900"), budget=D("1000"), variance=D("-100"),
                                     pct=D("90.00"))
        alert.item = inbox_item_open(kind="variance_alert", ref=alert.pk, title="Globex spend: 6300 Rent · OPS")
        alert.save(update_fields=["item"])
        return alert


@pytest.mark.parametrize("name", ["alert_acknowledge", "alert_snooze"])
def test_another_organisations_alert_id_answers_404_and_stays_open(client, users, other_books, alert,
                                                                   foreign_alert, name):
    client.force_login(users["admin"])
    assert client.post(url(name, pk=foreign_alert.pk)).status_code == 404
    assert status_of(other_books, foreign_alert) == "open"
    assert "Globex spend" not in client.get(url("alert_inbox") + "?status=all").content.decode()


PREFERENCES = "/o/acme/notifications/"


def test_a_user_saves_their_own_alert_delivery_preference(client, users, books):
    client.force_login(users["viewer"])
    page = client.get(PREFERENCES).content.decode()
    assert "Send me variance alerts" in page
    assert re.search(r'name="variance_alert" value="immediate"[^>]*checked', page)
    response = client.post(PREFERENCES, {"variance_alert": "digest"})
    assert response.status_code == 302 and response["Location"] == PREFERENCES
    with tenant_context(books.org):
        [pref] = Preference.objects.all()
    assert (pref.email, pref.kind, pref.user, pref.mode) == ("viewer@acme.test", "variance_alert", users["viewer"],
                                                             "digest")
    assert re.search(r'value="digest"[^>]*checked', client.get(PREFERENCES).content.decode())


def test_an_unknown_preference_is_refused_with_a_message_and_nothing_saved(client, users, books):
    client.force_login(users["director"])
    response = client.post(PREFERENCES, {"variance_alert": "hourly"})
    assert response.status_code == 200
    assert "Choose immediately, daily digest or off." in response.content.decode()
    with tenant_context(books.org):
        assert Preference.objects.count() == 0


def test_the_inbox_exports_what_it_lists_with_who_acknowledged_it(client, users, alert):
    import io

    from openpyxl import load_workbook

    from budgets.alerts.inbox import alert_acknowledge

    alert_acknowledge(tenant=alert.tenant, actor=users["director"], alert=alert, note="=Known: annual licence")
    client.force_login(users["viewer"])
    response = client.get(url("alert_inbox") + "?status=all&format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="budget-alerts_acme_all.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Alert,Rule,Budget,Entity,Account,Account name,Cost center,Month,Basis,Threshold,"
                               "Currency,Actual,Budget amount,Variance,Variance %,Consumed %,F/U,Status,")
    row = next(csv.reader(lines[1:]))
    assert row[:18] == [f"#{alert.pk}", "Overspend", "Plan 2026", "US", "6200", "Software", "SALES", "2026-03",
                        "March 2026", "120 % of budget consumed", "USD", "260.00", "200.00", "60.00", "30.00",
                        "130.00", "U", "Acknowledged"]
    assert row[21] == "director@acme.test" and row[23] == "'=Known: annual licence"  # the formula guard
    sheet = load_workbook(io.BytesIO(client.get(url("alert_inbox") + "?status=all&format=xlsx").content)).active
    assert sheet["A1"].value == "Budget alerts" and sheet.freeze_panes == "A5"
    assert sheet["A2"].value == "Acme · All alerts · newest first · figures as observed when raised or last " \
                                "escalated, in the budget entity's currency"
    assert sheet.cell(row=5, column=12).number_format == "#,##0.00;(#,##0.00);#,##0.00"
    assert client.get(url("alert_inbox") + "?format=csv").content.decode("utf-8-sig").count("\r\n") == 1  # none open
