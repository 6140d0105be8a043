"""Pieces every page uses: the org-view decorator (membership is already checked by the
middleware; this checks the role) and the placeholder page of domains not built yet."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from finops.tenancy.permissions import Action, can

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def org_view(action: Action = Action.VIEW, *, post: Action | None = None):
    """Require `action` for reads and `post` (default: `action`) for writes. The middleware
    has already answered 404 to non-members; a member without the right gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, org_slug: str, **kwargs):
            needed = action if request.method in SAFE_METHODS else (post or action)
            if request.membership is None or not can(request.membership.role, needed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_action = action
        wrapper.required_post_action = post or action
        return wrapper

    return decorator


SECTIONS = {
    "budgets": ("Budgets", "Plan by cost center × account × month, track variances and get alerts."),
    "costs": ("Costs", "Bring in cost exports (FOCUS), allocate shared costs and find savings."),
    "revenue": ("Revenue", "ASC 606 contracts, recognition schedules and deferred revenue."),
    "planning": ("Planning", "Forecasts, driver-based plans and scenarios."),
}


@org_view(Action.VIEW)
def coming_soon(request, section: str):
    title, blurb = SECTIONS[section]
    return render(request, "shell/coming_soon.html", {"section": section, "title": title, "blurb": blurb})
