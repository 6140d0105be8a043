"""Forms of the costs pages (choices narrowed to the organisation). Forms never save: the view hands what they read to a service."""

from __future__ import annotations

import re
from datetime import date

from django import forms

from finops.ledger.forms import ImportUploadForm, MonthField, ObjectChoiceField
from finops.ledger.models import Account, AccountType, CostCenter, Entity
from finops.tenancy.context import tenant_context

from .models import Basis, ChargeCategory, CostLedgerSettings, MappingRule, SourceFormat


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


def _ledger_choices(tenant):
    with tenant_context(tenant, savepoint=False):
        accounts = list(Account.objects.filter(active=True).order_by("code"))
        cost_centers = list(CostCenter.objects.filter(active=True).order_by("code"))
        entities = list(Entity.objects.filter(active=True).order_by("code"))
    return accounts, cost_centers, entities


class MappingRuleForm(forms.Form):
    """A mapping rule: what it matches (blank: anything; `*` for any text) and where it maps."""

    name = forms.CharField(max_length=200)
    priority = forms.IntegerField(min_value=0, max_value=1_000_000, initial=100,
                                  help_text="Lower is tried first.")
    provider = forms.CharField(max_length=200, required=False, help_text="e.g. AWS, Amazon*, Figma")
    service = forms.CharField(max_length=200, required=False)
    charge_category = forms.ChoiceField(choices=[("", "Any category"), *ChargeCategory.choices], required=False,
                                        label="Charge category")
    sub_account = forms.CharField(max_length=200, required=False, label="Sub-account",
                                  help_text="Its id or its name.")
    tag_key = forms.CharField(max_length=200, required=False, label="Tag")
    tag_value = forms.CharField(max_length=200, required=False, label="Tag value",
                                help_text="Blank: any item carrying the tag.")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, tenant, rule: MappingRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {f: getattr(rule, f) for f in (
                "name", "priority", "provider", "service", "charge_category", "sub_account", "tag_key", "tag_value",
                "active")} | {"cost_center": rule.cost_center_id, "account": rule.account_id}
        super().__init__(*args, **kwargs)
        accounts, cost_centers, _ = _ledger_choices(tenant)
        self.fields["cost_center"] = ObjectChoiceField(objects=cost_centers, blank_label="(the item's own, or unallocated)",
                                                       required=False, label="→ Cost center")
        self.fields["account"] = ObjectChoiceField(
            objects=[a for a in accounts if a.type == AccountType.EXPENSE],
            blank_label="(the item's own, or unallocated)", required=False, label="→ Account")


class CostLedgerSettingsForm(forms.Form):
    """How cost data posts to the ledger."""

    entity = forms.ChoiceField()
    basis = forms.ChoiceField(choices=Basis.choices, initial=Basis.EFFECTIVE, widget=forms.RadioSelect)
    post_from = MonthField(required=False, label="First month to post",
                           help_text="Blank: every month with cost data.")

    def __init__(self, *args, tenant, settings: CostLedgerSettings | None = None, **kwargs):
        if settings is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "entity": settings.entity_id, "basis": settings.basis,
                "accrual_account": settings.accrual_account_id, "unallocated_account": settings.unallocated_account_id,
                "unallocated_cost_center": settings.unallocated_cost_center_id,
                "post_from": f"{settings.post_from:%Y-%m}" if settings.post_from else ""}
        super().__init__(*args, **kwargs)
        accounts, cost_centers, entities = _ledger_choices(tenant)
        self.fields["entity"] = ObjectChoiceField(objects=entities, blank_label="Choose an entity…",
                                                  label="Entity that books the cost")
        self.fields["accrual_account"] = ObjectChoiceField(
            objects=[a for a in accounts if a.type == AccountType.LIABILITY], blank_label="Choose a liability…",
            label="Accrual account", help_text="Credited with each month's cost until the invoice is booked.")
        self.fields["unallocated_account"] = ObjectChoiceField(
            objects=[a for a in accounts if a.type == AccountType.EXPENSE], blank_label="Choose an expense account…",
            label="Unallocated cost to", help_text="Where cost no rule maps books until a rule claims it.")
        self.fields["unallocated_cost_center"] = ObjectChoiceField(
            objects=cost_centers, blank_label="(no cost center)", required=False, label="Unallocated cost center")
        self.order_fields(["entity", "basis", "accrual_account", "unallocated_account", "unallocated_cost_center",
                           "post_from"])


class CostRangeForm(forms.Form):
    """A month range (GET): from and to, both optional."""

    date_from = MonthField(required=False, label="From")
    date_to = MonthField(required=False, label="To")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The range starts after it ends.")
        return data
