"""Forms of the costs pages. Forms never save: the view hands what they read to a service."""

from __future__ import annotations

import re
from datetime import date

from django import forms

from finops.ledger.forms import ImportUploadForm

from .models import SourceFormat


class CostUploadForm(ImportUploadForm):
    """A cost file and its format: a FOCUS export, or a generic cost file."""

    source_format = forms.ChoiceField(label="Format", choices=SourceFormat.choices, initial=SourceFormat.FOCUS,
                                      widget=forms.RadioSelect)


_MONTH = re.compile(r"(\d{4})-(\d{2})")


class CostItemFilterForm(forms.Form):
    """The cost items page's filters (GET): an import, a month."""

    job = forms.IntegerField(label="Import #", required=False, min_value=1)
    month = forms.CharField(label="Month", required=False, widget=forms.TextInput(attrs={"type": "month"}))

    def clean_month(self) -> date | None:
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        match = _MONTH.fullmatch(text)
        try:
            return date(int(match[1]), int(match[2]), 1) if match else None
        except ValueError:
            pass
        raise forms.ValidationError("Enter a month as YYYY-MM.")
