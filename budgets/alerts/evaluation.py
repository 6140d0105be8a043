"""Variance alerts: evaluate rules against budget vs actual, record each breach once, e-mail it.

Evaluation (`alerts_evaluate`)
    For each active rule: the budget's version in force (newest approved or locked), else its
    latest; the lines of `budgets.reports.budget_vs_actual` for the month of `as_of` on the
    rule's basis (month to date or year to date, each against the budget paced to `as_of`, or
    projected full year = the run rate of the complete months against the full-year budget),
    filtered by the rule's scope. Thresholds:
      consumed_pct  actual / budget × 100 ≥ pct, on expense lines only (consuming a budget is a
                    spending notion; revenue is watched with variance thresholds).
      variance      |variance %| ≥ pct AND |variance| ≥ amount, in either direction (or only
                    when unfavourable, if the rule says `unfavourable_only`). An
                    unbudgeted line (budget 0, no percentage) counts as beyond any percentage,
                    so it fires on the amount alone.
    One alert per LINE (tenant, rule, account, cost center, period), at the highest threshold it
    has crossed (`threshold_rank`: the larger percentage, then amount). A line's first breach
    inserts it; crossing a higher threshold later (120 % after 100 %) escalates the same row
    (INSERT … ON CONFLICT DO UPDATE … WHERE higher), opens its inbox item again and sends one
    "escalated" message (`Delivery.seq` = its escalations); evaluating again, or two workers at
    once, records nothing new. With each, in the same transaction, go its inbox item and one
    message per recipient in the kernel's outbox (`finops.notifications`, kind
    "variance_alert"). Each rule is evaluated and recorded in its own savepoint: one that fails
    is logged and skipped (its rows rolled back), and the other rules still fire.

Recipients: members with one of the rule's roles, the owner of the line's cost center (or of
its nearest ancestor with one) when the rule says so, and the rule's extra addresses. The outbox
applies each address's preference (immediately, the next daily digest, or nothing) and sends at
least once, one e-mail per recipient (`variance_alert_email` builds it); a digest rule sends
everyone the digest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from finops.errors import DomainError
from finops.ledger.models import AccountType, CostCenter, Period
from finops.ledger.periods import add_months, fiscal_year_first_month
from finops.notifications.inbox import inbox_item_escalate, inbox_item_open
from finops.notifications.outbox import Outgoing, outbox_queue
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership
from finops.webhooks.events import Event, webhook_emit_many

from .. import variance as v
from ..models import (
    Alert,
    AlertBasis,
    AlertDeliveryMode,
    AlertRule,
    AlertScope,
    ThresholdKind,
)
from ..reports import budget_vs_actual
from ..selectors import pk_of, version_in_force, version_latest
from .email import KIND
from .rules import addresses_parse
from .selectors import REPORT_BASIS, alert_journal_path, alert_title

log = logging.getLogger("budgets.alerts")  # the name operators filter on, whichever module logs


@dataclass(frozen=True)
class Breach:
    """One line beyond one threshold (recorded or, in a dry run, that would be)."""

    rule: AlertRule
    threshold: object
    account_id: int
    account_code: str
    account_name: str
    cost_center_id: int | None
    cost_center_code: str
    entity_id: int
    period: Period
    currency: str
    actual: Decimal
    budget: Decimal
    variance: Decimal
    pct: Decimal | None
    as_of: date | None = None


@dataclass
class Evaluation:
    breaches: list[Breach] = field(default_factory=list)  # every line beyond a threshold now, at its highest
    alerts_created: int = 0  # of which newly recorded
    alerts_escalated: int = 0  # of which raised an alert recorded before to a higher threshold
    deliveries_created: int = 0
    failed: list[AlertRule] = field(default_factory=list)  # rules that could not be evaluated (logged)


def _observed(rule, row) -> v.Variance:
    if rule.basis == AlertBasis.PROJECTED:
        projected = row.projection if row.projection is not None else Decimal(0)
        return v.variance(account_type=row.account_type, actual=projected, budget=row.budget, currency=row.currency)
    return row.result


def threshold_breached(threshold, *, account_type: str, result: v.Variance,
                       unfavourable_only: bool = False) -> Decimal | None | bool:
    """False when `result` is within the threshold; else the percentage it is beyond (None for an
    unbudgeted line, which has none). `unfavourable_only`: a variance threshold ignores lines
    doing better than plan (revenue above, expense below budget)."""
    if threshold.kind == ThresholdKind.CONSUMED_PCT:
        if account_type != AccountType.EXPENSE or result.consumed_pct is None:
            return False
        return result.consumed_pct if result.consumed_pct >= threshold.pct else False
    if unfavourable_only and result.favourable:
        return False
    if result.variance == 0 or abs(result.variance) < threshold.amount:
        return False
    if result.variance_pct is not None and abs(result.variance_pct) < threshold.pct:
        return False
    return result.variance_pct


def _rule_breaches(*, tenant, rule, as_of: date) -> list[Breach]:
    budget = rule.budget
    version = version_in_force(tenant=tenant, budget=budget) or version_latest(tenant=tenant, budget=budget)
    thresholds = [t for t in rule.thresholds.all() if t.retired_at is None]  # retired: history only
    if version is None or not thresholds:
        return []
    period = Period.objects.filter(start=as_of.replace(day=1), fiscal_year=budget.fiscal_year).first()
    if period is None:  # as_of is outside the budget's fiscal year: nothing to watch
        return []
    scope = {}
    if rule.scope == AlertScope.COST_CENTER:
        scope["cost_center"] = rule.cost_center_id
    elif rule.scope == AlertScope.ACCOUNT_TYPE:
        scope["account_type"] = rule.account_type
    elif rule.scope == AlertScope.ACCOUNT:
        scope["account"] = rule.account_id
    try:
        report = budget_vs_actual(tenant=tenant, version=version, period=as_of, basis=REPORT_BASIS[rule.basis],
                                  group_by=("account", "cost_center"), as_of=as_of, **scope)
    except DomainError:
        return []
    breaches = []
    # The highest threshold first: a line is one alert, at the highest threshold it crossed.
    thresholds = sorted(thresholds, key=threshold_rank, reverse=True)
    for row in report.rows:
        result = _observed(rule, row)
        for threshold in thresholds:
            pct = threshold_breached(threshold, account_type=row.account_type, result=result,
                                     unfavourable_only=rule.unfavourable_only)
            if pct is False:
                continue
            # A consumed % reads against the whole budget; a variance against the one compared with
            # (paced to the date while the month or year runs).
            seen = result
            if threshold.kind == ThresholdKind.CONSUMED_PCT and result.budget != row.budget:
                seen = v.variance(account_type=row.account_type, actual=result.actual, budget=row.budget,
                                  currency=row.currency)
            breaches.append(Breach(
                rule=rule, threshold=threshold, account_id=row.account_id, account_code=row.account_code,
                account_name=row.account_name, cost_center_id=row.cost_center_id,
                cost_center_code=row.cost_center_code or "", entity_id=budget.entity_id, period=period,
                currency=report.currency, actual=result.actual, budget=seen.budget, variance=seen.variance, pct=pct,
                as_of=as_of))
            break
    return breaches


def threshold_rank(threshold) -> tuple:
    """Which of a rule's thresholds is higher: the larger percentage, then the larger amount."""
    return (threshold.pct, threshold.amount, threshold.pk or 0)


