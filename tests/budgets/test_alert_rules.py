"""Alert rules (`budgets.alerts.rules`): every validation said in words next to the field it is
about, scope fields cleared when the scope does not use them, edits that never lose an alert
(unchanged thresholds stay the same rows, removed ones that fired are retired and no longer
evaluated, one added back is revived), deleting a rule that fired is refused, pause / resume,
the dry-run preview, and an audit event for every change."""
# ruff: noqa: F811  (fixtures imported from test_alerts are redefined as arguments)

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from budgets.alerts.evaluation import alert_rule_preview, alerts_evaluate, preview_as_of
from budgets.alerts.rules import (
    ThresholdSpec,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_set_active,
    alert_rule_update,
)
from budgets.alerts.selectors import alert_rule_list
from budgets.models import Alert, AlertRule, AlertThreshold
from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.tenancy.context import tenant_context

from .test_alerts import MARCH, plan  # noqa: F401  (fixture)

CONSUMED_80_100_120 = [ThresholdSpec("consumed_pct", D("80")), ThresholdSpec("consumed_pct", D("100")),
                       ThresholdSpec("consumed_pct", D("120"))]


def create(books, plan_budget, users, **overrides):
    fields = {"name": "Spend watch", "budget": plan_budget, "scope": "organization", "basis": "month",
              "recipient_roles": ["finance"], "delivery": "immediate", "thresholds": CONSUMED_80_100_120}
    fields.update(overrides)
    return alert_rule_create(tenant=books.org, actor=users["finance"], **fields)


def update(books, rule, users, **overrides):
    """`rule` changed by `overrides`, the rest as it is."""
    with tenant_context(books.org):
        rule = AlertRule.objects.get(pk=rule.pk)
        current = [ThresholdSpec(t.kind, t.pct, t.amount) for t in rule.thresholds.filter(retired_at__isnull=True)]
    fields = {"budget": rule.budget_id, "name": rule.name, "scope": rule.scope, "cost_center": rule.cost_center_id,
              "account_type": rule.account_type, "account": rule.account_id, "basis": rule.basis,
              "recipient_roles": rule.recipient_roles, "notify_cost_center_owners": rule.notify_cost_center_owners,
              "extra_recipients": rule.extra_recipients, "delivery": rule.delivery, "thresholds": current}
    fields.update(overrides)
    return alert_rule_update(tenant=books.org, actor=users["finance"], rule=rule, **fields)


def problems(books, plan_budget, users, **overrides) -> list[tuple[str, str]]:
    with pytest.raises(DomainError) as exc:
        create(books, plan_budget, users, **overrides)
    with tenant_context(books.org):
        assert not AlertRule.objects.exists()  # nothing written
    return exc.value.errors


def thresholds_of(books, rule) -> list[tuple[int, str, bool]]:
    with tenant_context(books.org):
        return [(t.pk, str(t), t.retired_at is not None)
                for t in AlertThreshold.objects.filter(rule=rule).order_by("kind", "pct", "amount")]


# --- creating: what is stored ------------------------------------------------------------------

