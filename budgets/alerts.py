"""Variance alerts: evaluate rules against budget vs actual, record each breach once, e-mail it.

Evaluation (`alerts_evaluate`)
    For each active rule: the budget's version in force (newest approved or locked), else its
    latest; the lines of `budgets.reports.budget_vs_actual` for the month of `as_of` on the
    rule's basis (month, year to date, or projected full year = the linear run rate of the year
    against the full-year budget), filtered by the rule's scope. Thresholds:
      consumed_pct  actual / budget × 100 ≥ pct, on expense lines only (consuming a budget is a
                    spending notion; revenue is watched with variance thresholds).
      variance      |variance %| ≥ pct AND |variance| ≥ amount, in either direction (or only
                    when unfavourable, if the rule says `unfavourable_only`). An
                    unbudgeted line (budget 0, no percentage) counts as beyond any percentage,
                    so it fires on the amount alone.
    New alerts go in with INSERT … ON CONFLICT DO NOTHING on (tenant, rule, threshold, account,
    cost center, period) — so evaluating again, or two workers at once, records nothing new — and
    with them, in the same transaction, one outbox row (`AlertDelivery`) per recipient. Each rule
    is evaluated and recorded in its own savepoint: one that fails is logged and skipped (its
    rows rolled back), and the other rules still fire.

Sending (`alert_deliveries_send`), after the evaluation has committed. Delivery is AT LEAST
ONCE: due deliveries are claimed (row locks taken with SKIP LOCKED, status "sending", a shared
Message-ID per recipient) and committed; then the e-mail goes; then they are marked "sent". A
crash between the claim and the mark leaves them "sending": after `SENDING_TIMEOUT` they are
sent again, with the SAME Message-ID, so a mail server or client can drop the duplicate. The
alternative (mark sent, then send) loses alerts on a crash; a repeated alert is the lesser harm.
A send that fails with an exception puts its deliveries back to "pending" at once.

Recipients: members with one of the rule's roles, the owner of the line's cost center (or of
its nearest ancestor with one) when the rule says so, and the rule's extra addresses. Each
address's `AlertPreference` decides: immediately, the next daily digest, or nothing. A digest
rule sends everyone the digest.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from finops.audit.actions import AuditAction
from finops.errors import DomainError
from finops.ledger.links import journal_lines_path
from finops.ledger.models import AccountType, CostCenter, Period
from finops.ledger.periods import fiscal_year_first_month
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership, Organization

from . import variance as v
from .models import (
    AlertBasis,
    AlertDelivery,
    AlertDeliveryMode,
    AlertPreference,
    AlertRule,
    AlertScope,
    DeliveryStatus,
    ThresholdKind,
)
from .reports import budget_vs_actual
from .selectors import version_in_force, version_latest

log = logging.getLogger(__name__)

SENDING_TIMEOUT = timedelta(minutes=15)
DIGEST_HOUR_UTC = 7  # the daily digest goes out at 07:00 UTC
UNSUBSCRIBE_SALT = "budgets.alerts.unsubscribe"
_BASIS = {AlertBasis.MONTH: v.Basis.MONTH, AlertBasis.YTD: v.Basis.YTD, AlertBasis.PROJECTED: v.Basis.FULL_YEAR}


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


@dataclass
class Evaluation:
    breaches: list[Breach] = field(default_factory=list)  # every line beyond a threshold now
    alerts_created: int = 0  # of which newly recorded
    deliveries_created: int = 0
    failed: list[AlertRule] = field(default_factory=list)  # rules that could not be evaluated (logged)


# --- evaluation --------------------------------------------------------------------------------


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
        report = budget_vs_actual(tenant=tenant, version=version, period=as_of, basis=_BASIS[rule.basis],
                                  group_by=("account", "cost_center"), as_of=as_of, **scope)
    except DomainError:
        return []
    breaches = []
    for row in report.rows:
        result = _observed(rule, row)
        for threshold in thresholds:
            pct = threshold_breached(threshold, account_type=row.account_type, result=result,
                                     unfavourable_only=rule.unfavourable_only)
            if pct is False:
                continue
            breaches.append(Breach(
                rule=rule, threshold=threshold, account_id=row.account_id, account_code=row.account_code,
                account_name=row.account_name, cost_center_id=row.cost_center_id,
                cost_center_code=row.cost_center_code or "", entity_id=budget.entity_id, period=period,
                currency=report.currency, actual=result.actual, budget=result.budget, variance=result.variance,
                pct=pct))
    return breaches


_INSERT_ALERT = """
    INSERT INTO budgets_alert (tenant_id, rule_id, threshold_id, entity_id, account_id, cost_center_id, period_id,
                               actual, budget, variance, pct, created_at, status)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), 'open')
    ON CONFLICT ON CONSTRAINT alert_line_unique DO NOTHING
    RETURNING id