# A line's first breach inserts its alert; a breach of a HIGHER threshold than the one recorded
# escalates that row (the figures of now, one more escalation); anything else changes nothing
# (no row returned). Two workers at once: the row lock of ON CONFLICT lets one escalate, the other
# then sees the higher threshold and stops.
_RECORD_ALERT = """
    INSERT INTO budgets_alert AS a (tenant_id, rule_id, threshold_id, entity_id, account_id, cost_center_id,
                                    period_id, actual, budget, variance, pct, as_of, created_at, escalations)
    VALUES (%(tenant)s, %(rule)s, %(threshold)s, %(entity)s, %(account)s, %(cost_center)s, %(period)s,
            %(actual)s, %(budget)s, %(variance)s, %(pct)s, %(as_of)s, %(now)s, 0)
    ON CONFLICT ON CONSTRAINT alert_line_unique DO UPDATE
       SET threshold_id = EXCLUDED.threshold_id, actual = EXCLUDED.actual, budget = EXCLUDED.budget,
           variance = EXCLUDED.variance, pct = EXCLUDED.pct, as_of = EXCLUDED.as_of,
           escalations = a.escalations + 1, escalated_at = %(now)s
     WHERE (SELECT (t.pct, t.amount, t.id) FROM budgets_alertthreshold t
             WHERE t.tenant_id = a.tenant_id AND t.id = a.threshold_id) < (%(rank_pct)s::numeric, %(rank_amount)s::numeric, %(threshold)s::bigint)
    RETURNING a.id, a.escalations
"""