def test_a_rule_is_created_with_its_thresholds_normalised_recipients_and_an_audit_event(books, budget, users):
    rule = create(books, budget, users, recipient_roles=["director", "finance", "director"],
                  notify_cost_center_owners=True, extra_recipients="CFO@Example.com; ops@example.com\ncfo@example.com",
                  thresholds=[ThresholdSpec("consumed_pct", "80"),
                              ThresholdSpec("variance", pct=D("10"), amount=D("5000.50")),
                              ThresholdSpec("variance", amount="250")])
    with tenant_context(books.org):
        rule = AlertRule.objects.get(pk=rule.pk)
        event = AuditEvent.objects.get(action="budget.alert_rule_create")
    assert (rule.name, rule.budget_id, rule.scope, rule.basis, rule.delivery, rule.active) == (
        "Spend watch", budget.pk, "organization", "month", "immediate", True)
    assert rule.recipient_roles == ["finance", "director"]  # the house order, once each
    assert rule.extra_recipients == "cfo@example.com\nops@example.com"
    assert [t[1] for t in thresholds_of(books, rule)] == [
        "80 % of budget consumed", "variance beyond ±250", "variance beyond ±10 % and ±5000.5"]
    assert (event.actor, event.object_id, event.before) == (users["finance"], str(rule.pk), None)
    assert event.after == {
        "name": "Spend watch", "budget": "Plan 2026", "scope": "organization", "cost_center": None,
        "account_type": "", "account": None, "basis": "month", "recipient_roles": ["finance", "director"],
        "notify_cost_center_owners": True, "extra_recipients": "cfo@example.com\nops@example.com",
        "delivery": "immediate", "unfavourable_only": False, "active": True,
        "thresholds": ["80 % of budget consumed", "variance beyond ±250",
                       "variance beyond ±10 % and ±5000.5"]}


def test_the_fields_a_scope_does_not_use_are_cleared(books, budget, users):
    whole = create(books, budget, users, name="Whole", cost_center=books.ops, account_type="expense",
                   account=books.rent)
    subtree = create(books, budget, users, name="Ops", scope="cost_center", cost_center=books.ops,
                     account_type="expense", account=books.rent)
    kind = create(books, budget, users, name="Revenue", scope="account_type", account_type="revenue",
                  cost_center=books.ops, account=books.rent)
    one = create(books, budget, users, name="Rent", scope="account", account=books.rent, cost_center=books.ops,
                 account_type="expense")
    assert [(r.cost_center_id, r.account_type, r.account_id) for r in (whole, subtree, kind, one)] == [
        (None, "", None), (books.ops.pk, "", None), (None, "revenue", None), (None, "", books.rent.pk)]


# --- creating: each validation, next to its field -------------------------------------------------

def test_each_scope_needs_its_own_field(books, budget, users):
    assert problems(books, budget, users, scope="cost_center") == [
        ("cost_center", "Choose the cost center whose subtree the rule watches.")]
    assert problems(books, budget, users, scope="account_type", account_type="asset") == [
        ("account_type", "Choose revenue or expense: budgets hold those two account types.")]
    assert problems(books, budget, users, scope="account") == [("account", "Choose the account the rule watches.")]
    assert problems(books, budget, users, scope="account", account=books.cash) == [
        ("account", "1000 · Cash is an asset account: budgets hold revenue and expense accounts.")]
    assert problems(books, budget, users, scope="everything") == [
        ("scope", "Choose what the rule watches: the whole budget, a cost-center subtree, an account type or an "
                  "account.")]


def test_a_name_a_budget_a_basis_and_a_delivery_are_required(books, budget, users):
    assert problems(books, budget, users, name="  ", budget=None, basis="weekly", delivery="hourly") == [
        ("name", "A rule needs a name."), ("budget", "Choose the budget to watch."),
        ("basis", "Choose month, year to date or projected full year."),
        ("delivery", "Choose immediately or daily digest.")]


def test_another_organisations_budget_cost_center_and_account_are_unknown(books, budget, users, other_books):
    from budgets import services

    theirs = services.budget_create(tenant=other_books.org, actor=None, entity=other_books.usd, fiscal_year=2026,
                                    name="Their plan")
    assert problems(books, budget, users, budget=theirs) == [("budget", "Unknown budget.")]
    assert problems(books, budget, users, scope="cost_center", cost_center=other_books.ops) == [
        ("cost_center", "Unknown cost center.")]
    assert problems(books, budget, users, scope="account", account=other_books.rent.pk) == [
        ("account", "Unknown account.")]


def test_a_rule_name_is_unique_in_the_organisation_whatever_its_case(books, budget, users):
    create(books, budget, users)
    with pytest.raises(DomainError) as exc:
        create(books, budget, users, name=" spend WATCH ")
    assert exc.value.errors == [("name", "A rule named “spend WATCH” exists already: choose another name.")]


