"""The organisation's inbox, for any kind: acknowledging keeps who, when and the note, a snooze
runs out by itself, only an open item changes, and another organisation's item is not there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.notifications.inbox import inbox_acknowledge, inbox_item_open, inbox_snooze, inbox_status_q
from finops.notifications.models import InboxItem
from finops.tenancy.context import tenant_context

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def item(org):
    with tenant_context(org):
        return inbox_item_open(kind="cost_anomaly", ref=41, title="AWS EC2 spend 3× its usual", link="/o/acme/costs/")


def listed(org, status, now):
    with tenant_context(org):
        return list(InboxItem.objects.filter(inbox_status_q(status, now=now)).values_list("ref", flat=True))


def test_opening_an_item_twice_gives_the_same_item(org, item):
    with tenant_context(org):
        again = inbox_item_open(kind="cost_anomaly", ref=41, title="another title")
        assert (again.pk, again.title, InboxItem.objects.count()) == (item.pk, "AWS EC2 spend 3× its usual", 1)


def test_acknowledging_keeps_who_when_and_the_note_and_audits_it(org, users, item):
    done = inbox_acknowledge(tenant=org, actor=users["director"], item=item, note="  Reserved instances bought. ",
                             now=NOW)
    assert (done.status, done.acknowledged_by, done.acknowledged_at, done.note) == (
        "acknowledged", users["director"], NOW, "Reserved instances bought.")
    with tenant_context(org):
        event = AuditEvent.objects.get(action="inbox.acknowledge")
    assert (event.object_id, event.before, event.after) == (str(item.pk), {"status": "open", "snoozed_until": None}, {
        "status": "acknowledged", "snoozed_until": None, "note": "Reserved instances bought."})
    with pytest.raises(DomainError, match="Alert #41 is acknowledged; only an open alert can be snoozed."):
        inbox_snooze(tenant=org, actor=users["director"], item=item, now=NOW)


def test_a_note_longer_than_2000_characters_is_refused_and_the_item_stays_open(org, users, item):
    with pytest.raises(DomainError, match=r"Keep the note to 2000 characters \(it has 2001\)."):
        inbox_acknowledge(tenant=org, actor=users["director"], item=item, note="x" * 2001, now=NOW)
    assert listed(org, "open", NOW) == [41]


def test_a_snooze_runs_out_by_itself_and_the_item_is_open_again(org, users, item):
    inbox_snooze(tenant=org, actor=users["finance"], item=item, days=3, now=NOW)
    assert (listed(org, "open", NOW), listed(org, "snoozed", NOW)) == ([], [41])
    later = NOW + timedelta(days=3)
    assert (listed(org, "open", later), listed(org, "snoozed", later)) == ([41], [])
    inbox_acknowledge(tenant=org, actor=users["finance"], item=item, now=later)  # open again: it can be
    assert listed(org, "acknowledged", later) == [41]


@pytest.mark.parametrize("days", [0, 91])
def test_a_snooze_outside_1_to_90_days_is_refused(org, users, item, days):
    with pytest.raises(DomainError, match="Snooze an alert for 1 to 90 days."):
        inbox_snooze(tenant=org, actor=users["finance"], item=item, days=days, now=NOW)


def test_another_organisations_item_is_not_there(org, other_org, users, item):
    from django.contrib.auth import get_user_model

    their_admin = get_user_model().objects.get(email="admin@globex.test")
    with tenant_context(other_org):
        assert InboxItem.objects.count() == 0
    with pytest.raises(DomainError, match="This alert does not exist."):
        inbox_acknowledge(tenant=other_org, actor=their_admin, item=item, now=NOW)
    with pytest.raises(DomainError, match="You are not a member of this organisation"):
        inbox_acknowledge(tenant=org, actor=their_admin, item=item, now=NOW)
    assert listed(org, "open", NOW) == [41]