"""


def _split_addresses(text: str) -> list[str]:
    found = []
    for part in re.split(r"[\s,;]+", text or ""):
        try:
            validate_email(part)
        except ValidationError:
            continue
        found.append(part.lower())
    return found


def rule_recipients_parse(text: str) -> tuple[list[str], list[str]]:
    """(valid addresses, rejected words) of an extra-recipients field, for the rule editor."""
    parts = [p for p in re.split(r"[\s,;]+", text or "") if p]
    valid = _split_addresses(text)
    return valid, [p for p in parts if p.lower() not in valid]


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
    found += _split_addresses(rule.extra_recipients)
    return list(dict.fromkeys(found))


def next_digest_at(now: datetime) -> datetime:
    today = datetime.combine(now.astimezone(UTC).date(), time(DIGEST_HOUR_UTC), tzinfo=UTC)
    return today if now <= today else today + timedelta(days=1)


@dataclass
class _Audience:
    """Who may hear of an alert in one tenant, loaded once per evaluation (when there is a breach)."""

    role_emails: dict[str, list[str]]
    owners: dict[int, str | None]
    prefs: dict[str, str]

    @classmethod
    def load(cls, tenant_id: int) -> _Audience:
        role_emails = defaultdict(list)
        for role, email in (Membership.objects.filter(organization_id=tenant_id)
                            .values_list("role", "user__email").order_by("user__email")):
            role_emails[role].append(email.lower())
        return cls(role_emails, _cost_center_owner_emails(tenant_id),
                   dict(AlertPreference.objects.values_list("email", "mode")))


def _record(*, tenant_id: int, breaches: list[Breach], audience: _Audience, now: datetime) -> tuple[int, int]:
    """Record the new alerts of `breaches` and their deliveries: (alerts, deliveries) created."""
    digest_at = next_digest_at(now)
    alerts, deliveries = 0, []
    with connection.cursor() as cursor:
        for b in breaches:
            cursor.execute(_INSERT_ALERT, [tenant_id, b.rule.pk, b.threshold.pk, b.entity_id, b.account_id,
                                           b.cost_center_id, b.period.pk, b.actual, b.budget, b.variance, b.pct])
            row = cursor.fetchone()
            if row is None:  # recorded before
                continue
            alerts += 1
            for email in _recipients(b.rule, role_emails=audience.role_emails, owners=audience.owners,
                                     cost_center_id=b.cost_center_id):
                mode = audience.prefs.get(email, AlertPreference.Mode.IMMEDIATE)
                if mode == AlertPreference.Mode.OFF:
                    continue
                digest = mode == AlertPreference.Mode.DIGEST or b.rule.delivery == AlertDeliveryMode.DIGEST
                deliveries.append(AlertDelivery(tenant_id=tenant_id, alert_id=row[0], recipient=email,
                                                due_at=digest_at if digest else now))
    AlertDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return alerts, len(deliveries)


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
                    created = (0, 0)
                    if breaches and not dry_run:
                        audience = audience or _Audience.load(tenant_id)
                        created = _record(tenant_id=tenant_id, breaches=breaches, audience=audience, now=now)
            except Exception:  # noqa: BLE001  one bad rule must not silence the others
                log.exception("variance alerts: rule %s “%s” of organisation %s failed and was skipped",
                              r.pk, r.name, tenant_id)
                result.failed.append(r)
                continue
            result.breaches += breaches
            result.alerts_created += created[0]
            result.deliveries_created += created[1]
    return result


# --- sending -----------------------------------------------------------------------------------


class UnsubscribeLinkExpired(Exception):
    """An unsubscribe token signed longer ago than ALERT_UNSUBSCRIBE_MAX_AGE_DAYS."""

    def __init__(self, tenant_id: int | None):
        super().__init__(tenant_id)
        self.tenant_id = tenant_id


def unsubscribe_token(*, tenant_id: int, email: str) -> str:
    """The credential of an e-mail's unsubscribe link: tenant and address, signed with the time
    (Django's `signing.dumps` stamps it), so the link stops working after a while."""
    return signing.dumps({"t": tenant_id, "e": email.lower()}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """(tenant id, address) of a valid token; None for a tampered or malformed one. Raises
    `UnsubscribeLinkExpired` (with the tenant, the signature being genuine) for an old one."""
    try:
        max_age = timedelta(days=settings.ALERT_UNSUBSCRIBE_MAX_AGE_DAYS)
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
        return int(data["t"]), str(data["e"])
    except signing.SignatureExpired:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)  # genuine, only old: which organisation
        raise UnsubscribeLinkExpired(data.get("t") if isinstance(data, dict) else None) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def alert_preference_set(*, tenant, email: str, mode: str) -> AlertPreference:
    if mode not in AlertPreference.Mode.values:
        raise DomainError(f"Unknown alert preference {mode!r}; choose immediate, digest or off.")
    from django.contrib.auth import get_user_model

    email = email.lower()
    with tenant_context(tenant) as tenant_id:
        user = get_user_model().objects.filter(email__iexact=email).first()
        pref, _ = AlertPreference.objects.update_or_create(
            tenant_id=tenant_id, email=email, defaults={"mode": mode, "user": user})
    return pref


def _message_id(tenant_id: int, delivery_ids: list[int]) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(delivery_ids))).encode()).hexdigest()[:16]
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "finops"
    return f"<variance-alert.{tenant_id}.{min(delivery_ids)}.{digest}@{domain}>"


