"""Forms of the ledger pages. Every form takes `tenant` and offers only that tenant's rows, so a
POST cannot name another organisation's account, cost center or entity: a foreign id is simply
"not one of the available choices"."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory

from finops import bounds
from finops.imports import NUMBER_HINT, parse_typed_amount
from finops.tenancy.context import tenant_context
from finops.tenancy.selectors import member_users

from .models import Account, AccountType, CostCenter, Entity, FxRateKind, Period, Source
from .money import active_currency_problem, is_valid_currency, minor_units
from .selectors import JournalFilters
from .services import LineSpec

MAX_ENTRY_LINES = 500


class ObjectChoiceField(forms.ChoiceField):
    """A choice among objects already loaded (one query for the whole form or formset, not
    one per row); cleans to the object itself."""

    def __init__(self, *, objects, blank_label: str = "—", label_from=str, **kwargs):
        self.objects = {str(o.pk): o for o in objects}
        choices = [("", blank_label)] + [(str(o.pk), label_from(o)) for o in objects]
        super().__init__(choices=choices, **kwargs)

    def to_python(self, value):
        return "" if value in self.empty_values else str(value)

    def clean(self, value):
        value = super().clean(value)
        return self.objects.get(value) if value else None


class AmountField(forms.DecimalField):
    """A positive amount as people type it: "1,234.50" and " 1 234.50 " are accepted, read like
    an imported one (`finops.imports.parse_amount`: digits only, within the limit). Its decimals
    depend on the currency, which the line form knows (`LineForm.clean`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "amount"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = re.sub(r"[\s\u00a0]", "", str(value))
        if not text:
            return None
        parsed = parse_typed_amount(text, places=None)
        if parsed == NUMBER_HINT:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if isinstance(parsed, str):
            raise ValidationError(f"{text} {parsed}.", code="invalid")
        return parsed


class CurrencyCodeField(forms.CharField):
    """An ISO 4217 code as typed. `active_only` (for new rows): only currencies in circulation."""

    def __init__(self, *, active_only: bool = False, **kwargs):
        kwargs.setdefault("max_length", 3)
        self.active_only = active_only
        super().__init__(**kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").strip().upper()
        if value and not is_valid_currency(value):
            raise ValidationError(f"{value} is not an ISO 4217 currency code.")
        if value and self.active_only and (problem := active_currency_problem(value)):
            raise ValidationError(problem)
        return value


class MonthField(forms.CharField):
    """"2026-03" (an <input type=month>) → date(2026, 3, 1)."""

    widget = forms.TextInput(attrs={"type": "month"})

    def clean(self, value):
        value = (super().clean(value) or "").strip()
        if not value:
            return None
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) == 0:
            raise ValidationError("Enter a month as YYYY-MM.")
        return date(int(match[1]), int(match[2]), 1)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# --- the journal ----------------------------------------------------------------------------

class JournalFilterForm(forms.Form):
    period = forms.ModelChoiceField(queryset=None, required=False, empty_label="All periods")
    entity = forms.ModelChoiceField(queryset=None, required=False, empty_label="All entities")
    account = forms.ModelChoiceField(queryset=None, required=False, empty_label="All accounts")
    cost_center = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All cost centers"
    )
    # A range of months (inclusive), e.g. a budget-vs-actual year-to-date figure drilled down.
    period_from = MonthField(required=False, label="From month")
    period_to = MonthField(required=False, label="To month")
    source = forms.ChoiceField(choices=[("", "All sources"), *Source.choices], required=False)
    q = forms.CharField(required=False, max_length=100, label="Search",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Memo, reference or JE-123"}))

    def __init__(self, data=None, *args, tenant, **kwargs):
        # One way to choose months on the page (From / To); an address with `period=<id>` (older
        # links) is shown as that month in both.
        if data is not None and data.get("period") and not (data.get("period_from") or data.get("period_to")):
            with tenant_context(tenant, savepoint=False):
                start = Period.objects.filter(pk=data["period"]).values_list("start", flat=True).first() \
                    if str(data["period"]).isdigit() else None
            if start is not None:
                data = data.copy()
                data["period_from"] = data["period_to"] = f"{start:%Y-%m}"
                data.pop("period")
        super().__init__(data, *args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["period"].queryset = Period.objects.order_by("-start")
            self.fields["period"].label_from_instance = lambda p: f"{p.label} · FY{p.fiscal_year} P{p.number}"
            self.fields["entity"].queryset = Entity.objects.order_by("code")
            self.fields["account"].queryset = Account.objects.order_by("code")
            self.fields["cost_center"].queryset = CostCenter.objects.order_by("code")

    def filters(self) -> JournalFilters:
        """The valid part of what was asked (an unknown id is reported on the field and ignored)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return JournalFilters(
            period=data.get("period"), account=data.get("account"), cost_center=data.get("cost_center"),
            entity=data.get("entity"), source=data.get("source") or "", q=data.get("q") or "",
            period_from=data.get("period_from"), period_to=data.get("period_to"),
        )


# --- manual entries -------------------------------------------------------------------------

class EntryForm(forms.Form):
    entity = forms.ModelChoiceField(queryset=None, empty_label="Choose an entity…")
    date = forms.DateField(widget=DateInput())
    memo = forms.CharField(max_length=500, required=False)
    reference = forms.CharField(max_length=100, required=False)
    # Drawn when the form is first shown and kept across re-renders: submitting the same form
    # twice (a double click, a resent POST) posts one entry.
    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["entity"].queryset = Entity.objects.filter(active=True).order_by("code")

    def clean_date(self):
        value = self.cleaned_data["date"]
        if problem := bounds.date_problem(value):
            raise ValidationError(problem)
        return value

    def clean_key(self):
        key = self.cleaned_data.get("key") or ""
        return key if re.fullmatch(r"[0-9a-f]{32}", key) else uuid.uuid4().hex

    def idempotency_key(self) -> str:
        return f"manual-form:{self.cleaned_data['key']}"


class LineForm(forms.Form):
    account = forms.ChoiceField()
    cost_center = forms.ChoiceField(required=False)
    debit = AmountField()
    credit = AmountField()
    memo = forms.CharField(max_length=500, required=False)
    currency = CurrencyCodeField(required=False, widget=forms.TextInput(
        attrs={"size": 3, "placeholder": "own", "class": "ccy", "autocomplete": "off"}))

    def __init__(self, *args, accounts, cost_centers, functional_currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.functional_currency = functional_currency  # of the entity chosen, if known
        self.fields["account"] = ObjectChoiceField(objects=accounts, blank_label="Account…", required=False)
        self.fields["cost_center"] = ObjectChoiceField(objects=cost_centers, blank_label="—", required=False)
        number = (self.prefix or "").rsplit("-", 1)[-1]
        line = int(number) + 1 if number.isdigit() else ""
        for name, field_ in self.fields.items():
            field_.widget.attrs["aria-label"] = f"Line {line} {name.replace('_', ' ')}".replace("  ", " ")

    def clean(self):
        data = super().clean()
        debit, credit = data.get("debit"), data.get("credit")
        if self.errors:
            return data
        if not data.get("account"):
            self.add_error("account", "Choose an account.")
        if debit and credit:
            self.add_error("credit", "Enter a debit or a credit, not both.")
        elif not debit and not credit:
            self.add_error("debit", "Enter a debit or a credit.")
        currency = data.get("currency") or self.functional_currency
        for name in ("debit", "credit"):
            value = data.get(name)
            if value and currency and (problem := bounds.amount_problem(value, places=minor_units(currency),
                                                                         currency=currency)):
                typed = re.sub(r"[\s\u00a0]", "", str(self.data.get(self.add_prefix(name), "")))
                self.add_error(name, f"{typed} {problem}.")
        return data

    def amount(self) -> Decimal:
        """The signed amount: debit positive, credit negative."""
        return self.cleaned_data.get("debit") or -(self.cleaned_data.get("credit") or Decimal(0))


class BaseLineFormSet(BaseFormSet):
    """Every row may be left blank (blank rows are ignored); rows never count as "initial", so
    a page re-rendered with what the user typed posts back the same way as a fresh one."""

    def initial_form_count(self):
        return 0 if not self.is_bound else super().initial_form_count()

    def filled_forms(self) -> list[LineForm]:
        return [f for f in self.forms if f.has_changed()]

    def clean(self):
        if any(self.errors):
            return
        if len(self.filled_forms()) < 2:
            raise ValidationError("An entry needs at least two lines.")

    def line_specs(self) -> list[LineSpec]:
        return [
            LineSpec(
                account_id=f.cleaned_data["account"].pk,
                cost_center_id=f.cleaned_data["cost_center"].pk if f.cleaned_data.get("cost_center") else None,
                amount=f.amount(),
                currency=f.cleaned_data.get("currency") or None,
                memo=f.cleaned_data.get("memo") or "",
            )
            for f in self.filled_forms()
        ]


def _functional_currency(tenant, data) -> str:
    """The functional currency of the entity `data` names, "" when it names none of the tenant's."""
    entity_id = str((data or {}).get("entity") or "")
    if not entity_id.isdigit():
        return ""
    with tenant_context(tenant, savepoint=False):
        return str(Entity.objects.filter(pk=int(entity_id)).values_list("functional_currency", flat=True).first() or "")


def line_formset(*, tenant, data=None, rows: int = 4, initial=None):
    """The lines of an entry: bound to `data`, or `rows` blank rows (pre-filled from `initial`)."""
    with tenant_context(tenant, savepoint=False):
        accounts = list(Account.objects.filter(active=True).order_by("code"))
        cost_centers = list(CostCenter.objects.filter(active=True).order_by("code"))
    functional = _functional_currency(tenant, data)
    formset_class = formset_factory(
        LineForm, formset=BaseLineFormSet, extra=rows, max_num=MAX_ENTRY_LINES, validate_max=True,
        absolute_max=MAX_ENTRY_LINES,
    )
    return formset_class(
        data=data, initial=initial, prefix="lines",
        form_kwargs={"accounts": accounts, "cost_centers": cost_centers, "functional_currency": functional},
    )


def line_form(*, tenant, index: int) -> LineForm:
    """One blank row, numbered `index`, for "Add line"."""
    formset = line_formset(tenant=tenant, rows=0)
    return LineForm(prefix=f"lines-{index}", empty_permitted=True, use_required_attribute=False,
                    **formset.form_kwargs)


def raw_lines(data) -> list[dict]:
    """What was typed in each row, as strings, for re-showing the form (no validation)."""
    try:
        total = min(int(data.get("lines-TOTAL_FORMS", 0)), MAX_ENTRY_LINES)
    except (TypeError, ValueError):
        total = 0
    names = ("account", "cost_center", "debit", "credit", "memo", "currency")
    return [{name: data.get(f"lines-{i}-{name}", "") for name in names} for i in range(total)]


def parse_amount(text: str) -> Decimal | None:
    """What was typed as a number, read as the form will read it; None when it is not one (or
    does not fit), so the preview never sums what posting would refuse."""
    parsed = parse_typed_amount(text)
    return parsed if isinstance(parsed, Decimal) else None


class ReverseForm(forms.Form):
    date = forms.DateField(required=False, widget=DateInput(),
                           help_text="Leave empty to reverse on the original date.")


# --- master data ----------------------------------------------------------------------------

class AccountForm(forms.Form):
    code = forms.CharField(max_length=20)
    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=AccountType.choices)
    parent = forms.ChoiceField(required=False)
    is_intercompany = forms.BooleanField(required=False, label="Intercompany")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, tenant, account: Account | None = None, **kwargs):
        if account is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": account.code, "name": account.name, "type": account.type, "parent": account.parent_id,
                "is_intercompany": account.is_intercompany, "active": account.active,
            }
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            parents = Account.objects.order_by("code")
            if account is not None:
                parents = parents.exclude(pk=account.pk)
            self.fields["parent"] = ObjectChoiceField(objects=list(parents), blank_label="(top level)",
                                                      required=False)

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class CostCenterForm(forms.Form):
    code = forms.CharField(max_length=20)
    name = forms.CharField(max_length=200)
    parent = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, tenant, cost_center: CostCenter | None = None, **kwargs):
        if cost_center is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": cost_center.code, "name": cost_center.name, "parent": cost_center.parent_id,
                "owner": cost_center.owner_id, "active": cost_center.active,
            }
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            parents = CostCenter.objects.order_by("code")
            if cost_center is not None:
                parents = parents.exclude(pk=cost_center.pk)
            parents = list(parents)
        members = list(member_users(tenant=tenant))
        self.fields["parent"] = ObjectChoiceField(objects=parents, blank_label="(top level)", required=False)
        self.fields["owner"] = ObjectChoiceField(objects=members, blank_label="(no owner)", required=False,
                                                 label_from=lambda u: u.email)

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class EntityForm(forms.Form):
    code = forms.CharField(max_length=20)
    name = forms.CharField(max_length=200)
    functional_currency = CurrencyCodeField(label="Functional currency", active_only=True,
                                            widget=forms.TextInput(attrs={"size": 3, "placeholder": "USD"}))

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class FiscalYearForm(forms.Form):
    # Which years may be created is the date window's to say (`periods.fiscal_year_ensure`).
    fiscal_year = forms.IntegerField(label="Fiscal year", help_text="Labelled by the calendar year in which it ends.")


