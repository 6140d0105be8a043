from __future__ import annotations

from django import forms

from .events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.URLField(max_length=2000, label="URL", assume_scheme="https",
                         help_text="Where events are POSTed as JSON, signed (Standard Webhooks).")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(choices=list(EVENT_TYPES.items()), required=False,
                                            widget=forms.CheckboxSelectMultiple, label="Events",
                                            help_text="None ticked: every event.")
