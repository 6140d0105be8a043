"""Addresses of ledger pages that other apps link to, so the journal's query string is spelled in
one place (the filters of `ledger.forms.JournalFilterForm`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse


def journal_lines_path(*, org_slug: str, entity_id: int | None = None, account_id: int | None = None,
                       cost_center_id: int | None = None, start: date, end: date, back: str = "") -> str:
    """The journal filtered to the lines behind an actual: entity, account, cost center (each when
    given) and the months from `start` to `end` (inclusive); `back`, the page that links there
    (the journal offers the way back to it: `back_link`)."""
    params = [(name, value) for name, value in (("entity", entity_id), ("account", account_id),
                                                 ("cost_center", cost_center_id)) if value]
    params += [("period_from", f"{start:%Y-%m}"), ("period_to", f"{end:%Y-%m}")]
    if back:
        params.append(("back", back))
    return reverse("ledger:journal", kwargs={"org_slug": org_slug}) + "?" + urlencode(params)


# The pages that drill down into the journal, by URL name, as the way back reads.
BACK_TITLES = {"budgets:variance": "budget vs actual", "budgets:consolidated": "the consolidated report",
               "budgets:alert_inbox": "the alerts", "reporting:dashboard": "the dashboard"}


def back_link(request) -> tuple[str, str]:
    """(path, title) of the page the journal was opened from (`?back=`): only a path of this
    organisation on this site, never another host or organisation (an open redirect); else ("", "")."""
    from django.urls import Resolver404, resolve
    from django.utils.http import url_has_allowed_host_and_scheme

    back = request.GET.get("back", "")
    prefix = f"/o/{request.org.slug}/"
    if not back.startswith(prefix) or not url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return "", ""
    try:
        match = resolve(back.split("?", 1)[0])
    except Resolver404:
        return "", ""
    return back, BACK_TITLES.get(match.view_name, "the previous page")