class FxRateForm(forms.Form):
    date = forms.DateField(widget=DateInput(),
                           help_text="Average rates are filed under their month, closing rates on its last day.")
    from_currency = CurrencyCodeField(label="From", widget=forms.TextInput(attrs={"size": 3, "placeholder": "EUR"}))
    to_currency = CurrencyCodeField(label="To", widget=forms.TextInput(attrs={"size": 3, "placeholder": "USD"}))
    rate = forms.DecimalField(max_digits=24, decimal_places=10, min_value=Decimal("0.0000000001"),
                              help_text="1 unit of From in To.")
    kind = forms.ChoiceField(choices=FxRateKind.choices, initial=FxRateKind.AVERAGE)

    def clean(self):
        data = super().clean()
        if data.get("from_currency") and data.get("from_currency") == data.get("to_currency"):
            self.add_error("to_currency", "Choose a currency different from the first one.")
        return data


class FxFilterForm(forms.Form):
    month = MonthField(required=False)
    from_currency = CurrencyCodeField(required=False, label="From",
                                      widget=forms.TextInput(attrs={"size": 3, "placeholder": "any"}))
    to_currency = CurrencyCodeField(required=False, label="To",
                                    widget=forms.TextInput(attrs={"size": 3, "placeholder": "any"}))
    kind = forms.ChoiceField(choices=[("", "Any kind"), *FxRateKind.choices], required=False)

    def values(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"month": data.get("month"), "from_currency": data.get("from_currency") or "",
                "to_currency": data.get("to_currency") or "", "kind": data.get("kind") or ""}


