"""Alert rule pages: the list in words, creating a rule with its thresholds by POST, editing a
rule that has alerts without losing them, a bad form that keeps what was typed and says what is
wrong by the field, "Add another threshold" without JavaScript, directors read but may not
change, pause / delete from the list, and the dry-run preview with the exact breach."""
# ruff: noqa: F811  (fixtures imported from test_alerts are redefined as arguments)

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from budgets.alerts.evaluation import alerts_evaluate
from budgets.alerts.rules import ThresholdSpec, alert_rule_create
from budgets.models import Alert, AlertRule, AlertThreshold
from finops.tenancy.context import tenant_context

from .test_alerts import MARCH, plan  # noqa: F401  (fixture)


def url(name, **kwargs):
    return reverse(f"budgets:{name}", kwargs={"org_slug": "acme", **kwargs})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def rule(books, budget, users):
    return alert_rule_create(
        tenant=books.org, actor=users["finance"], budget=budget, name="Overspend", scope="cost_center",
        cost_center=books.ops, account_type="", account=None, basis="month", recipient_roles=["finance", "director"],
        notify_cost_center_owners=True, extra_recipients="cfo@example.com", delivery="digest",
        thresholds=[ThresholdSpec("consumed_pct", "100"), ThresholdSpec("consumed_pct", "120")])


@pytest.fixture
def fired(books, rule, plan):
    """software / SALES (under OPS) consumed 130 % in March: one alert, at 120 % (the highest crossed)."""
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 1
    return rule


def form_data(budget, **overrides):
    data = {"name": "Marketing overspend", "budget": str(budget.pk), "scope": "organization", "cost_center": "",
            "account_type": "", "account": "", "basis": "ytd", "recipient_roles": ["finance"],
            "extra_recipients": "", "delivery": "immediate",
            "thresholds-TOTAL_FORMS": "3", "thresholds-INITIAL_FORMS": "0",
            "thresholds-MIN_NUM_FORMS": "0", "thresholds-MAX_NUM_FORMS": "20",
            "thresholds-0-kind": "consumed_pct", "thresholds-0-pct": "90", "thresholds-0-amount": "",
            "thresholds-1-kind": "variance", "thresholds-1-pct": "15", "thresholds-1-amount": "2,500",
            "thresholds-2-kind": "consumed_pct", "thresholds-2-pct": "", "thresholds-2-amount": ""}
    data.update(overrides)
    return data


def thresholds_of(books, rule_pk):
    with tenant_context(books.org):
        return [(str(t), t.retired_at is not None) for t in
                AlertThreshold.objects.filter(rule_id=rule_pk).order_by("kind", "pct", "amount")]


def test_the_list_says_each_rule_in_words_with_its_open_alerts(client, users, fired):
    client.force_login(users["viewer"])
    page = client.get(url("alert_rules"))
    assert page.status_code == 200
    text = text_of(page.content.decode())
    assert ("Overspend Plan 2026 · FY2026 Cost centers under OPS · Operations Month to date, against the budget paced to the day 100 % of budget consumed "
            "120 % of budget consumed Finance, Director, cost-center owners, cfo@example.com Daily digest Active 1"
            ) in text
    with tenant_context(fired.tenant_id):
        last = Alert.objects.order_by("-created_at").first().created_at
    assert f"{last:%Y-%m-%d %H:%M}" in text
    html = page.content.decode()
    assert url("alert_rule_preview", pk=fired.pk) in html
    for name in ("alert_rule_edit", "alert_rule_new", "alert_rule_delete", "alert_rule_active"):  # reads only
        assert f'="{url(name, **({} if name == "alert_rule_new" else {"pk": fired.pk}))}"' not in html


def test_the_alert_inbox_and_the_budget_list_link_to_the_rules(client, users, budget):
    client.force_login(users["director"])
    for page in (url("alert_inbox"), url("index")):
        assert f'href="{url("alert_rules")}"' in client.get(page).content.decode()


def test_finance_creates_a_rule_with_its_thresholds_by_post(client, users, books, budget):
    client.force_login(users["finance"])
    response = client.post(url("alert_rule_new"), form_data(budget, extra_recipients="Ops@Example.com\nCFO@example.com"))
    assert response.status_code == 302 and response["Location"] == url("alert_rules")
    with tenant_context(books.org):
        rule = AlertRule.objects.get()
    assert (rule.name, rule.budget_id, rule.scope, rule.basis, rule.recipient_roles, rule.extra_recipients,
            rule.delivery, rule.active) == ("Marketing overspend", budget.pk, "organization", "ytd", ["finance"],
                                            "ops@example.com\ncfo@example.com", "immediate", True)
    assert thresholds_of(books, rule.pk) == [("90 % of budget consumed", False),
                                             ("variance beyond ±15 % and ±2500", False)]  # the blank row ignored
    assert "Alert rule “Marketing overspend” created." in text_of(client.get(url("alert_rules")).content.decode())


