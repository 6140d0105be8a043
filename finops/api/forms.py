from __future__ import annotations

from django import forms

from finops.ledger.forms import DateInput
from finops.tenancy.selectors import member_users

from .models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “warehouse sync”.")
    user = forms.ModelChoiceField(queryset=None, label="Acts as",
                                  help_text="The member whose role the token has: it can do what they may do.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, initial=[Scope.READ], widget=forms.CheckboxSelectMultiple,
                                       help_text="Read: GET only. Write: posting and every other change too.")
    expires = forms.DateField(required=False, widget=DateInput(), label="Expires after",
                              help_text="Optional: the last day it works.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = member_users(tenant=tenant)
        self.fields["user"].label_from_instance = lambda u: u.email
