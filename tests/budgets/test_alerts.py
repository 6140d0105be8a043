"""Variance alerts (`budgets.alerts.evaluation`): exact thresholds, each breach recorded and e-mailed once,
at-least-once sending that survives a crash without duplicating alerts, the unsubscribe link,
the e-mail itself and the `evaluate_variance` command."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from budgets.alerts.evaluation import alerts_evaluate
from budgets.models import Alert, AlertRule, AlertThreshold
from budgets.selectors import budget_periods
from budgets.services.cells import budget_lines_set
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.notifications.models import Delivery, DeliveryStatus, Preference
from finops.notifications.outbox import outbox_claim, outbox_send
from finops.notifications.preferences import preference_set, unsubscribe_token

MARCH = date(2026, 3, 31)


def book(books, d, account, amount, *, cc=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def plan(books, draft, periods):
    """March 2026: rent/OPS 850 of 1,000 (85 %); software/SALES 260 of 200 (130 %, +60);
    revenue 700 of 1,000 (−300, −30 %)."""
    mar = periods[2]
    budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.rent, books.ops, mar, D("1000")), (books.software, books.sales, mar, D("200")),
        (books.revenue, None, mar, D("1000"))])
    book(books, date(2026, 3, 5), books.rent, "850", cc=books.ops)
    book(books, date(2026, 3, 6), books.software, "260", cc=books.sales)
    book(books, date(2026, 3, 7), books.revenue, "-700")
    return draft


def make_rule(books, budget, name, thresholds, **fields):
    with books_tenant(books):
        rule = AlertRule.objects.create(tenant=books.org, name=name, budget=budget,
                                        recipient_roles=fields.pop("roles", ["finance"]), **fields)
        for kind, pct, amount in thresholds:
            AlertThreshold.objects.create(tenant=books.org, rule=rule, kind=kind, pct=D(pct), amount=D(amount))
    return rule


def books_tenant(books):
    from finops.tenancy.context import tenant_context

    return tenant_context(books.org)


def recorded(books):
    with books_tenant(books):
        return sorted((a.account.code, a.cost_center.code if a.cost_center else "", str(a.threshold), a.actual,
                       a.budget, a.variance, a.pct)
                      for a in Alert.objects.select_related("account", "cost_center", "threshold"))


CONSUMED = [("consumed_pct", "80", "0"), ("consumed_pct", "100", "0"), ("consumed_pct", "120", "0")]


def test_consumed_thresholds_fire_on_expense_lines_one_alert_per_line_at_its_highest_threshold(books, budget, plan):
    make_rule(books, budget, "Spend", CONSUMED)
    result = alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert (result.alerts_created, result.alerts_escalated) == (2, 0)
    # 85 % crossed 80 %; 130 % crossed 80, 100 and 120 %: one alert, at 120 %.
    assert recorded(books) == [
        ("6100", "OPS", "80 % of budget consumed", D("850"), D("1000"), D("-150"), D("85.00")),
        ("6200", "SALES", "120 % of budget consumed", D("260"), D("200"), D("60"), D("130.00")),
    ]


def test_crossing_a_higher_threshold_escalates_the_same_alert_reopens_it_and_sends_once(books, budget, plan, users):
    from budgets.alerts.inbox import alert_acknowledge
    from finops.notifications.models import InboxItem

    make_rule(books, budget, "Spend", CONSUMED, scope="account", account=books.rent)
    first = alerts_evaluate(tenant=books.org, as_of=MARCH)  # rent/OPS 850 of 1,000: 80 %
    assert (first.alerts_created, first.alerts_escalated, first.deliveries_created) == (1, 0, 1)
    with books_tenant(books):
        alert = Alert.objects.get()
    alert_acknowledge(tenant=books.org, actor=users["director"], alert=alert, note="Known: the lease rose")
    book(books, date(2026, 3, 25), books.rent, "250", cc=books.ops)  # now 1,100: 110 %
    again = alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert (again.alerts_created, again.alerts_escalated, again.deliveries_created) == (0, 1, 1)
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).deliveries_created == 0  # still 110 %: nothing new
    with books_tenant(books):
        escalated = Alert.objects.select_related("threshold").get()
        item = InboxItem.objects.get(pk=escalated.item_id)
        seqs = sorted(Delivery.objects.values_list("ref", "seq"))
    assert (escalated.pk, str(escalated.threshold), escalated.actual, escalated.pct, escalated.escalations) == (
        alert.pk, "100 % of budget consumed", D("1100.00"), D("110.00"), 1)
    assert (item.status, item.acknowledged_by_id, item.note) == ("open", None, "")  # open again
    assert item.title == "Spend: 6100 Rent · OPS, March 2026 (100 % of budget consumed)"
    assert seqs == [(alert.pk, 0), (alert.pk, 1)]
    assert outbox_send(tenant=books.org) == 1
    assert mail.outbox[-1].subject == "[Acme] 1 budget line escalated: Spend, March 2026"


def test_variance_threshold_needs_both_the_percentage_and_the_amount_inclusive_at_the_boundary(books, budget, plan):
    # Revenue −300 / −30 % fires at exactly 30 % and 300; software +60 / +30 % is under 300.
    make_rule(books, budget, "Variance", [("variance", "30", "300")])
    make_rule(books, budget, "Too strict", [("variance", "30.01", "0"), ("variance", "0", "300.01")])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert recorded(books) == [
        ("4000", "", "variance beyond ±30 % and ±300", D("700"), D("1000"), D("-300"), D("-30.00")),
    ]


def test_a_rule_watching_only_unfavourable_variances_ignores_lines_better_than_plan(books, budget, plan):
    # Rent/OPS 850 of 1,000 is −150 / −15 %: beyond ±10 % and ±50, but favourable for an expense.
    make_rule(books, budget, "Worse than plan", [("variance", "10", "50")], unfavourable_only=True)
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert [(code, cc) for code, cc, *_ in recorded(books)] == [("4000", ""), ("6200", "SALES")]
    make_rule(books, budget, "Either way", [("variance", "10", "50")])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert [(code, cc) for code, cc, *_ in recorded(books)] == [
        ("4000", ""), ("4000", ""), ("6100", "OPS"), ("6200", "SALES"), ("6200", "SALES")]


def test_mid_month_a_consumed_threshold_reads_the_whole_budget_and_records_its_variance(books, budget, plan):
    make_rule(books, budget, "Spend", [("consumed_pct", "80", "0")])
    alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 15))  # paced: 1,000 × 15 / 31 = 483.87
    assert recorded(books) == [
        ("6100", "OPS", "80 % of budget consumed", D("850.00"), D("1000.00"), D("-150.00"), D("85.00")),
        ("6200", "SALES", "80 % of budget consumed", D("260.00"), D("200.00"), D("60.00"), D("130.00")),
    ]


def test_a_year_to_date_rule_reads_the_budget_paced_to_the_day_so_a_line_ahead_of_plan_stays_quiet(
        books, budget, draft, periods):
    # Revenue 1,000 a month budgeted, 1,050 booked each month to November (5 % ahead), December not yet.
    budget_lines_set(tenant=books.org, actor=None, version=draft,
                     cells=[(books.revenue, None, p, D("1000")) for p in periods])
    for month in range(1, 12):
        book(books, date(2026, month, 20), books.revenue, "-1050")
    make_rule(books, budget, "Revenue behind plan", [("variance", "1", "0")], basis="ytd", unfavourable_only=True)
    # 2 December: 11,550 against 11,000 + 1,000 × 2 / 31 = 11,064.52 paced: ahead, no alert (against
    # the year's 12,000 it would read 3.75 % behind).
    assert alerts_evaluate(tenant=books.org, as_of=date(2026, 12, 2)).alerts_created == 0
    # 31 December, still nothing booked for December: now it is behind, and says so once.
    assert alerts_evaluate(tenant=books.org, as_of=date(2026, 12, 31)).alerts_created == 1
    assert recorded(books) == [
        ("4000", "", "variance beyond ±1 %", D("11550.00"), D("12000.00"), D("-450.00"), D("-3.75"))]


def test_unbudgeted_spend_fires_a_variance_threshold_on_its_amount(books, budget, plan, periods):
    book(books, date(2026, 3, 8), books.software, "500", cc=books.ops)  # no budget line for software/OPS
    make_rule(books, budget, "Unbudgeted", [("variance", "50", "400")])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert recorded(books) == [("6200", "OPS", "variance beyond ±50 % and ±400", D("500"), D("0"), D("500"), None)]


def test_a_cost_center_scope_watches_the_subtree_only(books, budget, plan):
    make_rule(books, budget, "Sales", CONSUMED, scope="cost_center", cost_center=books.sales)
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert [r[:3] for r in recorded(books)] == [("6200", "SALES", "120 % of budget consumed")]


def test_evaluating_twice_records_and_sends_each_alert_once(books, budget, plan):
    make_rule(books, budget, "Spend", CONSUMED, extra_recipients="CFO@example.com, not-an-address")
    first = alerts_evaluate(tenant=books.org, as_of=MARCH)
    second = alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert (first.alerts_created, first.deliveries_created) == (2, 4)  # finance@acme.test + cfo@example.com
    assert (len(second.breaches), second.alerts_created, second.deliveries_created) == (2, 0, 0)
    assert outbox_send(tenant=books.org) == 2
    assert outbox_send(tenant=books.org) == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["cfo@example.com", "finance@acme.test"]
    with books_tenant(books):
        assert Alert.objects.count() == 2
        assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}


def test_a_send_that_crashed_after_the_claim_is_retried_once_after_the_timeout_with_the_same_message_id(
        books, budget, plan):
    make_rule(books, budget, "Spend", CONSUMED)
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    now = timezone.now()
    claimed = outbox_claim(tenant=books.org, now=now)  # the worker dies before sending
    assert len(claimed) == 1 and mail.outbox == []
    assert outbox_send(tenant=books.org, now=now + timedelta(minutes=5)) == 0  # still in flight
    assert outbox_send(tenant=books.org, now=now + timedelta(minutes=16)) == 1
    assert outbox_send(tenant=books.org, now=now + timedelta(minutes=40)) == 0
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert len(mail.outbox) == 1 and mail.outbox[0].extra_headers["Message-ID"] == claimed[0]
    with books_tenant(books):
        assert Alert.objects.count() == 2
        assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 2)}


def test_the_email_has_the_exact_subject_a_table_row_the_variance_link_and_an_unsubscribe_link(
        books, budget, plan, settings):
    settings.SITE_URL = "https://finops.example"
    make_rule(books, budget, "Spend", [("consumed_pct", "120", "0")])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    outbox_send(tenant=books.org)
    (message,) = mail.outbox
    assert message.subject == "[Acme] 1 budget line off plan: Spend, March 2026"
    assert message.to == ["finance@acme.test"]
    with books_tenant(books):
        alert = Alert.objects.get()
    inbox = f"https://finops.example/o/acme/budgets/alerts/?status=all#alert-{alert.pk}"
    html = message.alternatives[0][0]
    journal = (f"https://finops.example/o/acme/ledger/?entity={books.usd.pk}&amp;account={books.software.pk}"
               f"&amp;cost_center={books.sales.pk}&amp;period_from=2026-03&amp;period_to=2026-03")
    assert ('<td>Spend</td><td>6200 Software<br><span style="color:#667085;">March 2026</span></td><td>SALES</td>'
            f'<td style="text-align:right;"><a href="{journal}" style="color:#3f3fb0;" title="The journal lines behind '
            'this actual">260.00</a></td><td style="text-align:right;">200.00</td>'
            '<td style="text-align:right;color:#b42318;">60.00</td><td style="text-align:right;color:#b42318;">30.00 %</td>'
            '<td>120 % of budget consumed<br><span style="color:#667085;">130.00 % consumed</span><br>'
            f'<a href="{inbox}" style="color:#3f3fb0;">In the inbox</a></td>') in html
    assert message.body.startswith("1 budget line off plan for Acme, March 2026 (amounts in USD, natural sign):")
    assert ("- Spend · 6200 Software · SALES: actual 260.00, budget 200.00, variance 60.00 (30.00 %), "
            "130.00 % of budget consumed\n  Basis: March 2026\n  Threshold: 120 % of budget consumed\n"
            f"  Journal lines: {journal.replace('&amp;', '&')}\n  In the inbox: {inbox}\n") in message.body
    assert "<span" not in message.body and "&amp;" not in message.body
    assert (f"Budget vs actual: https://finops.example/o/acme/budgets/versions/{plan.pk}/variance/"
            "?month=2026-03&basis=month\n") in message.body
    assert "https://finops.example/alerts/unsubscribe/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://finops.example/alerts/unsubscribe/")


def test_the_unsubscribe_link_turns_alerts_off_and_a_tampered_token_is_refused(client, books, budget, plan):
    token = unsubscribe_token(tenant_id=books.org.pk, email="finance@acme.test", kind="variance_alert")
    page = client.get(f"/alerts/unsubscribe/{token}/")
    assert page.status_code == 200 and b"finance@acme.test" in page.content
    with books_tenant(books):
        assert not Preference.objects.exists()  # GET changes nothing
    assert client.post(f"/alerts/unsubscribe/{token}/").status_code == 200
    with books_tenant(books):
        assert list(Preference.objects.values_list("email", "mode", "user__email")) == [
            ("finance@acme.test", "off", "finance@acme.test")]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/alerts/unsubscribe/{tampered}/").status_code == 400
    make_rule(books, budget, "Spend", CONSUMED)
    result = alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert (result.alerts_created, result.deliveries_created) == (2, 0)  # recorded, not e-mailed


def token_made(days_ago: float, *, books, monkeypatch, email: str = "finance@acme.test") -> str:
    """An unsubscribe token as an e-mail sent `days_ago` days ago carried it."""
    import time

    then = time.time() - days_ago * 86400
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: then)
        return unsubscribe_token(tenant_id=books.org.pk, email=email, kind="variance_alert")


def test_an_unsubscribe_link_older_than_90_days_has_expired_and_says_to_sign_in_and_change_preferences(
        client, books, monkeypatch):
    token = token_made(91, books=books, monkeypatch=monkeypatch)

    page = client.get(f"/alerts/unsubscribe/{token}/")
    posted = client.post(f"/alerts/unsubscribe/{token}/", {"mode": "off"})

    assert (page.status_code, posted.status_code) == (410, 410)
    text = page.content.decode()
    assert "This link has expired" in text
    assert "Links in alert e-mails work for 90 days." in text
    assert 'href="/login/?next=/o/acme/notifications/"' in text
    assert "finance@acme.test" not in text  # an expired link no longer says whose it was
    with books_tenant(books):
        assert not Preference.objects.exists()


def test_an_unsubscribe_link_within_its_age_still_works_and_the_age_is_configurable(client, books, monkeypatch,
                                                                                   settings):
    assert client.post(f"/alerts/unsubscribe/{token_made(89, books=books, monkeypatch=monkeypatch)}/").status_code == 200
    with books_tenant(books):
        assert list(Preference.objects.values_list("email", "mode")) == [("finance@acme.test", "off")]

    settings.NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS = 7
    assert client.get(f"/alerts/unsubscribe/{token_made(8, books=books, monkeypatch=monkeypatch)}/").status_code == 410


def test_a_digest_preference_delays_the_delivery_to_the_next_digest_hour(books, budget, plan):
    preference_set(tenant=books.org, email="finance@acme.test", kind="variance_alert", mode="digest")
    make_rule(books, budget, "Spend", [("consumed_pct", "120", "0")])
    now = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    alerts_evaluate(tenant=books.org, as_of=MARCH, now=now)
    assert outbox_send(tenant=books.org, now=now) == 0
    assert outbox_send(tenant=books.org, now=now.replace(day=1, month=4, hour=7)) == 1


def test_the_command_prints_breaches_and_a_dry_run_records_nothing(books, budget, plan):
    make_rule(books, budget, "Spend", [("consumed_pct", "120", "0")])
    out = StringIO()
    call_command("evaluate_variance", "--org", "acme", "--as-of", "2026-03-31", "--dry-run", stdout=out)
    assert out.getvalue().splitlines() == [
        "Spend: 6200 SALES 2026-03 actual 260.00 budget 200.00 variance 60.00 (130.00 %) — 120 % of budget consumed",
        "Dry run: 1 breach(es); nothing recorded.",
    ]
    with books_tenant(books):
        assert (Alert.objects.count(), Delivery.objects.count()) == (0, 0)
    assert mail.outbox == []
    out = StringIO()
    call_command("evaluate_variance", "--org", "acme", "--as-of", "2026-03-31", stdout=out)
    assert out.getvalue().splitlines()[-1] == "1 new alert(s), 1 delivery(ies), 1 e-mail(s) sent."


def test_one_email_for_alerts_of_two_budgets_names_each_currency_and_both_rules(books, budget, plan, users):
    from budgets import services
    from budgets.selectors import version_latest

    uk = services.budget_create(tenant=books.org, actor=None, entity=books.gbp, fiscal_year=2026, name="UK 2026")
    uk_draft = version_latest(tenant=books.org, budget=uk)
    march = budget_periods(tenant=books.org, budget=uk)[2]
    budget_lines_set(tenant=books.org, actor=None, version=uk_draft, cells=[(books.rent, books.ops, march, D("100"))])
    ledger.journal_post(tenant=books.org, actor=None, entity=books.gbp, date=date(2026, 3, 8), lines=[
        LineSpec(books.rent.pk, D("150"), books.ops.pk), LineSpec(books.cash.pk, D("-150"))])
    make_rule(books, budget, "Spend", [("consumed_pct", "120", "0")])
    make_rule(books, uk, "UK spend", [("consumed_pct", "120", "0")])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    outbox_send(tenant=books.org)
    (message,) = mail.outbox
    assert message.subject == "[Acme] 2 budget lines off plan: Spend and UK spend, March 2026"
    assert message.body.startswith("2 budget lines off plan for Acme, March 2026 (amounts in each budget's currency, "
                                   "natural sign):")
    assert "- Spend · 6200 Software · SALES: actual 260.00 USD, budget 200.00," in message.body
    assert "- UK spend · 6100 Rent · OPS: actual 150.00 GBP, budget 100.00," in message.body
    assert "Budget vs actual:" not in message.body  # two budgets: each line has its own drill-down
    assert message.body.count("  Journal lines: ") == 2
