"""Variance-alert rule pages: the list (everyone reads), the rule editor with its thresholds
(finance and admins), pause / resume and delete, and "Test this rule": a dry run of the saved
rule that shows what it finds now and records nothing."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action, can

from ..alerts.evaluation import alert_rule_preview, preview_as_of
from ..alerts.rules import (
    ThresholdSpec,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_set_active,
    alert_rule_update,
)
from ..alerts.selectors import access_alert_rule, alert_rule_list, recipient_words, scope_words
from ..forms import MAX_RULE_THRESHOLDS, AlertRuleForm, threshold_formset

RULE_FIELDS = ("name", "budget", "scope", "cost_center", "account_type", "account", "basis", "recipient_roles",
               "notify_cost_center_owners", "extra_recipients", "delivery", "unfavourable_only")


def _to_list(request):
    response = redirect("budgets:alert_rules", org_slug=request.org.slug)
    return HttpResponseClientRedirect(response["Location"]) if request.htmx else response


@org_view(Action.VIEW)
@require_GET
def alert_rules(request):
    rules = alert_rule_list(tenant=request.org)
    for rule in rules:
        rule.scope_words, rule.recipients = scope_words(rule), recipient_words(rule)
    return render(request, "budgets/alert_rule_list.html",
                  {"rules": rules, "may_edit": can(request.membership.role, Action.WRITE)})


def _number(value) -> str:
    return "" if not value else format(value.normalize(), "f")


def _rule_initial(rule) -> tuple[dict, list[dict]]:
    initial = {name: getattr(rule, name) for name in RULE_FIELDS}
    initial.update(budget=rule.budget_id, cost_center=rule.cost_center_id, account=rule.account_id)
    thresholds = [{"kind": t.kind, "pct": _number(t.pct), "amount": _number(t.amount)} for t in rule.active_thresholds]
    return initial, thresholds


def _typed_thresholds(data) -> list[dict]:
    """What was typed in each threshold row, as strings (for "Add another threshold")."""
    try:
        total = min(int(data.get("thresholds-TOTAL_FORMS", 0)), MAX_RULE_THRESHOLDS)
    except (TypeError, ValueError):
        total = 0
    return [{k: data.get(f"thresholds-{i}-{k}", "") for k in ("kind", "pct", "amount")} for i in range(total)]


def _show_service_errors(exc: DomainError, form, filled, general: list[str]) -> None:
    """Each (field, message) of the service next to the field it names."""
    for field, message in exc.errors or [(None, exc.message)]:
        if field and field.startswith("thresholds."):
            _, index, name = field.split(".")
            filled[int(index)].add_error(name, message)
        elif field == "thresholds" or field is None or field not in form.fields:
            general.append(message)
        else:
            form.add_error(field, message)


def _rule_form(request, rule=None):
    """The editor, new (`rule` None) or of `rule`: show, add a threshold row, or save."""
    data = request.POST if request.method == "POST" else None
    general: list[str] = []
    if data is not None and data.get("more"):  # "Add another threshold": everything typed, plus a blank row
        rows = _typed_thresholds(data)
        typed = {**data.dict(), "recipient_roles": data.getlist("recipient_roles")}
        form = AlertRuleForm(initial=typed, tenant=request.org)  # unbound: no complaints yet
        formset = threshold_formset(initial=rows, extra=1)
    elif data is not None:
        form, formset = AlertRuleForm(data, tenant=request.org), threshold_formset(data=data)
        if form.is_valid() and formset.is_valid():
            filled = formset.filled_forms()
            specs = [ThresholdSpec(f.cleaned_data["kind"], f.cleaned_data["pct"], f.cleaned_data["amount"])
                     for f in filled]
            fields = {name: form.cleaned_data[name] for name in RULE_FIELDS}
            try:
                if rule is None:
                    saved = alert_rule_create(tenant=request.org, actor=request.user, thresholds=specs, **fields)
                else:
                    saved = alert_rule_update(tenant=request.org, actor=request.user, rule=rule, thresholds=specs,
                                              **fields)
            except DomainError as exc:
                _show_service_errors(exc, form, filled, general)
            else:
                messages.success(request, f"Alert rule “{saved.name}” {'created' if rule is None else 'saved'}.")
                return redirect("budgets:alert_rules", org_slug=request.org.slug)
    elif rule is None:
        form, formset = AlertRuleForm(tenant=request.org), threshold_formset(extra=3)
    else:
        initial, rows = _rule_initial(rule)
        form, formset = AlertRuleForm(initial=initial, tenant=request.org), threshold_formset(initial=rows, extra=1)
    invalid = data is not None and not data.get("more")
    context = {"form": form, "formset": formset, "rule": rule, "general_errors": general,
               "as_of": preview_as_of(tenant=request.org, rule=rule) if rule else None}
    return render(request, "budgets/alert_rule_form.html", context, status=400 if invalid else 200)


@org_view(Action.WRITE)
def alert_rule_new(request):
    return _rule_form(request)


@org_view(Action.WRITE)
def alert_rule_edit(request, pk: int):
    return _rule_form(request, access_alert_rule(tenant=request.org, pk=pk))


@org_view(Action.WRITE)
@require_POST
def alert_rule_active(request, pk: int):
    """Pause (active=0) or resume (active=1) a rule."""
    rule = access_alert_rule(tenant=request.org, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        alert_rule_set_active(tenant=request.org, actor=request.user, rule=rule, active=active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Alert rule “{rule.name}” {'resumed' if active else 'paused'}.")
    return _to_list(request)


@org_view(Action.WRITE)
@require_POST
def alert_rule_delete_view(request, pk: int):
    rule = access_alert_rule(tenant=request.org, pk=pk)
    try:
        alert_rule_delete(tenant=request.org, actor=request.user, rule=rule)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Alert rule “{rule.name}” deleted.")
    return _to_list(request)


@org_view(Action.VIEW)
@require_GET
def alert_rule_preview_view(request, pk: int):
    """What the saved rule finds beyond its thresholds on a day (default: today, within the
    budget's fiscal year). A dry run: nothing is recorded or sent."""
    rule = access_alert_rule(tenant=request.org, pk=pk)
    error = ""
    try:
        as_of = date.fromisoformat(request.GET["as_of"]) if request.GET.get("as_of") else None
    except ValueError:
        as_of, error = None, f"“{request.GET['as_of']}” is not a date: use YYYY-MM-DD."
    as_of = as_of or preview_as_of(tenant=request.org, rule=rule)
    context = {"rule": rule, "as_of": as_of, "error": error, "rows": [] if error else
               alert_rule_preview(tenant=request.org, rule=rule, as_of=as_of),
               "currency": rule.budget.entity.functional_currency, "scope_words": scope_words(rule),
               "may_edit": can(request.membership.role, Action.WRITE)}
    partial = request.htmx and request.htmx.target == "rule-preview" and not request.htmx.history_restore_request
    return render(request, "budgets/alert_rule_preview.html#preview" if partial else "budgets/alert_rule_preview.html",
                  context, status=400 if error else 200)


urlpatterns = [
    path("alerts/rules/", alert_rules, name="alert_rules"),
    path("alerts/rules/new/", alert_rule_new, name="alert_rule_new"),
    path("alerts/rules/<int:pk>/", alert_rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/active/", alert_rule_active, name="alert_rule_active"),
    path("alerts/rules/<int:pk>/delete/", alert_rule_delete_view, name="alert_rule_delete"),
    path("alerts/rules/<int:pk>/preview/", alert_rule_preview_view, name="alert_rule_preview"),
]