def _claim(*, tenant_id: int, now: datetime) -> list[str]:
    """Claim due deliveries (and those stuck "sending" past the timeout), one Message-ID per
    recipient; committed before anything is sent. Returns the Message-IDs to send."""
    with tenant_context(tenant_id):
        stale = now - SENDING_TIMEOUT
        due = list(AlertDelivery.objects.select_for_update(skip_locked=True)
                   .filter(status=DeliveryStatus.PENDING, due_at__lte=now).order_by("id"))
        stuck = list(AlertDelivery.objects.select_for_update(skip_locked=True)
                     .filter(status=DeliveryStatus.SENDING, sending_at__lt=stale).order_by("id"))
        by_recipient = defaultdict(list)
        for d in due:
            by_recipient[d.recipient].append(d)
        for group in by_recipient.values():
            mid = _message_id(tenant_id, [d.pk for d in group])
            for d in group:
                d.message_id = mid
        for d in [*due, *stuck]:
            d.status, d.sending_at, d.attempts = DeliveryStatus.SENDING, now, d.attempts + 1
        AlertDelivery.objects.bulk_update([*due, *stuck], ["status", "sending_at", "attempts", "message_id"])
        return list(dict.fromkeys(d.message_id for d in [*due, *stuck]))


def alert_journal_path(tenant: Organization, alert) -> str:
    """The journal lines behind an alert's actual: its entity, account, cost center and the
    months of the rule's basis (the month, or the fiscal year to that month)."""
    end = alert.period.start
    start = end if alert.rule.basis == AlertBasis.MONTH else fiscal_year_first_month(
        tenant=tenant, fiscal_year=alert.rule.budget.fiscal_year)
    return journal_lines_path(org_slug=tenant.slug, entity_id=alert.entity_id, account_id=alert.account_id,
                              cost_center_id=alert.cost_center_id, start=start, end=end)


