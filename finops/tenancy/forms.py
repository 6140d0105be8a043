"""Forms of the account pages (sign-in, invitations) and the organisation's own pages."""

from __future__ import annotations

import calendar

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.shortcuts import render

from finops.ledger.money import currency_choices

from .permissions import Role

MONTHS = [(n, calendar.month_name[n]) for n in range(1, 13)]


# --- django-axes hooks (settings.AXES_USERNAME_CALLABLE / AXES_LOCKOUT_CALLABLE) -----------------

def axes_username(request, credentials) -> str:
    """Count failures per e-mail whatever its case or surrounding blanks, so "Ann@x" and
    "ann@x " share one budget of attempts."""
    value = (credentials or {}).get("username")
    if value is None:
        value = getattr(request, "POST", {}).get("username", "")
    return str(value or "").strip().lower()


def axes_lockout_response(request, original_response=None, credentials=None):
    """The lockout page (429) with the cool-off in words."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(request, settings.AXES_LOCKOUT_TEMPLATE,
                  {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}, status=429)


class Form(forms.Form):
    """Labels without Django's trailing colon: the layout sets labels apart already."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# --- accounts ------------------------------------------------------------------------------------

class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with e-mail and password. The field keeps Django's name `username`, which is what
    django-axes reads to throttle per user and IP address."""

    username = forms.EmailField(
        label="E-mail", max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "placeholder": "you@company.com"}),
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail and password do not match an account. Check both and try again.",
        "inactive": "This account is disabled. Ask an admin of your organisation.",
    }


class EmailPasswordResetForm(PasswordResetForm):
    """Django's form finds the account; its e-mail goes through the site's outbox
    (`finops/tenancy/messages.py` builds it, with a fresh token, when it is sent)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        from finops.notifications.outbox import Outgoing, send_after_commit, site_outbox_queue

        from .messages import PASSWORD_RESET

        delivery = site_outbox_queue(kind=PASSWORD_RESET, item=Outgoing(recipient=to_email, ref=context["user"].pk))
        send_after_commit(kind=PASSWORD_RESET, ids=[delivery.pk])

    email = forms.EmailField(
        label="E-mail", max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class NewPasswordForm(SetPasswordForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NewAccountForm(Form):
    """Set a password to create the account an invitation is addressed to."""

    password1 = forms.CharField(label="Choose a password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Repeat it", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            User = get_user_model()
            try:
                password_validation.validate_password(first, User(username=self.email, email=self.email))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


# --- organisation pages ---------------------------------------------------------------------------

class OrganizationSettingsForm(Form):
    name = forms.CharField(max_length=200)
    reporting_currency = forms.ChoiceField(label="Reporting currency",
                                           help_text="Consolidated figures are translated into it.")
    fiscal_year_start = forms.TypedChoiceField(
        label="Fiscal year starts in", choices=MONTHS, coerce=int,
        help_text="Fixed once the ledger has periods.",
    )

    def __init__(self, *args, editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        # Currencies in circulation, and the one the organisation reports in already (kept valid).
        self.fields["reporting_currency"].choices = currency_choices(keep=self.initial.get("reporting_currency", ""))
        if not editable:
            for field in self.fields.values():
                field.disabled = True

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("The organisation needs a name.")
        return name


class InviteForm(Form):
    email = forms.EmailField(label="E-mail", max_length=254,
                             widget=forms.EmailInput(attrs={"placeholder": "colleague@company.com",
                                                            "autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(Form):
    role = forms.ChoiceField(choices=Role.choices)


class AuditFilterForm(Form):
    action = forms.CharField(required=False, max_length=60)
    object_type = forms.CharField(required=False, max_length=60, label="Object type")
    cursor = forms.RegexField(regex=r"^[ab]\d{1,20}_\d{1,19}$", required=False)  # see org.audit

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"action": data.get("action") or "", "object_type": data.get("object_type") or "",
                "cursor": data.get("cursor") or ""}