def test_roles_must_be_the_houses_and_someone_must_be_told(books, budget, users):
    assert problems(books, budget, users, recipient_roles=["finance", "cfo"]) == [
        ("recipient_roles", "Unknown role “cfo”: choose among admin, finance, director, viewer.")]
    assert problems(books, budget, users, recipient_roles=[]) == [
        ("recipient_roles", "Choose who is told: a role, the cost-center owners or an address.")]
    assert create(books, budget, users, recipient_roles=[], notify_cost_center_owners=True).recipient_roles == []


def test_each_bad_extra_address_is_named(books, budget, users):
    assert problems(books, budget, users, extra_recipients="cfo@example.com, bob@, ops at example.com") == [
        ("extra_recipients", "“bob@” is not a valid e-mail address."),
        ("extra_recipients", "“ops” is not a valid e-mail address."),
        ("extra_recipients", "“at” is not a valid e-mail address."),
        ("extra_recipients", "“example.com” is not a valid e-mail address."),
    ]


def test_a_rule_sends_to_at_most_twenty_other_addresses(books, budget, users):
    many = ", ".join(f"user{n}@example.com" for n in range(5000))
    assert problems(books, budget, users, extra_recipients=many) == [
        ("extra_recipients", "A rule sends to at most 20 other addresses, not 5,000: give a mailing list’s "
                             "address instead.")]
    twenty = [f"user{n}@example.com" for n in range(20)]
    # Repeats (in any case) are one address.
    rule = create(books, budget, users, extra_recipients="\n".join([*twenty, "USER0@example.com"]))
    assert rule.extra_recipients.splitlines() == twenty


def test_thresholds_at_least_one_positive_coherent_and_no_duplicates(books, budget, users):
    assert problems(books, budget, users, thresholds=[]) == [("thresholds", "A rule needs at least one threshold.")]
    assert problems(books, budget, users, thresholds=[
        ThresholdSpec("consumed_pct", D("0")),
        ThresholdSpec("consumed_pct", D("-5")),
        ThresholdSpec("consumed_pct", D("90"), amount=D("100")),
        ThresholdSpec("variance"),
        ThresholdSpec("variance", pct=D("12.345")),
        ThresholdSpec("variance", pct="ten"),
        ThresholdSpec("breach", pct=D("5")),
        ThresholdSpec("consumed_pct", D("80")),
        ThresholdSpec("consumed_pct", D("80.00")),
    ]) == [
        ("thresholds.0.pct", "Give the percentage of the budget consumed, above 0 (e.g. 80)."),
        ("thresholds.1.pct", "The percentage must be above 0, not -5."),
        ("thresholds.2.amount", "A budget-consumed threshold takes a percentage only: leave the amount empty."),
        ("thresholds.3.pct", "Give the variance percentage, the amount, or both (above 0)."),
        ("thresholds.4.pct", "The percentage 12.345 has more than 2 decimals."),
        ("thresholds.5.pct", "The percentage “ten” is not a number."),
        ("thresholds.6.kind", "Choose budget consumed or variance."),
        ("thresholds.8.pct", "“80 % of budget consumed” is listed twice (rows 8 and 9)."),
    ]


def test_a_float_is_refused_for_money_and_percentages(books, budget, users):
    assert problems(books, budget, users, thresholds=[ThresholdSpec("variance", amount=250.0)]) == [
        ("thresholds.0.amount", "The amount is a float: give it as Decimal or text."),
    ]


# --- editing keeps history ------------------------------------------------------------------------