def _email(*, tenant: Organization, deliveries: list[AlertDelivery], message_id: str) -> EmailMultiAlternatives:
    recipient = deliveries[0].recipient
    alerts = [d.alert for d in deliveries]
    alerts.sort(key=lambda a: (a.rule.name, a.account.code, a.cost_center.code if a.cost_center else "", a.pk))
    first = alerts[0]
    version = (version_in_force(tenant=tenant, budget=first.rule.budget)
               or version_latest(tenant=tenant, budget=first.rule.budget))
    variance_url = ""
    if version is not None and len({a.rule.budget_id for a in alerts}) == 1:
        variance_url = settings.SITE_URL + reverse("budgets:variance", kwargs={"org_slug": tenant.slug,
                                                                               "pk": version.pk})
        variance_url += "?" + urlencode({"month": f"{first.period.start:%Y-%m}",
                                         "basis": _BASIS[first.rule.basis].value})
    unsubscribe_url = settings.SITE_URL + reverse(
        "alerts_unsubscribe", kwargs={"token": unsubscribe_token(tenant_id=tenant.pk, email=recipient)})
    rows = [{"alert": a, "rule": a.rule.name, "account": f"{a.account.code} {a.account.name}",
             "cost_center": a.cost_center.code if a.cost_center else "—", "threshold": str(a.threshold),
             "currency": a.rule.budget.entity.functional_currency,
             "variance_pct": v.variance(account_type=a.account.type, actual=a.actual, budget=a.budget,
                                        currency=a.rule.budget.entity.functional_currency).variance_pct,
             "consumed_pct": a.pct if a.threshold.kind == ThresholdKind.CONSUMED_PCT else None,
             "journal_url": settings.SITE_URL + alert_journal_path(tenant, a)} for a in alerts]
    currencies = sorted({row["currency"] for row in rows})  # one recipient's alerts may span entities
    context = {"org": tenant, "rows": rows, "period": first.period.start, "variance_url": variance_url,
               "currency": currencies[0] if len(currencies) == 1 else "",
               "unsubscribe_url": unsubscribe_url, "count": len(rows)}
    n = len(rows)
    rules = list(dict.fromkeys(a.rule.name for a in alerts))
    named = rules[0] if len(rules) == 1 else (" and ".join(rules) if len(rules) == 2
                                              else f"{rules[0]} and {len(rules) - 1} other rules")
    subject = (f"[{tenant.name}] {n} budget alert{'s' if n != 1 else ''}: {named}, "
               f"{first.period.start:%B %Y}")
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("emails/variance_alert.txt", context), to=[recipient],
        headers={"Message-ID": message_id, "List-Unsubscribe": f"<{unsubscribe_url}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    message.attach_alternative(render_to_string("emails/variance_alert.html", context), "text/html")
    return message


def alert_deliveries_send(*, tenant, now: datetime | None = None) -> int:
    """Send the due deliveries of `tenant`, one e-mail per recipient; returns e-mails sent.
    Must run outside any transaction (the claim commits before sending)."""
    now = now or timezone.now()
    tenant = tenant if isinstance(tenant, Organization) else Organization.objects.get(pk=tenant)
    sent = 0
    for message_id in _claim(tenant_id=tenant.pk, now=now):
        with tenant_context(tenant):
            deliveries = list(AlertDelivery.objects.filter(message_id=message_id, status=DeliveryStatus.SENDING)
                              .select_related("alert__rule__budget__entity", "alert__account",
                                              "alert__cost_center", "alert__period", "alert__threshold"))
            if not deliveries:
                continue
            email = _email(tenant=tenant, deliveries=deliveries, message_id=message_id)
        try:
            email.send()
        except Exception as exc:  # noqa: BLE001  the server refused or was unreachable: due again at once
            with tenant_context(tenant):
                AlertDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
                    status=DeliveryStatus.PENDING, last_error=str(exc)[:1000])
            continue
        with tenant_context(tenant):
            AlertDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
        sent += 1
    return sent


# --- the inbox: acknowledge, snooze, list -------------------------------------------------------

