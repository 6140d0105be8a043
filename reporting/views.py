"""The dashboard (one view serving the page and, for htmx, only its body), its budget panel,
and the Reporting section's placeholder."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from budgets.summary import budgets_at_a_glance
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .forms import DashboardFilterForm
from .selectors import SPANS, dashboard_default_month, dashboard_get


@org_view(Action.VIEW)
def dashboard(request):
    filters = DashboardFilterForm(request.GET)
    dash = dashboard_get(tenant=request.org, **filters.selection())
    context = {"dash": dash, "spans": SPANS, "filter_problems": filters.problems(),
               "chart": dash.chart_data()}
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "reporting/dashboard.html#body" if partial else "reporting/dashboard.html", context)


@org_view(Action.VIEW)
@require_GET
def budget_glance(request):
    """The dashboard's budget panel, loaded after the page (htmx) so a large budget never holds
    the dashboard up; same filters as the dashboard."""
    selection = DashboardFilterForm(request.GET).selection()
    month = selection["month"] or dashboard_default_month(tenant=request.org)
    glance = budgets_at_a_glance(tenant=request.org, month=month, entity_id=selection["entity_id"])
    return render(request, "reporting/_budget_glance.html", {"glance": glance, "month": month})


@org_view(Action.VIEW)
def reports(request):
    return render(request, "shell/coming_soon.html", {
        "section": "reporting",
        "title": "Reporting",
        "blurb": "P&L, budget vs actual, consolidation with FX translation and eliminations, "
                 "scheduled e-mailed reports and exports.",
    })