def test_editing_keeps_unchanged_thresholds_retires_fired_ones_deletes_unfired_ones_and_revives(
        books, budget, plan, users):
    rule = create(books, budget, users, thresholds=[*CONSUMED_80_100_120, ThresholdSpec("consumed_pct", D("200"))])
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 2  # rent at 80; software at 120
    before = {words: pk for pk, words, _ in thresholds_of(books, rule)}

    update(books, rule, users, thresholds=[ThresholdSpec("consumed_pct", D("80.00")),
                                           ThresholdSpec("consumed_pct", D("150"))])
    after = thresholds_of(books, rule)
    assert [(words, retired) for _, words, retired in after] == [
        ("80 % of budget consumed", False), ("120 % of budget consumed", True),
        ("150 % of budget consumed", False)]  # 100 % and 200 % hold no alert: deleted
    assert after[0][0] == before["80 % of budget consumed"]  # the same row
    assert after[1][0] == before["120 % of budget consumed"]
    with tenant_context(books.org):
        assert Alert.objects.filter(rule=rule).count() == 2  # no alert lost

    # Evaluation skips the retired thresholds: software at 130 % is beyond 80 % only now.
    again = alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert sorted((b.account_code, str(b.threshold)) for b in again.breaches) == [
        ("6100", "80 % of budget consumed"), ("6200", "80 % of budget consumed")]
    assert again.alerts_created == 0

    # Adding 120 % back revives the old row, so its alert still counts and nothing is sent twice.
    update(books, rule, users, thresholds=[ThresholdSpec("consumed_pct", D("80")),
                                           ThresholdSpec("consumed_pct", D("120")),
                                           ThresholdSpec("consumed_pct", D("150"))])
    assert [(pk, retired) for pk, words, retired in thresholds_of(books, rule) if words.startswith("120 ")] == [
        (before["120 % of budget consumed"], False)]
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 0


def test_an_edit_is_audited_with_the_rule_before_and_after(books, budget, users):
    rule = create(books, budget, users)
    update(books, rule, users, name="Spend watch (ops)", scope="cost_center", cost_center=books.ops,
           thresholds=[ThresholdSpec("consumed_pct", D("100"))], delivery="digest")
    with tenant_context(books.org):
        event = AuditEvent.objects.get(action="budget.alert_rule_update")
    changed = {k: (event.before[k], event.after[k]) for k in event.after if event.before[k] != event.after[k]}
    assert changed == {
        "name": ("Spend watch", "Spend watch (ops)"), "scope": ("organization", "cost_center"),
        "cost_center": (None, "OPS"), "delivery": ("immediate", "digest"),
        "thresholds": (["80 % of budget consumed", "100 % of budget consumed", "120 % of budget consumed"],
                       ["100 % of budget consumed"])}
    update(books, rule, users)  # no change: no event
    with tenant_context(books.org):
        assert AuditEvent.objects.filter(action="budget.alert_rule_update").count() == 1


def test_a_bad_edit_changes_nothing(books, budget, users):
    rule = create(books, budget, users)
    with pytest.raises(DomainError) as exc:
        update(books, rule, users, name="Renamed", thresholds=[])
    assert exc.value.errors == [("thresholds", "A rule needs at least one threshold.")]
    with tenant_context(books.org):
        assert AlertRule.objects.get().name == "Spend watch"
    assert len(thresholds_of(books, rule)) == 3


# --- pause, resume, delete ------------------------------------------------------------------------

def test_a_paused_rule_is_not_evaluated_and_resumes(books, budget, plan, users):
    rule = create(books, budget, users)
    alert_rule_set_active(tenant=books.org, actor=users["finance"], rule=rule, active=False)
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 0
    with pytest.raises(DomainError, match="“Spend watch” is paused already."):
        alert_rule_set_active(tenant=books.org, actor=users["finance"], rule=rule, active=False)
    alert_rule_set_active(tenant=books.org, actor=users["admin"], rule=rule, active=True)
    assert alerts_evaluate(tenant=books.org, as_of=MARCH).alerts_created == 2
    with tenant_context(books.org):
        events = list(AuditEvent.objects.filter(action__in=["budget.alert_rule_pause", "budget.alert_rule_resume"])
                      .order_by("id").values_list("action", "actor__email", "before", "after"))
    assert events == [("budget.alert_rule_pause", "finance@acme.test", {"active": True}, {"active": False}),
                      ("budget.alert_rule_resume", "admin@acme.test", {"active": False}, {"active": True})]