SNOOZE_DAYS = 7


def alert_list(*, tenant, status: str = "", now: datetime | None = None):
    """The organisation's alerts, newest first. `status` open / acknowledged / snoozed filters; a
    snooze that has run out counts as open again."""
    from django.db.models import Q

    from .models import Alert, AlertStatus

    now = now or timezone.now()
    alerts = Alert.objects.select_related("rule__budget__entity", "threshold", "account", "cost_center", "period")
    expired = Q(status=AlertStatus.SNOOZED, snoozed_until__lte=now)
    if status == AlertStatus.OPEN:
        alerts = alerts.filter(Q(status=AlertStatus.OPEN) | expired)
    elif status == AlertStatus.SNOOZED:
        alerts = alerts.filter(status=AlertStatus.SNOOZED, snoozed_until__gt=now)
    elif status == AlertStatus.ACKNOWLEDGED:
        alerts = alerts.filter(status=AlertStatus.ACKNOWLEDGED)
    return alerts.order_by("-created_at", "-id")


def alert_is_open(alert, *, now: datetime | None = None) -> bool:
    from .models import AlertStatus

    now = now or timezone.now()
    return alert.status == AlertStatus.OPEN or (
        alert.status == AlertStatus.SNOOZED and alert.snoozed_until is not None and alert.snoozed_until <= now)


def _lock_open_alert(alert, verb: str, now: datetime):
    from .models import Alert

    found = Alert.objects.select_for_update(of=("self",)).filter(pk=getattr(alert, "pk", alert)).first()
    if found is None:
        raise DomainError("This alert does not exist.")
    if not alert_is_open(found, now=now):
        state = found.get_status_display().lower()
        if found.snoozed_until and found.status == "snoozed":
            state += f" until {found.snoozed_until:%Y-%m-%d %H:%M} UTC"
        raise DomainError(f"Alert #{found.pk} is {state}; only an open alert can be {verb}.")
    return found


def _alert_set(*, tenant, actor, alert, status: str, snoozed_until, action: str, verb: str, now: datetime):
    from finops.audit.services import audit_record

    with tenant_context(tenant):
        locked = _lock_open_alert(alert, verb, now)
        before = {"status": locked.status,
                  "snoozed_until": locked.snoozed_until.isoformat() if locked.snoozed_until else None}
        locked.status, locked.snoozed_until = status, snoozed_until
        locked.save(update_fields=["status", "snoozed_until"])
        audit_record(tenant=tenant, actor=actor, action=action, obj=locked, before=before,
                     after={"status": status, "snoozed_until": snoozed_until.isoformat() if snoozed_until else None})
    return locked


def alert_acknowledge(*, tenant, actor, alert, now: datetime | None = None):
    """Someone has seen the alert and owns it: it leaves the open list for good."""
    from .models import AlertStatus

    now = now or timezone.now()
    return _alert_set(tenant=tenant, actor=actor, alert=alert, status=AlertStatus.ACKNOWLEDGED, snoozed_until=None,
                      action=AuditAction.BUDGET_ALERT_ACKNOWLEDGE, verb="acknowledged", now=now)


def alert_snooze(*, tenant, actor, alert, days: int = SNOOZE_DAYS, now: datetime | None = None):
    """Put the alert aside for `days`; after that it counts as open again."""
    from .models import AlertStatus

    if not 1 <= days <= 90:
        raise DomainError("Snooze an alert for 1 to 90 days.")
    now = now or timezone.now()
    return _alert_set(tenant=tenant, actor=actor, alert=alert, status=AlertStatus.SNOOZED,
                      snoozed_until=now + timedelta(days=days), action=AuditAction.BUDGET_ALERT_SNOOZE, verb="snoozed",
                      now=now)


def alert_preference_get(*, tenant, email: str) -> str:
    """The delivery mode of `email` in `tenant` (immediately when never chosen)."""
    with tenant_context(tenant):
        mode = AlertPreference.objects.filter(email=email.lower()).values_list("mode", flat=True).first()
    return mode or AlertPreference.Mode.IMMEDIATE