def test_a_rule_can_watch_only_unfavourable_variances_and_the_editor_shows_it(client, users, books, budget):
    client.force_login(users["finance"])
    response = client.post(url("alert_rule_new"), form_data(budget, unfavourable_only="on"))
    assert response.status_code == 302
    with tenant_context(books.org):
        rule = AlertRule.objects.get()
    assert rule.unfavourable_only is True
    html = client.get(url("alert_rule_edit", pk=rule.pk)).content.decode()
    assert re.search(r'<input type="checkbox" name="unfavourable_only"[^>]* checked', html)


def test_the_editor_shows_the_rule_and_editing_keeps_its_alerts(client, users, books, budget, fired):
    client.force_login(users["admin"])
    page = client.get(url("alert_rule_edit", pk=fired.pk)).content.decode()
    assert 'value="Overspend"' in page and 'name="thresholds-0-pct" value="100"' in page
    assert f'<option value="{books.sales.pk}">\u00a0\u00a0\u00a0\u00a0SALES · Sales</option>' in page  # the tree
    assert "1 alert recorded so far." in text_of(page)
    data = form_data(budget, name="Overspend (ops)", scope="cost_center", cost_center=str(books.ops.pk),
                     basis="month", **{"thresholds-TOTAL_FORMS": "2",
                                       "thresholds-0-kind": "consumed_pct", "thresholds-0-pct": "100.00",
                                       "thresholds-1-kind": "consumed_pct", "thresholds-1-pct": "150",
                                       "thresholds-1-amount": ""})
    response = client.post(url("alert_rule_edit", pk=fired.pk), data)
    assert response.status_code == 302
    assert thresholds_of(books, fired.pk) == [("100 % of budget consumed", False), ("120 % of budget consumed", True),
                                              ("150 % of budget consumed", False)]
    with tenant_context(books.org):
        assert Alert.objects.filter(rule=fired).count() == 1
        assert AlertRule.objects.get().name == "Overspend (ops)"


def test_too_many_other_addresses_are_refused_next_to_the_field(client, users, books, budget):
    client.force_login(users["finance"])
    data = form_data(budget, extra_recipients="\n".join(f"user{n}@example.com" for n in range(21)))

    response = client.post(url("alert_rule_new"), data)

    assert response.status_code == 400
    errors = dict(re.findall(r'id="id_(\w+)_error"><li>([^<]*)</li>', response.content.decode()))
    assert errors == {"extra_recipients": "A rule sends to at most 20 other addresses, not 21: give a mailing "
                                          "list’s address instead."}
    with tenant_context(books.org):
        assert AlertRule.objects.count() == 0


