"""The recipient's form: one choice per message kind (immediately, daily digest, off)."""

from __future__ import annotations

from django import forms

from .models import Mode

CHOOSE = "Choose immediately, daily digest or off."


class PreferencesForm(forms.Form):
    """One choice per message kind a recipient has a say in."""

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind.name] = forms.ChoiceField(
                choices=Mode.choices, widget=forms.RadioSelect, label=f"Send me {kind.label.lower()}",
                error_messages={"required": CHOOSE, "invalid_choice": CHOOSE})
