"""The dashboard's filters, parsed from the query string. Bad values fall back to defaults
(and say so) instead of failing: a stale bookmark still opens the dashboard."""

from __future__ import annotations

from datetime import date

from django import forms

from .selectors import SPANS


class DashboardFilterForm(forms.Form):
    entity = forms.IntegerField(required=False, min_value=1)
    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
                             error_messages={"invalid": "Months are written YYYY-MM."})
    range = forms.ChoiceField(choices=list(SPANS.items()), required=False)

    def selection(self) -> dict:
        """Keyword arguments for `dashboard_get` from whatever was valid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        month = data.get("month")
        return {
            "entity_id": data.get("entity"),
            "month": date(int(month[:4]), int(month[5:7]), 1) if month else None,
            "span": data.get("range") or "12m",
        }

    def problems(self) -> list[str]:
        return [f"{name}: {message}" for name, messages in self.errors.items() for message in messages]