@dataclass
class TypedTotals:
    """The running totals of an entry being typed (for the form's preview; posting re-checks)."""

    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    lines: int = 0
    currencies: list[str] = field(default_factory=list)
    unreadable: int = 0  # amounts that are not numbers yet

    @property
    def difference(self) -> Decimal:
        return self.debit - self.credit

    @property
    def currency(self) -> str:
        return self.currencies[0] if len(self.currencies) == 1 else ""

    @property
    def mixed(self) -> bool:
        return len(self.currencies) > 1

    @property
    def balanced(self) -> bool:
        return self.lines >= 2 and not self.mixed and not self.unreadable and self.difference == 0


def typed_totals(*, tenant, data) -> TypedTotals:
    """Sum what was typed, row by row, leniently: nothing here is validated or saved."""
    functional = _functional_currency(tenant, data)
    totals = TypedTotals()
    currencies = set()
    for row in raw_lines(data):
        typed = [row["debit"].strip(), row["credit"].strip()]
        if not any(typed):
            continue
        totals.lines += 1
        currencies.add(row["currency"].strip().upper() or functional or "—")
        debit, credit = (parse_amount(t) if t else Decimal(0) for t in typed)
        if debit is None or credit is None:
            totals.unreadable += 1
            continue
        totals.debit += debit
        totals.credit += credit
    totals.currencies = sorted(currencies)
    return totals


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV (UTF-8) or XLSX, header on line 1. All rows are checked first: if any is wrong, "
                  "nothing is imported and every problem is listed with its line number.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-"
                                                         "officedocument.spreadsheetml.sheet"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:,.1f} MB; the limit is {settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB. "
                "Split it into several files.")
        return upload
