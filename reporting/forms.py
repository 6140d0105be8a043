"""The dashboard's filters, parsed from the query string. Bad values fall back to defaults
(and say so) instead of failing: a stale bookmark still opens the dashboard."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from finops import bounds
from finops.ledger.periods import month_end

from .selectors import SPANS, future_month_message


class DashboardFilterForm(forms.Form):
    entity = forms.IntegerField(required=False, min_value=1)
    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
                             error_messages={"invalid": "Months are written YYYY-MM."})
    range = forms.ChoiceField(choices=list(SPANS.items()), required=False)

    def __init__(self, data=None, *args, today: date | None = None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.today = today or timezone.localdate()

    def clean_month(self):
        """The month as its first day; one with no day inside the date window is refused, so
        the dashboard's month arithmetic (a year back, a month ahead) stays in the calendar, and
        so is one after the current month (it has not begun)."""
        text = self.cleaned_data["month"]
        if not text:
            return None
        first = date(max(int(text[:4]), 1), int(text[5:7]), 1)  # year 0000: no date, outside too
        if problem := bounds.month_problem(first, month_end(first), text=text, what=""):
            raise forms.ValidationError(problem)
        if first > self.today.replace(day=1):
            raise forms.ValidationError(future_month_message(first, today=self.today))
        return first

    def selection(self) -> dict:
        """Keyword arguments for `dashboard_get` from whatever was valid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "entity_id": data.get("entity"),
            "month": data.get("month"),
            "span": data.get("range") or "12m",
        }

    def problems(self) -> list[str]:
        return [f"{name}: {message}" for name, messages in self.errors.items() for message in messages]
