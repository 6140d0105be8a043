"""Forms of the budget pages. Every choice is narrowed to the organisation (the form takes
`tenant`), so a POST cannot name another company's entity, account or cost center."""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings

from finops.ledger.models import Account, CostCenter, Entity
from finops.ledger.periods import fiscal_year_label

from .services import BUDGET_ACCOUNT_TYPES, SPREAD_METHODS

MONTH_CHOICES = [(n, f"M{n}") for n in range(1, 13)]


class BudgetCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    entity = forms.ModelChoiceField(queryset=None, label="Entity")
    fiscal_year = forms.IntegerField(min_value=1901, max_value=2999, label="Fiscal year",
                                     help_text="Labelled by the calendar year in which it ends.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].queryset = Entity.objects.filter(tenant_id=tenant.pk, active=True).order_by("code")
        if not self.is_bound:
            self.initial.setdefault("fiscal_year", fiscal_year_label(
                start_month=tenant.fiscal_year_start_month, d=date.today()) + 1)


class RowPickForm(forms.Form):
    """Add a row to the grid: a revenue or expense account × a cost center (or none)."""

    account = forms.ModelChoiceField(queryset=None, label="Account")
    cost_center = forms.ModelChoiceField(queryset=None, required=False, label="Cost center",
                                         empty_label="(no cost center)")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.filter(
            tenant_id=tenant.pk, active=True, type__in=BUDGET_ACCOUNT_TYPES).order_by("code")
        self.fields["cost_center"].queryset = CostCenter.objects.filter(tenant_id=tenant.pk, active=True).order_by("code")


class SpreadForm(forms.Form):
    """One row's phasing tool (see `services.budget_line_spread`)."""

    row = forms.CharField(label="Row", help_text="account:cost center")
    method = forms.ChoiceField(label="Method", choices=[
        ("even", "Annual amount, evenly"), ("profile", "Annual amount by a % profile"),
        ("last_year", "Annual amount by last year's actual pattern"),
        ("copy_last_year", "Copy last year's actuals ± %"), ("fill_right", "Fill right from a month")])
    annual = forms.CharField(required=False, label="Annual amount")
    profile = forms.CharField(required=False, label="Profile (12 %, comma or space separated)")
    pct = forms.DecimalField(required=False, label="Change %", max_digits=7, decimal_places=2)
    start = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=MONTH_CHOICES,
                                   label="From month")

    def clean_method(self):
        method = self.cleaned_data["method"]
        assert method in SPREAD_METHODS
        return method

    def clean_row(self):
        text = self.cleaned_data["row"]
        account, _, cc = text.partition(":")
        if not account.isdigit() or (cc and not cc.isdigit()):
            raise forms.ValidationError("Pick a row of the grid.")
        return int(account), int(cc) if cc else None

    def clean_profile(self):
        text = self.cleaned_data["profile"].replace(",", " ").replace("%", " ")
        from decimal import Decimal, InvalidOperation
        try:
            return [Decimal(p) for p in text.split()]
        except InvalidOperation:
            raise forms.ValidationError("The profile is 12 percentages such as 5 5 10 10 …") from None

    def clean(self):
        data = super().clean()
        method = data.get("method")
        if method in ("even", "profile", "last_year") and not (data.get("annual") or "").strip():
            self.add_error("annual", "Give the annual amount to spread.")
        if method == "fill_right" and not data.get("start"):
            self.add_error("start", "Pick the month to copy to the right.")
        return data


class BudgetUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="The downloaded template (XLSX), or CSV with columns entity, account, cost_center, period, amount. "
                  "All cells are checked first: if any is wrong, nothing is imported and every bad cell is named.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"The file is {upload.size / 1e6:,.1f} MB; the limit is "
                                        f"{settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB.")
        return upload


class RejectForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why is it rejected?",
                              help_text="Required: the author works from this comment.")
