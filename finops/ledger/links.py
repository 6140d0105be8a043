"""Addresses of ledger pages that other apps link to, so the journal's query string is spelled in
one place (the filters of `ledger.forms.JournalFilterForm`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse


def journal_lines_path(*, org_slug: str, entity_id: int | None = None, account_id: int | None = None,
                       cost_center_id: int | None = None, start: date, end: date) -> str:
    """The journal filtered to the lines behind an actual: entity, account, cost center (each when
    given) and the months from `start` to `end` (inclusive)."""
    params = [(name, value) for name, value in (("entity", entity_id), ("account", account_id),
                                                 ("cost_center", cost_center_id)) if value]
    params += [("period_from", f"{start:%Y-%m}"), ("period_to", f"{end:%Y-%m}")]
    return reverse("ledger:journal", kwargs={"org_slug": org_slug}) + "?" + urlencode(params)
