"""Reads of variance alerts and their rules, for the inbox, the rule list and the rule editor."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Prefetch
from django.utils import timezone

from finops.errors import NotFound, found
from finops.ledger.links import journal_lines_path
from finops.ledger.periods import fiscal_year_first_month, month_end
from finops.notifications.inbox import (
    inbox_is_open,
    inbox_status_q,
)
from finops.notifications.models import InboxStatus
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization
from finops.tenancy.permissions import Role

from .. import variance as v
from ..models import (
    Alert,
    AlertBasis,
    AlertRule,
    AlertScope,
    AlertThreshold,
    ThresholdKind,
)
from .rules import addresses_parse


def alert_title(alert) -> str:
    where = f"{alert.account.code} {alert.account.name}" + (f" · {alert.cost_center.code}" if alert.cost_center_id
                                                            else "")
    return f"{alert.rule.name}: {where}, {alert.period.start:%B %Y} ({alert.threshold})"


def alert_basis_words(alert) -> str:
    """What an alert's figures are, in words: "year to date through 30 November 2026", "month to
    date through 2 December 2026, against the budget paced to the date", "projected full year FY2026"."""
    rule = alert.rule
    if rule.basis == AlertBasis.PROJECTED:
        return f"projected full year FY{rule.budget.fiscal_year}"
    period_end = month_end(alert.period.start)
    # Alerts raised before the day was kept: the day they were raised.
    evaluated = alert.as_of or (timezone.localdate(alert.created_at) if alert.created_at else period_end)
    through = min(evaluated, period_end)
    running = through < period_end
    if rule.basis == AlertBasis.MONTH and not running:
        return f"{alert.period.start:%B %Y}"
    words = f"{'month' if rule.basis == AlertBasis.MONTH else 'year'} to date through {through.day} {through:%B %Y}"
    if running and alert.threshold.kind != ThresholdKind.CONSUMED_PCT:
        words += ", against the budget paced to the date"
    return words


def alert_list(*, tenant, status: str = "", now: datetime | None = None):
    """The organisation's alerts, newest first. `status` open / acknowledged / snoozed filters; a
    snooze that has run out counts as open again."""
    alerts = Alert.objects.select_related("rule__budget__entity", "threshold", "account", "cost_center", "period",
                                          "item__acknowledged_by")
    return alerts.filter(inbox_status_q(status, now=now, prefix="item__")).order_by("-created_at", "-id")


def alert_is_open(alert, *, now: datetime | None = None) -> bool:
    return inbox_is_open(alert.item, now=now)


def alert_inbox_rows(*, tenant, status: str = "", limit: int = 500, back: str = "",
                     ids: list[int] | None = None) -> list[Alert]:
    """The inbox's alerts (newest `limit`), each with what the page shows of it: `is_open`,
    `journal_url`, `currency`, `figures` (variance % and consumed % apart, favourable) and
    `basis_words`."""
    found = alert_list(tenant=tenant, status=status)
    if ids is not None:
        found = found.filter(pk__in=ids)
    alerts = list(found[:limit])
    for alert in alerts:
        alert.is_open = alert_is_open(alert)
        alert.journal_url = alert_journal_path(tenant, alert, back=back)
        alert.currency = alert.rule.budget.entity.functional_currency
        alert.figures = v.variance(account_type=alert.account.type, actual=alert.actual, budget=alert.budget,
                                   currency=alert.currency)
        alert.basis_words = alert_basis_words(alert)
    return alerts


def alert_rule_list(*, tenant, now=None) -> list[AlertRule]:
    """Every rule, by name, with its thresholds in force (`active_thresholds`), `open_alerts` (open,
    or snoozed past its end) and `last_fired` (when its newest alert was recorded)."""
    now = now or timezone.now()
    is_open = inbox_status_q(InboxStatus.OPEN, now=now, prefix="alerts__item__")
    with tenant_context(tenant):
        in_force = AlertThreshold.objects.filter(retired_at__isnull=True).order_by("kind", "pct", "amount")
        return list(AlertRule.objects.select_related("budget__entity", "cost_center", "account")
                    .prefetch_related(Prefetch("thresholds", queryset=in_force, to_attr="active_thresholds"))
                    .annotate(open_alerts=Count("alerts", filter=is_open), last_fired=Max("alerts__created_at"))
                    .order_by("name"))


def access_alert_rule(*, tenant, pk) -> AlertRule:
    """The rule, or NotFound (the same for "missing" and "another organisation's")."""
    with tenant_context(tenant):
        rule = AlertRule.objects.select_related("budget__entity", "cost_center", "account").filter(pk=pk).first()
        if rule is None:
            raise NotFound("This alert rule does not exist.")
        rule.active_thresholds = list(rule.thresholds.filter(retired_at__isnull=True).order_by("kind", "pct",
                                                                                               "amount"))
        rule.fired = Alert.objects.filter(rule=rule).count()
    return rule


def scope_words(rule: AlertRule) -> str:
    if rule.scope == AlertScope.COST_CENTER and rule.cost_center_id:
        return f"Cost centers under {rule.cost_center.code} · {rule.cost_center.name}"
    if rule.scope == AlertScope.ACCOUNT_TYPE:
        return f"{rule.account_type.capitalize()} accounts"
    if rule.scope == AlertScope.ACCOUNT and rule.account_id:
        return f"Account {rule.account.code} · {rule.account.name}"
    return "Whole budget"


def recipient_words(rule: AlertRule) -> list[str]:
    words = [Role(r).label for r in rule.recipient_roles or [] if r in Role.values]
    if rule.notify_cost_center_owners:
        words.append("cost-center owners")
    return words + addresses_parse(rule.extra_recipients)[0]


def access_alert(*, tenant, pk) -> Alert:
    """The alert, or NotFound."""
    with tenant_context(tenant):
        return found(Alert.objects.filter(pk=pk).first(), "alert")


# What a rule's basis reads of budget vs actual (a projected rule reads the full year).
REPORT_BASIS = {AlertBasis.MONTH: v.Basis.MONTH, AlertBasis.YTD: v.Basis.YTD, AlertBasis.PROJECTED: v.Basis.FULL_YEAR}


def alert_journal_path(tenant: Organization, alert, *, back: str = "") -> str:
    """The journal lines behind an alert's actual: its entity, account, cost center and the
    months of the rule's basis (the month, or the fiscal year to that month); `back`, the page
    linking there."""
    end = alert.period.start
    start = end if alert.rule.basis == AlertBasis.MONTH else fiscal_year_first_month(
        tenant=tenant, fiscal_year=alert.rule.budget.fiscal_year)
    return journal_lines_path(org_slug=tenant.slug, entity_id=alert.entity_id, account_id=alert.account_id,
                              cost_center_id=alert.cost_center_id, start=start, end=end, back=back)