def _cost_center_owner_emails(tenant_id: int) -> dict[int, str | None]:
    """Cost center → the e-mail of its owner, or of its nearest ancestor's with one."""
    centers = {c.pk: c for c in CostCenter.objects.select_related("owner")}
    owners: dict[int, str | None] = {}
    for pk in centers:
        node, seen = centers.get(pk), set()
        while node is not None and node.owner_id is None and node.pk not in seen:
            seen.add(node.pk)
            node = centers.get(node.parent_id)
        owners[pk] = node.owner.email.lower() if node is not None and node.owner_id else None
    return owners


def _recipients(rule, *, role_emails: dict[str, list[str]], owners, cost_center_id) -> list[str]:
    found = [e for role in rule.recipient_roles or [] for e in role_emails.get(role, [])]
    if rule.notify_cost_center_owners and cost_center_id and owners.get(cost_center_id):
        found.append(owners[cost_center_id])
    found += addresses_parse(rule.extra_recipients)[0]
    return list(dict.fromkeys(found))


@dataclass
class _Audience:
    """Who may hear of an alert in one tenant, loaded once per evaluation (when there is a breach)."""

    role_emails: dict[str, list[str]]
    owners: dict[int, str | None]

    @classmethod
    def load(cls, tenant_id: int) -> _Audience:
        role_emails = defaultdict(list)
        for role, email in (Membership.objects.filter(organization_id=tenant_id)
                            .values_list("role", "user__email").order_by("user__email")):
            role_emails[role].append(email.lower())
        return cls(role_emails, _cost_center_owner_emails(tenant_id))


def alert_event(alert) -> dict:
    """What a webhook says of an alert: enough for a receiver to act without calling back."""
    currency = str(alert.rule.budget.entity.functional_currency)

    def amount(value):
        return {"amount": f"{value:f}", "currency": currency}

    return {"alert": alert.pk, "rule": alert.rule.name, "budget": alert.rule.budget_id,
            "account": alert.account.code, "cost_center": alert.cost_center.code if alert.cost_center else None,
            "month": f"{alert.period.start:%Y-%m}", "threshold": str(alert.threshold),
            "actual": amount(alert.actual), "budget_amount": amount(alert.budget), "variance": amount(alert.variance),
            "escalations": alert.escalations}


def _record(*, tenant, tenant_id: int, breaches: list[Breach], audience: _Audience, now: datetime
            ) -> tuple[int, int, int]:
    """Record `breaches`: new alerts with their inbox items, escalations with their items open
    again, and one message per recipient for each: (alerts created, escalated, deliveries)."""
    changed: dict[int, int] = {}  # alert → its escalations (0: new)
    outgoing = []
    with connection.cursor() as cursor:
        for b in breaches:
            cursor.execute(_RECORD_ALERT, {
                "tenant": tenant_id, "rule": b.rule.pk, "threshold": b.threshold.pk, "entity": b.entity_id,
                "account": b.account_id, "cost_center": b.cost_center_id, "period": b.period.pk, "actual": b.actual,
                "budget": b.budget, "variance": b.variance, "pct": b.pct, "as_of": b.as_of, "now": now,
                "rank_pct": b.threshold.pct, "rank_amount": b.threshold.amount})
            row = cursor.fetchone()
            if row is None:  # recorded before, at this threshold or a higher one
                continue
            alert_id, escalations = row
            changed[alert_id] = escalations
            digest = b.rule.delivery == AlertDeliveryMode.DIGEST
            outgoing += [Outgoing(recipient=email, ref=alert_id, seq=escalations, digest=digest)
                         for email in _recipients(b.rule, role_emails=audience.role_emails, owners=audience.owners,
                                                  cost_center_id=b.cost_center_id)]
    events: dict[str, list[Event]] = {"alert.raised": [], "alert.escalated": []}
    for alert in Alert.objects.filter(pk__in=changed).select_related("rule__budget__entity", "account", "cost_center",
                                                                     "period", "threshold", "item"):
        escalations = changed[alert.pk]
        events["alert.escalated" if escalations else "alert.raised"].append(
            Event(alert.pk, alert_event(alert), seq=escalations))
        if escalations and alert.item_id:
            inbox_item_escalate(item=alert.item, title=alert_title(alert))
            continue
        alert.item = inbox_item_open(kind=KIND, ref=alert.pk, title=alert_title(alert),
                                     link=alert_journal_path(tenant, alert))
        alert.save(update_fields=["item"])
    for event_type, happened in events.items():
        if happened:
            webhook_emit_many(tenant=tenant, event_type=event_type, events=happened)
    created = sum(1 for n in changed.values() if n == 0)
    return created, len(changed) - created, outbox_queue(kind=KIND, items=outgoing, now=now)


