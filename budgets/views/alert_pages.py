"""Variance-alert pages: the organisation's alert inbox (everyone reads; directors and up
acknowledge or snooze; the inbox itself is the kernel's, finops/notifications/inbox.py)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.exports import COUNT, DATETIME, MONEY, MONTH, PCT, Column, Sheet, export_filename, sheet_response
from finops.notifications.inbox import SNOOZE_DAYS
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action, can

from ..alerts.inbox import alert_acknowledge, alert_reopen, alert_snooze
from ..alerts.selectors import access_alert, alert_inbox_rows

FILTERS = [("open", "Open"), ("acknowledged", "Acknowledged"), ("snoozed", "Snoozed"), ("all", "All")]


@org_view(Action.VIEW)
def alert_inbox(request):
    status = request.GET.get("status", "open")
    status = status if status in dict(FILTERS) else "open"
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = alert_inbox_rows(tenant=request.org, status="" if status == "all" else status, limit=EXPORT_MAX)
        return sheet_response(fmt, export_sheet(request.org, status, rows))
    alerts = alert_inbox_rows(tenant=request.org, status="" if status == "all" else status,
                              back=request.get_full_path())
    context = {"alerts": alerts, "status": status, "filters": FILTERS, "snooze_days": SNOOZE_DAYS,
               "may_act": can(request.membership.role, Action.REQUEST)}
    partial = request.htmx and request.htmx.target == "alert-table" and not request.htmx.history_restore_request
    return render(request, "budgets/alert_inbox.html#table" if partial else "budgets/alert_inbox.html", context)


EXPORT_MAX = 100_000


def export_sheet(org, status: str, alerts) -> Sheet:
    """The alerts as listed (newest first), each in its budget entity's currency, who acknowledged
    or snoozed it and when, with the note."""
    columns = [Column("Alert"), Column("Rule"), Column("Budget"), Column("Entity"), Column("Account"),
               Column("Account name"), Column("Cost center"), Column("Month", MONTH), Column("Basis"),
               Column("Threshold"), Column("Currency"), Column("Actual", MONEY, currency_from="Currency"),
               Column("Budget amount", MONEY, currency_from="Currency"),
               Column("Variance", MONEY, currency_from="Currency"), Column("Variance %", PCT),
               Column("Consumed %", PCT), Column("F/U"), Column("Status"), Column("Raised at (UTC)", DATETIME),
               Column("Escalated at (UTC)", DATETIME), Column("Escalations", COUNT), Column("Acknowledged by"),
               Column("Acknowledged at (UTC)", DATETIME), Column("Note")]

    def values(a):
        item = a.item
        state = "Open" if a.is_open else item.get_status_display() if item else ""
        return [f"#{a.pk}", a.rule.name, a.rule.budget.name, a.rule.budget.entity.code, a.account.code, a.account.name,
                a.cost_center.code if a.cost_center else "", a.period.start, a.basis_words, str(a.threshold),
                a.currency, a.actual, a.budget, a.variance, a.figures.variance_pct,
                a.figures.consumed_pct if a.account.type == "expense" else None,
                "F" if a.figures.favourable else "U", state, a.created_at, a.escalated_at, a.escalations,
                (item.acknowledged_by.email if item and item.acknowledged_by else ""),
                item.acknowledged_at if item else None, item.note if item else ""]

    label = dict(FILTERS)[status]
    return Sheet(title="Budget alerts", columns=columns, currency="", rows=[values(a) for a in alerts],
                 about=[org.name, f"{label} alerts" if status != "all" else "All alerts", "newest first",
                        "figures as observed when raised or last escalated, in the budget entity's currency"],
                 filename=export_filename("budget-alerts", org.slug, status))


def _change(request, pk: int, service, verb: str, **options):
    alert = access_alert(tenant=request.org, pk=pk)
    try:
        service(tenant=request.org, actor=request.user, alert=alert, **options)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Alert #{alert.pk} {verb}.")
    response = redirect("budgets:alert_inbox", org_slug=request.org.slug)
    back = request.POST.get("status", "")
    if back in dict(FILTERS):
        response["Location"] += f"?status={back}"
    return response


@org_view(Action.VIEW, post=Action.REQUEST)
@require_POST
def alert_acknowledge_view(request, pk: int):
    return _change(request, pk, alert_acknowledge, "acknowledged", note=request.POST.get("note", ""))


@org_view(Action.VIEW, post=Action.REQUEST)
@require_POST
def alert_snooze_view(request, pk: int):
    return _change(request, pk, alert_snooze, f"snoozed for {SNOOZE_DAYS} days")


@org_view(Action.VIEW, post=Action.REQUEST)
@require_POST
def alert_reopen_view(request, pk: int):
    return _change(request, pk, alert_reopen, "reopened")


urlpatterns = [
    path("alerts/", alert_inbox, name="alert_inbox"),
    path("alerts/<int:pk>/acknowledge/", alert_acknowledge_view, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", alert_snooze_view, name="alert_snooze"),
    path("alerts/<int:pk>/reopen/", alert_reopen_view, name="alert_reopen"),
]
