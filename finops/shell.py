"""The shell's placeholder page of the domains not built yet."""

from __future__ import annotations

from django.shortcuts import render

from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

SECTIONS = {
    "budgets": ("Budgets", "Plan by cost center × account × month, track variances and get alerts."),
    "revenue": ("Revenue", "ASC 606 contracts, recognition schedules and deferred revenue."),
    "planning": ("Planning", "Forecasts, driver-based plans and scenarios."),
}


@org_view(Action.VIEW)
def coming_soon(request, section: str):
    title, blurb = SECTIONS[section]
    return render(request, "shell/coming_soon.html", {"section": section, "title": title, "blurb": blurb})
