"""Variance-alert rules: what finance sets up so that `budgets.alerts.evaluation` knows what to watch.

A rule watches one budget within a SCOPE (the whole budget, a cost-center subtree, an account
type or one account), on a BASIS (month, year to date, projected full year), with one or more
THRESHOLDS (budget consumed ≥ x %, or variance beyond ±x % and/or ±amount), and says who hears
of a breach (member roles, cost-center owners, extra addresses) and when (immediately or in the
daily digest). Finance and admins manage rules; every change is in the audit log.

History is never lost. An `Alert` belongs to its threshold and is deleted with it (ON DELETE
CASCADE), so an edit keeps every threshold row it does not change (matched on kind, percentage
and amount). A threshold the edit removes is deleted when it never fired, and RETIRED
(`retired_at`, skipped by evaluation, its alerts kept) when it did; adding the same threshold
back revives it, so its old alerts still count and nothing is alerted twice. A rule with alerts
cannot be deleted: pause it instead.

Every rule a person can fix is checked here and said in words. A `DomainError` from these
services carries `errors`, a list of (field, message) pairs — field names as in the rule form,
`thresholds` for the list as a whole and `thresholds.<i>.<field>` for the i-th threshold given —
so a page can put each message next to what it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.ledger.models import Account, CostCenter
from finops.notifications.outbox import EMAIL_ADDRESS_MAX
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action, Role
from finops.tenancy.policy import requires

from ..models import (
    Alert,
    AlertBasis,
    AlertDeliveryMode,
    AlertRule,
    AlertScope,
    AlertThreshold,
    Budget,
    ThresholdKind,
)
from ..services.budgets import BUDGET_ACCOUNT_TYPES

MAX_THRESHOLDS = 20


MAX_EXTRA_RECIPIENTS = 20  # beyond that, a mailing list's address is the right tool


MAX_PCT = Decimal("99999.99")  # numeric(7, 2)


MAX_ADDRESS = EMAIL_ADDRESS_MAX  # what the outbox and SMTP take


@dataclass(frozen=True)
class ThresholdSpec:
    """One threshold as given: `consumed_pct` with `pct`; `variance` with `pct` and/or `amount`
    (in the budget entity's currency). None or 0 means "not given"."""

    kind: str
    pct: Decimal | str | None = None
    amount: Decimal | str | None = None


def _pk(value) -> int | None:
    """The id of a model or id; None for nothing, or for something that is not an id."""
    if value is None or value == "":
        return None
    try:
        return int(getattr(value, "pk", value))
    except (TypeError, ValueError):
        return None


def _threshold_words(kind: str, pct: Decimal, amount: Decimal) -> str:
    return str(AlertThreshold(kind=kind, pct=pct, amount=amount))


class _Problems:
    def __init__(self):
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))

    def raise_any(self) -> None:
        if self.items:
            raise DomainError(" ".join(m for _, m in self.items), errors=list(self.items))