def test_a_rule_that_fired_cannot_be_deleted_and_one_that_never_did_can(books, budget, plan, users):
    fired = create(books, budget, users)
    quiet = create(books, budget, users, name="Quiet", thresholds=[ThresholdSpec("consumed_pct", D("500"))])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    with pytest.raises(DomainError) as exc:
        alert_rule_delete(tenant=books.org, actor=users["finance"], rule=fired)
    assert exc.value.message == ("“Spend watch” has 2 recorded alerts; deleting it would delete them. Pause the rule "
                                 "instead: it stops alerting and keeps its history.")
    alert_rule_delete(tenant=books.org, actor=users["finance"], rule=quiet)
    with tenant_context(books.org):
        assert list(AlertRule.objects.values_list("name", flat=True)) == ["Spend watch"]
        assert Alert.objects.count() == 2
        event = AuditEvent.objects.get(action="budget.alert_rule_delete")
    assert (event.object_id, event.object_repr, event.before["thresholds"], event.after) == (
        str(quiet.pk), "Quiet", ["500 % of budget consumed"], None)


# --- reads ----------------------------------------------------------------------------------------

def test_the_list_counts_open_alerts_and_the_last_firing(books, budget, plan, users):
    from budgets.alerts.inbox import alert_acknowledge

    rule = create(books, budget, users)
    create(books, budget, users, name="Quiet", thresholds=[ThresholdSpec("consumed_pct", D("500"))])
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    with tenant_context(books.org):
        first = Alert.objects.filter(rule=rule).order_by("id").first()
        newest = Alert.objects.filter(rule=rule).order_by("-created_at").first().created_at
    alert_acknowledge(tenant=books.org, actor=users["director"], alert=first)
    listed = {r.name: (r.open_alerts, r.last_fired, [str(t) for t in r.active_thresholds])
              for r in alert_rule_list(tenant=books.org)}
    assert listed == {"Spend watch": (1, newest, ["80 % of budget consumed", "100 % of budget consumed",
                                                  "120 % of budget consumed"]),
                      "Quiet": (0, None, ["500 % of budget consumed"])}


def test_the_preview_is_a_dry_run_that_marks_what_was_alerted_already(books, budget, plan, users):
    rule = create(books, budget, users, thresholds=[ThresholdSpec("consumed_pct", D("80")),
                                                    ThresholdSpec("variance", pct=D("30"), amount=D("300"))])
    rows = alert_rule_preview(tenant=books.org, rule=rule, as_of=MARCH)
    assert [(r.breach.account_code, r.breach.cost_center_code, str(r.breach.threshold), r.breach.actual,
             r.breach.budget, r.breach.variance, r.breach.pct, r.recorded) for r in rows] == [
        ("4000", "", "variance beyond ±30 % and ±300", D("700"), D("1000"), D("-300"), D("-30.00"), False),
        ("6100", "OPS", "80 % of budget consumed", D("850"), D("1000"), D("-150"), D("85.00"), False),
        ("6200", "SALES", "80 % of budget consumed", D("260"), D("200"), D("60"), D("130.00"), False)]
    with tenant_context(books.org):
        assert not Alert.objects.exists()
    alerts_evaluate(tenant=books.org, as_of=MARCH)
    assert [r.recorded for r in alert_rule_preview(tenant=books.org, rule=rule, as_of=MARCH)] == [True] * 3


def test_the_preview_day_defaults_to_today_within_the_budgets_fiscal_year(books, budget, users):
    rule = create(books, budget, users)
    assert preview_as_of(tenant=books.org, rule=rule, today=date(2026, 5, 17)) == date(2026, 5, 17)
    assert preview_as_of(tenant=books.org, rule=rule, today=date(2027, 2, 1)) == date(2026, 12, 31)
    assert preview_as_of(tenant=books.org, rule=rule, today=date(2025, 6, 30)) == date(2026, 1, 1)