def alerts_evaluate(*, tenant, rule=None, as_of: date, dry_run: bool = False, now: datetime | None = None
                    ) -> Evaluation:
    """Evaluate `rule` (or every active rule) for the month of `as_of`; record new alerts and
    their deliveries in one transaction. With `dry_run`, record nothing.

    Each rule is evaluated and recorded in its own savepoint: a rule that fails (data the
    database refuses, a bug) is logged, rolled back alone and listed in `failed`, and the other
    rules still fire. It fails again on the next run until it is fixed, and says so each time."""
    now = now or timezone.now()
    result = Evaluation()
    with tenant_context(tenant) as tenant_id:
        rules = AlertRule.objects.select_related("budget__entity").prefetch_related("thresholds")
        rules = rules.filter(pk=getattr(rule, "pk", rule)) if rule is not None else rules.filter(active=True)
        audience = None
        for r in rules:
            try:
                with transaction.atomic():
                    breaches = _rule_breaches(tenant=tenant, rule=r, as_of=as_of)
                    created = (0, 0, 0)
                    if breaches and not dry_run:
                        audience = audience or _Audience.load(tenant_id)
                        created = _record(tenant=tenant, tenant_id=tenant_id, breaches=breaches, audience=audience,
                                          now=now)
            except Exception:  # noqa: BLE001  one bad rule must not silence the others
                log.exception("variance alerts: rule %s “%s” of organisation %s failed and was skipped",
                              r.pk, r.name, tenant_id)
                result.failed.append(r)
                continue
            result.breaches += breaches
            result.alerts_created += created[0]
            result.alerts_escalated += created[1]
            result.deliveries_created += created[2]
    return result


def preview_as_of(*, tenant, rule: AlertRule, today: date | None = None) -> date:
    """The default day of a preview: today, brought into the budget's fiscal year."""
    today = today or timezone.localdate()
    first = fiscal_year_first_month(tenant=tenant, fiscal_year=rule.budget.fiscal_year)
    last = add_months(first, 12) - timedelta(days=1)
    return min(max(today, first), last)


@dataclass(frozen=True)
class PreviewRow:
    breach: Breach
    recorded: bool  # the line's alert is recorded at this threshold or a higher one: nothing would be sent
    escalates: bool = False  # the line's alert is recorded at a lower threshold: it would escalate


def alert_rule_preview(*, tenant, rule, as_of: date) -> list[PreviewRow]:
    """What the rule finds beyond its thresholds on `as_of` (a dry run: nothing is recorded),
    each marked when it was alerted before."""
    result = alerts_evaluate(tenant=tenant, rule=rule, as_of=as_of, dry_run=True)
    with tenant_context(tenant):
        recorded = {(account, cost_center, period): (pct, amount, threshold) for account, cost_center, period, pct, amount,
                    threshold in Alert.objects.filter(rule_id=pk_of(rule)).values_list(
                        "account_id", "cost_center_id", "period_id", "threshold__pct", "threshold__amount", "threshold_id")}
    rows = []
    for b in result.breaches:
        before = recorded.get((b.account_id, b.cost_center_id, b.period.pk))
        higher = before is not None and before < threshold_rank(b.threshold)
        rows.append(PreviewRow(b, recorded=before is not None and not higher, escalates=higher))
    rows.sort(key=lambda r: (r.breach.account_code, r.breach.cost_center_code, str(r.breach.threshold)))
    return rows