def _decimal(value, problems: _Problems, field: str, what: str, places: int, limit: Decimal) -> Decimal | None:
    """`value` as a Decimal ≥ 0, None when not given; a problem when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        problems.add(field, f"The {what} is a float: give it as Decimal or text.")
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        problems.add(field, f"The {what} “{value}” is not a number.")
        return None
    if not number.is_finite():
        problems.add(field, f"The {what} “{value}” is not a number.")
    elif number < 0:
        problems.add(field, f"The {what} must be above 0, not {number}.")
    elif number >= limit:
        problems.add(field, f"The {what} {number} is too large.")
    elif number != number.quantize(Decimal(1).scaleb(-places)):
        problems.add(field, f"The {what} {number} has more than {places} decimals.")
    else:
        return number
    return None


def _thresholds(specs, problems: _Problems) -> list[tuple[str, Decimal, Decimal]]:
    """(kind, pct, amount) of each spec, checked; duplicates named."""
    specs = list(specs or [])
    if not specs:
        problems.add("thresholds", "A rule needs at least one threshold.")
        return []
    if len(specs) > MAX_THRESHOLDS:
        problems.add("thresholds", f"A rule has at most {MAX_THRESHOLDS} thresholds, not {len(specs)}.")
        return []
    out, seen = [], {}
    for i, spec in enumerate(specs):
        where = f"thresholds.{i}"
        if spec.kind not in ThresholdKind.values:
            problems.add(f"{where}.kind", "Choose budget consumed or variance.")
            continue
        known = len(problems.items)
        pct = _decimal(spec.pct, problems, f"{where}.pct", "percentage", 2, MAX_PCT + Decimal("0.01"))
        amount = _decimal(spec.amount, problems, f"{where}.amount", "amount", 4, bounds.AMOUNT_LIMIT)
        if len(problems.items) > known:  # said already what is wrong with this row
            continue
        if spec.kind == ThresholdKind.CONSUMED_PCT:
            if not pct:
                problems.add(f"{where}.pct", "Give the percentage of the budget consumed, above 0 (e.g. 80).")
                continue
            if amount:
                problems.add(f"{where}.amount", "A budget-consumed threshold takes a percentage only: "
                                                "leave the amount empty.")
                continue
        elif not pct and not amount:
            problems.add(f"{where}.pct", "Give the variance percentage, the amount, or both (above 0).")
            continue
        key = (spec.kind, pct or Decimal(0), amount or Decimal(0))
        if key in seen:
            problems.add(f"{where}.pct", f"“{_threshold_words(*key)}” is listed twice (rows {seen[key] + 1} "
                                         f"and {i + 1}).")
            continue
        seen[key] = i
        out.append(key)
    return out


def _address_words(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,;]+", text or "") if p]


def addresses_parse(text: str) -> tuple[list[str], list[str]]:
    """(valid addresses, lower-cased and in order without repeats; the words that are not
    addresses) of an extra-recipients field: addresses separated by commas, semicolons,
    spaces or lines."""
    valid, bad = [], []
    for part in _address_words(text):
        try:
            validate_email(part)
        except ValidationError:
            bad.append(part)
        else:
            valid.append(part.lower())
    return list(dict.fromkeys(valid)), bad


@dataclass
class _Checked:
    name: str
    budget: Budget
    scope: str
    cost_center: CostCenter | None
    account_type: str
    account: Account | None
    basis: str
    recipient_roles: list[str]
    notify_cost_center_owners: bool
    extra_recipients: str
    delivery: str
    unfavourable_only: bool
    thresholds: list[tuple[str, Decimal, Decimal]]


def _check(*, rule_pk, name, budget, scope, cost_center, account_type, account, basis, recipient_roles,
           notify_cost_center_owners, extra_recipients, delivery, thresholds, unfavourable_only=False) -> _Checked:
    """Every field checked against the tenant in context; raises with every problem at once.
    The fields a scope does not use are cleared."""
    problems = _Problems()
    name = (name or "").strip()
    if not name:
        problems.add("name", "A rule needs a name.")
    elif len(name) > 200:
        problems.add("name", "A rule's name has at most 200 characters.")
    elif AlertRule.objects.filter(name__iexact=name).exclude(pk=rule_pk).exists():
        problems.add("name", f"A rule named “{name}” exists already: choose another name.")
    found_budget = Budget.objects.select_related("entity").filter(pk=_pk(budget)).first() if _pk(budget) else None
    if found_budget is None:
        problems.add("budget", "Choose the budget to watch." if not budget else "Unknown budget.")
    found_cc, found_account = None, None
    if scope not in AlertScope.values:
        problems.add("scope", "Choose what the rule watches: the whole budget, a cost-center subtree, an account "
                              "type or an account.")
    elif scope == AlertScope.COST_CENTER:
        found_cc = CostCenter.objects.filter(pk=_pk(cost_center)).first() if _pk(cost_center) else None
        if found_cc is None:
            problems.add("cost_center", "Choose the cost center whose subtree the rule watches." if not cost_center
                         else "Unknown cost center.")
    elif scope == AlertScope.ACCOUNT_TYPE:
        if account_type not in BUDGET_ACCOUNT_TYPES:
            problems.add("account_type", "Choose revenue or expense: budgets hold those two account types.")
    elif scope == AlertScope.ACCOUNT:
        found_account = Account.objects.filter(pk=_pk(account)).first() if _pk(account) else None
        if found_account is None:
            problems.add("account", "Choose the account the rule watches." if not account else "Unknown account.")
        elif found_account.type not in BUDGET_ACCOUNT_TYPES:
            article = "an" if found_account.type[0] in "aeiou" else "a"
            problems.add("account", f"{found_account.code} · {found_account.name} is {article} {found_account.type} "
                                    "account: budgets hold revenue and expense accounts.")
    if basis not in AlertBasis.values:
        problems.add("basis", "Choose month, year to date or projected full year.")
    if delivery not in AlertDeliveryMode.values:
        problems.add("delivery", "Choose immediately or daily digest.")
    roles = list(recipient_roles or [])
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        problems.add("recipient_roles", f"Unknown role “{unknown[0]}”: choose among "
                                        f"{', '.join(Role.values)}.")
    roles = [r for r in Role.values if r in roles]  # the house order, without repeats
    # Counted before each is checked: a pasted list of thousands is refused at once.
    distinct = len({word.lower() for word in _address_words(extra_recipients)})
    if distinct > MAX_EXTRA_RECIPIENTS:
        problems.add("extra_recipients", f"A rule sends to at most {MAX_EXTRA_RECIPIENTS} other addresses, not "
                                         f"{distinct:,}: give a mailing list’s address instead.")
        addresses, bad = [], []
    else:
        addresses, bad = addresses_parse(extra_recipients)
    for word in bad:
        problems.add("extra_recipients", f"“{word}” is not a valid e-mail address.")
    for address in addresses:
        if len(address) > MAX_ADDRESS:
            problems.add("extra_recipients", f"“{address}” is longer than the {MAX_ADDRESS} characters an e-mail "
                                             "address may have.")
    if not roles and not notify_cost_center_owners and not distinct:
        problems.add("recipient_roles", "Choose who is told: a role, the cost-center owners or an address.")
    checked_thresholds = _thresholds(thresholds, problems)
    problems.raise_any()
    return _Checked(
        name=name, budget=found_budget, scope=scope, cost_center=found_cc,
        account_type=account_type if scope == AlertScope.ACCOUNT_TYPE else "", account=found_account,
        basis=basis, recipient_roles=roles, notify_cost_center_owners=bool(notify_cost_center_owners),
        extra_recipients="\n".join(addresses), delivery=delivery, unfavourable_only=bool(unfavourable_only),
        thresholds=checked_thresholds)


def _snapshot(rule: AlertRule) -> dict:
    """The rule as the audit log shows it."""
    return {
        "name": rule.name, "budget": rule.budget.name, "scope": rule.scope,
        "cost_center": rule.cost_center.code if rule.cost_center_id else None, "account_type": rule.account_type,
        "account": rule.account.code if rule.account_id else None, "basis": rule.basis,
        "recipient_roles": list(rule.recipient_roles or []), "notify_cost_center_owners": rule.notify_cost_center_owners,
        "extra_recipients": rule.extra_recipients, "delivery": rule.delivery,
        "unfavourable_only": rule.unfavourable_only, "active": rule.active,
        "thresholds": [str(t) for t in AlertThreshold.objects.filter(rule=rule, retired_at__isnull=True)
                       .order_by("kind", "pct", "amount")],
    }


def _apply(rule: AlertRule, checked: _Checked) -> None:
    for field in ("name", "budget", "scope", "cost_center", "account_type", "account", "basis", "recipient_roles",
                  "notify_cost_center_owners", "extra_recipients", "delivery", "unfavourable_only"):
        setattr(rule, field, getattr(checked, field))


def _save(rule: AlertRule, name: str) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:  # the same name, saved by someone else since the check
        raise DomainError(f"A rule named “{name}” exists already: choose another name.",
                          errors=[("name", f"A rule named “{name}” exists already: choose another name.")]) from None


@requires(Action.WRITE)
def alert_rule_create(*, tenant, actor, budget, name: str, scope: str = AlertScope.ORGANIZATION,
                      cost_center=None, account_type: str = "", account=None, basis: str = AlertBasis.MONTH,
                      recipient_roles=(), notify_cost_center_owners: bool = False, extra_recipients: str = "",
                      delivery: str = AlertDeliveryMode.IMMEDIATE, thresholds: list[ThresholdSpec],
                      unfavourable_only: bool = False) -> AlertRule:
    """A new, active rule with its thresholds."""
    with tenant_context(tenant) as tenant_id:
        checked = _check(rule_pk=None, name=name, budget=budget, scope=scope, cost_center=cost_center,
                         account_type=account_type, account=account, basis=basis, recipient_roles=recipient_roles,
                         notify_cost_center_owners=notify_cost_center_owners, extra_recipients=extra_recipients,
                         delivery=delivery, thresholds=thresholds, unfavourable_only=unfavourable_only)
        rule = AlertRule(tenant_id=tenant_id)
        _apply(rule, checked)
        _save(rule, checked.name)
        AlertThreshold.objects.bulk_create([AlertThreshold(tenant_id=tenant_id, rule=rule, kind=k, pct=p, amount=a)
                                            for k, p, a in checked.thresholds])
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_ALERT_RULE_CREATE, obj=rule, after=_snapshot(rule))
    return rule


def _lock(rule) -> AlertRule:
    found = (AlertRule.objects.select_for_update(of=("self",)).select_related("budget", "cost_center", "account")
             .filter(pk=_pk(rule)).first())
    if found is None:
        raise DomainError("This alert rule does not exist.")
    return found


@requires(Action.WRITE)
def alert_rule_update(*, tenant, actor, rule, budget, name: str, scope: str, cost_center=None,
                      account_type: str = "", account=None, basis: str, recipient_roles=(),
                      notify_cost_center_owners: bool = False, extra_recipients: str = "", delivery: str,
                      thresholds: list[ThresholdSpec], unfavourable_only: bool = False, now=None) -> AlertRule:
    """Change a rule. Thresholds it keeps stay the same rows (their alerts with them); removed
    ones are deleted when they never fired, else retired; one added back is revived."""
    now = now or timezone.now()
    with tenant_context(tenant):
        found = _lock(rule)
        before = _snapshot(found)
        checked = _check(rule_pk=found.pk, name=name, budget=budget, scope=scope, cost_center=cost_center,
                         account_type=account_type, account=account, basis=basis, recipient_roles=recipient_roles,
                         notify_cost_center_owners=notify_cost_center_owners, extra_recipients=extra_recipients,
                         delivery=delivery, thresholds=thresholds, unfavourable_only=unfavourable_only)
        _apply(found, checked)
        _save(found, checked.name)
        wanted = set(checked.thresholds)
        existing = list(AlertThreshold.objects.filter(rule=found).annotate(fired=Count("alerts")))
        kept = set()
        for t in existing:
            key = (t.kind, t.pct, t.amount)
            if key in wanted and key not in kept:
                kept.add(key)
                if t.retired_at is not None:  # added back: its history counts again
                    t.retired_at = None
                    t.save(update_fields=["retired_at"])
            elif t.retired_at is None:
                if t.fired:
                    t.retired_at = now
                    t.save(update_fields=["retired_at"])
                else:
                    t.delete()
        AlertThreshold.objects.bulk_create([
            AlertThreshold(tenant_id=found.tenant_id, rule=found, kind=k, pct=p, amount=a)
            for k, p, a in checked.thresholds if (k, p, a) not in kept])
        after = _snapshot(found)
        if after != before:
            audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_ALERT_RULE_UPDATE, obj=found, before=before,
                         after=after)
    return found


@requires(Action.WRITE)
def alert_rule_set_active(*, tenant, actor, rule, active: bool) -> AlertRule:
    """Pause (`active=False`: evaluation skips the rule, its alerts stay) or resume a rule."""
    with tenant_context(tenant):
        found = _lock(rule)
        if found.active == active:
            state = "active" if active else "paused"
            raise DomainError(f"“{found.name}” is {state} already.")
        found.active = active
        found.save(update_fields=["active"])
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_ALERT_RULE_RESUME if active else AuditAction.BUDGET_ALERT_RULE_PAUSE,
                     obj=found, before={"active": not active}, after={"active": active})
    return found


@requires(Action.WRITE)
def alert_rule_delete(*, tenant, actor, rule) -> None:
    """Delete a rule that never fired. One with alerts is refused: its alerts are history."""
    with tenant_context(tenant):
        found = _lock(rule)
        fired = Alert.objects.filter(rule=found).count()
        if fired:
            raise DomainError(f"“{found.name}” has {fired} recorded alert{'s' if fired != 1 else ''}; deleting it "
                              "would delete them. Pause the rule instead: it stops alerting and keeps its history.")
        before = _snapshot(found)
        pk, label = found.pk, str(found)
        found.delete()  # its thresholds go with it (ON DELETE CASCADE), none has alerts
        audit_record(tenant=tenant, actor=actor, action=AuditAction.BUDGET_ALERT_RULE_DELETE, object_type="alertrule",
                     object_id=pk, object_repr=label, before=before)
