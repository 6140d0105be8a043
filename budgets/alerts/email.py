"""The e-mail of a variance alert: one message per recipient with the alerts due to them (the
kernel outbox's `build` for the kind "variance_alert", registered in `budgets.apps`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from finops.ledger.actuals import favourable
from finops.notifications.kinds import Undeliverable
from finops.notifications.preferences import unsubscribe_token
from finops.tenancy.models import Organization

from .. import variance as v
from ..models import (
    Alert,
    ThresholdKind,
)
from ..selectors import version_in_force, version_latest
from .selectors import REPORT_BASIS, alert_basis_words, alert_journal_path

KIND = "variance_alert"


def variance_alert_email(*, tenant: Organization, deliveries, message_id: str) -> EmailMultiAlternatives:
    """The e-mail of one recipient's due variance alerts (the outbox's `build` for this kind)."""
    recipient = deliveries[0].recipient
    alerts = list(Alert.objects.filter(pk__in=[d.ref for d in deliveries])
                  .select_related("rule__budget__entity", "account", "cost_center", "period", "threshold"))
    if not alerts:
        raise Undeliverable("The alerts of this e-mail were deleted (with their rule) before it was sent.")
    alerts.sort(key=lambda a: (a.rule.name, a.account.code, a.cost_center.code if a.cost_center else "", a.pk))
    first = alerts[0]
    version = (version_in_force(tenant=tenant, budget=first.rule.budget)
               or version_latest(tenant=tenant, budget=first.rule.budget))
    variance_url = ""
    if version is not None and len({a.rule.budget_id for a in alerts}) == 1:
        variance_url = settings.SITE_URL + reverse("budgets:variance", kwargs={"org_slug": tenant.slug,
                                                                               "pk": version.pk})
        variance_url += "?" + urlencode({"month": f"{first.period.start:%Y-%m}",
                                         "basis": REPORT_BASIS[first.rule.basis].value})
    unsubscribe_url = settings.SITE_URL + reverse(
        "alerts_unsubscribe", kwargs={"token": unsubscribe_token(tenant_id=tenant.pk, email=recipient, kind=KIND)})
    escalated = {d.ref for d in deliveries if d.seq}  # told of before, at a lower threshold
    inbox_url = settings.SITE_URL + reverse("budgets:alert_inbox", kwargs={"org_slug": tenant.slug})
    rows = [{"alert": a, "rule": a.rule.name, "account": f"{a.account.code} {a.account.name}",
             "escalated": a.pk in escalated, "basis": alert_basis_words(a),
             "favourable": favourable(account_type=a.account.type, actual=a.actual, budget=a.budget),
             "inbox_url": f"{inbox_url}?status=all#alert-{a.pk}",
             "cost_center": a.cost_center.code if a.cost_center else "—", "threshold": str(a.threshold),
             "currency": a.rule.budget.entity.functional_currency,
             "variance_pct": v.variance(account_type=a.account.type, actual=a.actual, budget=a.budget,
                                        currency=a.rule.budget.entity.functional_currency).variance_pct,
             "consumed_pct": a.pct if a.threshold.kind == ThresholdKind.CONSUMED_PCT else None,
             "journal_url": settings.SITE_URL + alert_journal_path(tenant, a)} for a in alerts]
    currencies = sorted({row["currency"] for row in rows})  # one recipient's alerts may span entities
    context = {"org": tenant, "rows": rows, "period": first.period.start, "variance_url": variance_url,
               "currency": currencies[0] if len(currencies) == 1 else "",
               "unsubscribe_url": unsubscribe_url, "count": len(rows), "escalated": len(escalated & {a.pk for a in alerts}),
               "inbox_url": inbox_url}
    n = len(rows)
    rules = list(dict.fromkeys(a.rule.name for a in alerts))
    named = rules[0] if len(rules) == 1 else (" and ".join(rules) if len(rules) == 2
                                              else f"{rules[0]} and {len(rules) - 1} other rules")
    # One alert is one budget line: the subject counts lines, and says when they only escalated.
    lines = f"{n} budget line{'s' if n != 1 else ''}"
    what = "escalated" if context["escalated"] == n else "off plan"
    subject = f"[{tenant.name}] {lines} {what}: {named}, {first.period.start:%B %Y}"
    context["headline"] = f"{lines} {what}"
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("emails/variance_alert.txt", context), to=[recipient],
        headers={"Message-ID": message_id, "List-Unsubscribe": f"<{unsubscribe_url}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    message.attach_alternative(render_to_string("emails/variance_alert.html", context), "text/html")
    return message