def test_a_bad_form_keeps_what_was_typed_and_says_what_is_wrong_by_the_field(client, users, books, budget, rule):
    client.force_login(users["finance"])
    data = form_data(budget, name="overspend", scope="account", extra_recipients="cfo@example.com\nbob@",
                     **{"thresholds-2-pct": "90"})
    response = client.post(url("alert_rule_new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    errors = dict(re.findall(r'id="id_(\w+)_error"><li>([^<]*)</li>', html))
    assert errors == {"name": "A rule named “overspend” exists already: choose another name.",
                      "account": "Choose the account the rule watches.",
                      "extra_recipients": "“bob@” is not a valid e-mail address."}
    assert "“90 % of budget consumed” is listed twice (rows 1 and 3)." in text_of(html)
    assert 'value="overspend"' in html
    assert '>\ncfo@example.com\nbob@</textarea>' in html
    assert 'name="thresholds-1-amount" value="2,500"' in html
    assert '<option value="account" selected>Account</option>' in html
    with tenant_context(books.org):
        assert AlertRule.objects.count() == 1


def test_a_threshold_that_is_not_a_number_is_named_on_its_row(client, users, budget):
    client.force_login(users["finance"])
    response = client.post(url("alert_rule_new"), form_data(budget, **{"thresholds-0-pct": "ninety"}))
    assert response.status_code == 400
    assert re.search(r'name="thresholds-0-pct" value="ninety"[^>]*>\s*<ul class="errorlist"[^>]*><li>Enter a number.',
                     response.content.decode())


def test_add_another_threshold_keeps_everything_typed_and_adds_a_row(client, users, books, budget):
    client.force_login(users["finance"])
    response = client.post(url("alert_rule_new"), form_data(budget, more="1", name=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="thresholds-TOTAL_FORMS" value="4"' in html
    assert 'name="thresholds-1-amount" value="2,500"' in html and 'name="thresholds-3-pct"' in html
    assert 'errorlist' not in html  # nothing submitted yet
    with tenant_context(books.org):
        assert not AlertRule.objects.exists()


def test_a_director_reads_the_rules_and_tests_one_but_may_not_change_them(client, users, books, budget, rule):
    client.force_login(users["director"])
    assert client.get(url("alert_rules")).status_code == 200
    assert client.get(url("alert_rule_preview", pk=rule.pk)).status_code == 200
    assert client.get(url("alert_rule_new")).status_code == 403
    assert client.get(url("alert_rule_edit", pk=rule.pk)).status_code == 403
    assert client.post(url("alert_rule_new"), form_data(budget)).status_code == 403
    assert client.post(url("alert_rule_edit", pk=rule.pk), form_data(budget)).status_code == 403
    assert client.post(url("alert_rule_active", pk=rule.pk), {"active": "0"}).status_code == 403
    assert client.post(url("alert_rule_delete", pk=rule.pk)).status_code == 403
    with tenant_context(books.org):
        assert list(AlertRule.objects.values_list("name", "active")) == [("Overspend", True)]


def test_finance_pauses_a_rule_and_may_not_delete_one_that_fired(client, users, books, fired):
    client.force_login(users["finance"])
    assert client.post(url("alert_rule_active", pk=fired.pk), {"active": "0"}).status_code == 302
    page = text_of(client.get(url("alert_rules")).content.decode())
    assert "Alert rule “Overspend” paused." in page and "Paused" in page and "Resume" in page
    response = client.post(url("alert_rule_delete", pk=fired.pk), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == url("alert_rules")
    assert ("“Overspend” has 1 recorded alert; deleting it would delete them. Pause the rule instead"
            in text_of(client.get(url("alert_rules")).content.decode()))
    with tenant_context(books.org):
        assert AlertRule.objects.get().active is False


def test_a_rule_that_never_fired_is_deleted(client, users, books, rule):
    client.force_login(users["admin"])
    assert client.post(url("alert_rule_delete", pk=rule.pk)).status_code == 302
    with tenant_context(books.org):
        assert not AlertRule.objects.exists() and not AlertThreshold.objects.exists()


def test_the_dry_run_preview_shows_the_exact_breach_and_records_nothing(client, users, books, rule, plan):
    client.force_login(users["finance"])
    page = client.get(url("alert_rule_preview", pk=rule.pk) + "?as_of=2026-03-31")
    assert page.status_code == 200
    text = text_of(page.content.decode())
    assert "1 breach on 2026-03-31 (March 2026)" in text
    assert "6200 Software / SALES 2026-03 120 % of budget consumed 260.00 200.00 60.00 130.0 % Would alert" in text
    assert "100 % of budget consumed 260.00" not in text  # one line, one alert: at its highest threshold
    with tenant_context(books.org):
        assert not Alert.objects.exists()
    fragment = client.get(url("alert_rule_preview", pk=rule.pk) + "?as_of=2026-03-31",
                          headers={"HX-Request": "true", "HX-Target": "rule-preview"}).content.decode()
    assert fragment.lstrip().startswith('<div id="rule-preview">') and "Alerted already" not in fragment
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert text_of(client.get(url("alert_rule_preview", pk=rule.pk) + "?as_of=2026-03-31").content.decode()).count(
        "Alerted already") == 1
    bad = client.get(url("alert_rule_preview", pk=rule.pk) + "?as_of=31/03/2026")
    assert bad.status_code == 400 and "“31/03/2026” is not a date: use YYYY-MM-DD." in text_of(bad.content.decode())


def test_the_edit_page_offers_the_test_with_a_day_in_the_budgets_year(client, users, rule):
    client.force_login(users["finance"])
    html = client.get(url("alert_rule_edit", pk=rule.pk)).content.decode()
    assert f'hx-get="{url("alert_rule_preview", pk=rule.pk)}"' in html
    assert 'name="as_of" value="2026-' in html


def test_another_organisations_rule_is_a_404(client, users, other_org, other_books):
    from budgets import services

    theirs = services.budget_create(tenant=other_org, actor=None, entity=other_books.usd, fiscal_year=2026,
                                    name="Their plan")
    rule = alert_rule_create(tenant=other_org, actor=None, budget=theirs, name="Theirs", recipient_roles=["finance"],
                             thresholds=[ThresholdSpec("consumed_pct", "80")])
    client.force_login(users["finance"])
    for name in ("alert_rule_edit", "alert_rule_preview"):
        assert client.get(url(name, pk=rule.pk)).status_code == 404
    assert client.post(url("alert_rule_delete", pk=rule.pk)).status_code == 404
