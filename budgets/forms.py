"""Forms of the budget pages. Every choice is narrowed to the organisation one way: the form
takes `tenant` and builds its choices from the fail-closed managers inside `tenant_context`, so
a POST cannot name another company's entity, account, cost center or version."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings

from finops.errors import DomainError
from finops.imports import parse_amount
from finops.ledger.forms import DateInput, MonthField
from finops.ledger.models import Account, AccountType, CostCenter, Entity, Period
from finops.ledger.periods import fiscal_year_label
from finops.tenancy.context import tenant_context
from finops.tenancy.selectors import member_users

from .alerts.rules import MAX_EXTRA_RECIPIENTS
from .consolidation import GROUP_BY_CHOICES as CONSOLIDATED_GROUP_BY
from .models import FINAL_STATUSES, Budget, BudgetVersion, TransferStatus
from .reports import GROUP_BY_CHOICES, SORTS, RowView
from .services.budgets import BUDGET_ACCOUNT_TYPES
from .services.cells import SPREAD_METHODS
from .transfers.selectors import LineFunds, TransferFilters, transfer_line_pick, transfer_partner_types
from .variance import Basis

MONTH_CHOICES = [(n, f"M{n}") for n in range(1, 13)]


class BudgetCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    entity = forms.ModelChoiceField(queryset=None, label="Entity")
    fiscal_year = forms.IntegerField(min_value=1901, max_value=2999, label="Fiscal year",
                                     help_text="Labelled by the calendar year in which it ends.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["entity"].queryset = Entity.objects.filter(active=True).order_by("code")
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
        with tenant_context(tenant, savepoint=False):
            self.fields["account"].queryset = Account.objects.filter(
                active=True, type__in=BUDGET_ACCOUNT_TYPES).order_by("code")
            self.fields["cost_center"].queryset = CostCenter.objects.filter(active=True).order_by("code")


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
        numbers = [parse_amount(p, places=None) for p in text.split()]
        if any(isinstance(n, str) for n in numbers):  # not a plain number ("1e9", "NaN"), or too large
            raise forms.ValidationError("The profile is 12 percentages such as 5 5 10 10 …")
        return numbers

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


# --- variance-alert rules -----------------------------------------------------------------------
# The forms parse what was typed; the rules (scope coherent, a threshold at least, valid
# addresses, unique name…) are the service's (`alert_rules`), whose messages the view puts next
# to the fields they name.

MAX_RULE_THRESHOLDS = 20


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label="Name")
    budget = forms.ModelChoiceField(queryset=None, required=False, label="Budget", empty_label="Choose a budget…",
                                    help_text="Its version in force (approved or locked), else its newest.")
    scope = forms.ChoiceField(label="Watch", required=False)
    cost_center = forms.ModelChoiceField(queryset=None, required=False, label="Cost center",
                                         empty_label="Choose a cost center…",
                                         help_text="The cost center and every cost center under it.")
    account_type = forms.ChoiceField(required=False, label="Account type",
                                     choices=[("", "Choose…"), ("expense", "Expense"), ("revenue", "Revenue")])
    account = forms.ModelChoiceField(queryset=None, required=False, label="Account", empty_label="Choose an account…")
    basis = forms.ChoiceField(label="Compare", required=False)
    recipient_roles = forms.MultipleChoiceField(required=False, label="Members with the role",
                                                widget=forms.CheckboxSelectMultiple)
    notify_cost_center_owners = forms.BooleanField(required=False, label="The owner of the line's cost center",
                                                   help_text="Or of its nearest parent with an owner.")
    extra_recipients = forms.CharField(required=False, label="Other addresses",
                                       widget=forms.Textarea(attrs={"rows": 3, "placeholder": "cfo@example.com"}),
                                       help_text=f"One per line, or separated by commas; at most "
                                                 f"{MAX_EXTRA_RECIPIENTS}.")
    delivery = forms.ChoiceField(label="Send", required=False, widget=forms.RadioSelect)
    unfavourable_only = forms.BooleanField(
        required=False, label="Only variances worse than plan",
        help_text="Variance thresholds then ignore revenue above and expense below budget.")

    def __init__(self, *args, tenant, **kwargs):
        from finops.ledger.selectors import cost_center_tree
        from finops.tenancy.permissions import Role

        from .models import AlertBasis, AlertDeliveryMode, AlertScope, Budget

        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["budget"].queryset = Budget.objects.select_related("entity").order_by("-fiscal_year", "name")
            self.fields["cost_center"].queryset = CostCenter.objects.filter(active=True)
            self.fields["account"].queryset = Account.objects.filter(
                active=True, type__in=BUDGET_ACCOUNT_TYPES).order_by("code")
        self.fields["scope"].choices = AlertScope.choices
        self.fields["basis"].choices = AlertBasis.choices
        self.fields["delivery"].choices = AlertDeliveryMode.choices
        self.fields["recipient_roles"].choices = Role.choices
        tree = [n for n in cost_center_tree(tenant=tenant) if n.obj.active]
        depth = {n.obj.pk: n.depth for n in tree}
        cc = self.fields["cost_center"]
        # Depth-first with an indent per level, so the select shows the tree.
        cc.choices = [("", cc.empty_label)] + [
            (n.obj.pk, "\u00a0\u00a0\u00a0\u00a0" * depth[n.obj.pk] + f"{n.obj.code} · {n.obj.name}") for n in tree]
        self.fields["account"].label_from_instance = lambda a: f"{a.code} · {a.name}"
        if not self.is_bound:
            self.initial.setdefault("scope", AlertScope.ORGANIZATION)
            self.initial.setdefault("basis", AlertBasis.MONTH)
            self.initial.setdefault("delivery", AlertDeliveryMode.IMMEDIATE)
            self.initial.setdefault("recipient_roles", [Role.FINANCE])


class _TypedNumberField(forms.DecimalField):
    """A number as people type it ("2,500", " 80 "); its range and decimals are the service's
    to judge, so the message says what the number is for."""

    def __init__(self, **kwargs):
        super().__init__(required=False, widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "size": kwargs.pop("size")}), **kwargs)

    def to_python(self, value):
        """Read like every typed amount (`finops.imports.parse_amount`): "2,500" is 2500, "2,50"
        is not a number rather than 250."""
        if value in self.empty_values:
            return None
        parsed = parse_amount(re.sub(r"[\s\u00a0]", "", str(value)), places=None)
        if parsed is None or isinstance(parsed, str):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class ThresholdForm(forms.Form):
    kind = forms.ChoiceField(required=False, label="Kind", choices=[
        ("consumed_pct", "Budget consumed ≥ %"), ("variance", "Variance beyond ± % and/or ± amount")])
    pct = _TypedNumberField(label="%", size=7)
    amount = _TypedNumberField(label="Amount", size=10)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        number = (self.prefix or "").rsplit("-", 1)[-1]
        row = int(number) + 1 if number.isdigit() else ""
        for field_ in self.fields.values():
            field_.widget.attrs["aria-label"] = f"Threshold {row} {field_.label}"

    def is_blank(self) -> bool:
        """No percentage and no amount typed: an unused row (the kind alone does not count)."""
        return not (self.data.get(self.add_prefix("pct"), "").strip()
                    or self.data.get(self.add_prefix("amount"), "").strip())


class BaseThresholdFormSet(forms.BaseFormSet):
    """Blank rows are ignored; rows never count as "initial", so a page re-rendered with what was
    typed posts back the same way as a fresh one."""

    def initial_form_count(self):
        return 0 if not self.is_bound else super().initial_form_count()

    def filled_forms(self) -> list[ThresholdForm]:
        return [f for f in self.forms if not f.is_blank()]


def threshold_formset(*, data=None, initial=None, extra: int = 2):
    """The thresholds of a rule: bound to `data`, or `initial` rows plus `extra` blank ones."""
    rows = min(len(initial or []) + extra, MAX_RULE_THRESHOLDS)
    formset_class = forms.formset_factory(ThresholdForm, formset=BaseThresholdFormSet, extra=rows,
                                          max_num=MAX_RULE_THRESHOLDS, validate_max=True,
                                          absolute_max=MAX_RULE_THRESHOLDS)
    return formset_class(data=data, initial=initial, prefix="thresholds")


# --- budget vs actual --------------------------------------------------------------------------

DEFAULT_GROUP_BY = ("account", "cost_center")


class VarianceFilterForm(forms.Form):
    month = MonthField(required=False, label="Month")
    basis = forms.ChoiceField(choices=[(Basis.MONTH, "Month"), (Basis.QTD, "Quarter to date"),
                                       (Basis.YTD, "Year to date"), (Basis.FULL_YEAR, "Full year")],
                              required=False, initial=Basis.MONTH)
    group_by = forms.MultipleChoiceField(
        choices=[(g, g.replace("_", " ").capitalize()) for g in GROUP_BY_CHOICES], required=False,
        widget=forms.CheckboxSelectMultiple, label="Group by", initial=list(DEFAULT_GROUP_BY))
    cost_center = forms.ModelChoiceField(queryset=None, required=False, empty_label="All cost centers",
                                         label="Cost center (and below)")
    account_type = forms.ChoiceField(choices=[("", "Revenue and expense"), (AccountType.REVENUE, "Revenue"),
                                              (AccountType.EXPENSE, "Expense")], required=False,
                                     label="Account type")
    rollup = forms.BooleanField(required=False, label="Account groups")
    show = forms.ChoiceField(choices=[("all", "All lines"), ("unfavourable", "Unfavourable"),
                                      ("favourable", "Favourable"), ("unbudgeted", "Unbudgeted")],
                             required=False, label="Show")
    search = forms.CharField(required=False, max_length=100, label="Find",
                             widget=forms.TextInput(attrs={"type": "search", "placeholder": "Account or cost center"}))
    sort = forms.ChoiceField(choices=[(f"{d}{k}", k) for k in SORTS for d in ("", "-")], required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["cost_center"].queryset = CostCenter.objects.order_by("code")

    def choices(self, *, default_month: date) -> dict:
        """The valid part of what was asked, defaults for the rest (a bad field shows its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        view = RowView(rollup=bool(data.get("rollup")), sort=data.get("sort") or "", show=data.get("show") or "all",
                       search=data.get("search") or "")
        return {"period": data.get("month") or default_month, "basis": data.get("basis") or Basis.MONTH,
                "group_by": data.get("group_by") or DEFAULT_GROUP_BY, "cost_center": data.get("cost_center"),
                "account_type": data.get("account_type") or None, "view": view}


class ConsolidatedFilterForm(forms.Form):
    """Consolidated budget vs actual: which fiscal year, month and basis, grouped how, which budgets."""

    fiscal_year = forms.IntegerField(required=False, min_value=1990, max_value=2200, label="Fiscal year")
    month = MonthField(required=False, label="Month")
    basis = VarianceFilterForm.base_fields["basis"]
    group_by = forms.MultipleChoiceField(
        choices=[(g, g.replace("_", " ").capitalize()) for g in CONSOLIDATED_GROUP_BY], required=False,
        widget=forms.CheckboxSelectMultiple, label="Group by", initial=["account"])
    budget = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Budgets",
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, tenant, budgets, **kwargs):
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            self.fields["budget"].queryset = Budget.objects.filter(pk__in=[b.pk for b in budgets])
        self.fields["budget"].label_from_instance = lambda b: f"{b.name} ({b.entity.code})"

    def choices(self, *, default_year: int) -> dict:
        """The valid part of what was asked, defaults for the rest (a bad field shows its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"fiscal_year": data.get("fiscal_year") or default_year, "month": data.get("month"),
                "basis": data.get("basis") or Basis.MONTH, "group_by": data.get("group_by") or ["account"],
                "budgets": list(data["budget"]) if data.get("budget") else None}


# --- transfers -----------------------------------------------------------------------------------

class TransferFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "All statuses"), *TransferStatus.choices], required=False)
    version = forms.ModelChoiceField(queryset=None, required=False, empty_label="All budgets", label="Budget")
    cost_center = forms.ModelChoiceField(queryset=None, required=False, empty_label="All cost centers",
                                         label="Cost center (and below)")
    requested_by = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone", label="Requested by")
    requested_from = forms.DateField(required=False, widget=DateInput(), label="Requested from")
    requested_to = forms.DateField(required=False, widget=DateInput(), label="to")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        with tenant_context(tenant, savepoint=False):
            # Transfers move money in versions in force: only approved and locked ones can have any.
            self.fields["version"].queryset = (BudgetVersion.objects.select_related("budget")
                                               .filter(status__in=FINAL_STATUSES).order_by("budget__name", "number"))
            self.fields["cost_center"].queryset = CostCenter.objects.order_by("code")
        self.fields["version"].label_from_instance = lambda v: f"{v.budget.name} v{v.number}"
        self.fields["cost_center"].label_from_instance = lambda c: f"{c.code} · {c.name}"
        self.fields["requested_by"].queryset = member_users(tenant=tenant)
        self.fields["requested_by"].label_from_instance = lambda u: u.email

    def clean(self):
        data = super().clean()
        start, end = data.get("requested_from"), data.get("requested_to")
        if start and end and start > end:
            self.add_error("requested_to", "The end date is before the start date.")
        return data

    def filters(self) -> TransferFilters:
        """The valid part of what was asked (a bad field shows its error and does not narrow)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        pk = lambda name: data[name].pk if data.get(name) else None  # noqa: E731
        return TransferFilters(status=data.get("status") or "", version=pk("version"),
                               cost_center=pk("cost_center"), requested_by=pk("requested_by"),
                               requested_from=data.get("requested_from"), requested_to=data.get("requested_to"))

    def words(self) -> list[str]:
        """The filters in force as the form's menus name them ("Plan 2026 v1", "Requested by …"),
        for an export's title row; nothing for a filter left empty."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        words = [str(TransferStatus(data["status"]).label)] if data.get("status") else []
        for name, prefix in (("version", ""), ("cost_center", "Cost center "), ("requested_by", "Requested by ")):
            if data.get(name):
                words.append(prefix + self.fields[name].label_from_instance(data[name])
                             + (" and below" if name == "cost_center" else ""))
        start, end = data.get("requested_from"), data.get("requested_to")
        if start or end:
            words.append("Requested " + (f"{start:%Y-%m-%d} – {end:%Y-%m-%d}" if start and end
                                         else f"from {start:%Y-%m-%d}" if start else f"through {end:%Y-%m-%d}"))
        return words


class TransferForm(forms.Form):
    """A transfer request. The lines are picked by typing (a search box with suggestions, not a
    select of every line): "From line" among the version's lines, "To line" among the lines the
    rule allows for that source (`transfer_partner_types`) — or a cell not budgeted yet (account,
    cost center, month), the accounts narrowed the same way. The text typed is kept on a bad form;
    `clean` turns it into lines (`source_funds`, `destination_funds`)."""

    source = forms.CharField(label="From line", max_length=300,
                             widget=forms.TextInput(attrs={"list": "source-lines", "autocomplete": "off",
                                                           "placeholder": "e.g. 6100 OPS 2026-03"}))
    destination = forms.CharField(label="To line", max_length=300, required=False,
                                  widget=forms.TextInput(attrs={"list": "destination-lines", "autocomplete": "off",
                                                                "placeholder": "a line of the same kind"}))
    account = forms.ModelChoiceField(queryset=None, required=False, label="Account")
    cost_center = forms.ModelChoiceField(queryset=None, required=False, label="Cost center")
    period = forms.ModelChoiceField(queryset=None, required=False, label="Month")
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=20, decimal_places=4)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    override_reason = forms.CharField(required=False, max_length=2000,
                                      help_text="Finance only: move more than the line has available, and why.")

    def __init__(self, *args, tenant, version, may_override: bool, lines_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant, self.version = tenant, version
        self.source_funds = self.destination_funds = None
        if lines_url:  # the suggestions follow what is typed (htmx); without JavaScript the text still works
            for name, include in (("source", None), ("destination", "#id_source")):
                self.fields[name].widget.attrs.update({
                    "hx-get": lines_url, "hx-trigger": "input changed delay:250ms, focus", "hx-swap": "innerHTML",
                    "hx-target": f"#{name}-lines", "hx-sync": "this:replace", **({"hx-include": include} if include else {})})
        with tenant_context(tenant, savepoint=False):
            self.fields["account"].queryset = Account.objects.filter(
                active=True, type__in=self.account_types()).order_by("code")
            self.fields["cost_center"].queryset = CostCenter.objects.filter(active=True).order_by("code")
            self.fields["period"].queryset = (Period.objects.filter(fiscal_year=version.budget.fiscal_year)
                                              .order_by("number"))
        self.fields["period"].label_from_instance = lambda p: f"{p.start:%Y-%m}"
        if not may_override:
            del self.fields["override_reason"]

    def typed_source(self) -> str:
        return str((self.data.get("source") if self.is_bound else self.initial.get("source")) or "")

    def source_line(self) -> LineFunds | None:
        """The line the source text names, or None (nothing typed yet, or not one line)."""
        if self.source_funds is None and self.typed_source().strip():
            try:
                self.source_funds = transfer_line_pick(tenant=self.tenant, version=self.version,
                                                       text=self.typed_source())
            except DomainError:
                return None
        return self.source_funds

    def account_types(self) -> frozenset[str]:
        """The kinds of account a destination may have: the source's partners, once it is known."""
        source = self.source_line()
        return transfer_partner_types(source.account_type) if source else frozenset(BUDGET_ACCOUNT_TYPES)

    def clean_source(self):
        try:
            self.source_funds = transfer_line_pick(tenant=self.tenant, version=self.version,
                                                   text=self.cleaned_data["source"], what="line to move money from")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return self.cleaned_data["source"]

    def clean(self):
        data = super().clean()
        text, account, period = (data.get("destination") or "").strip(), data.get("account"), data.get("period")
        if self.source_funds is None:
            return data
        if text and (account or period):
            self.add_error("destination", "Pick a line, or an account and month for a new line — not both.")
        elif text:
            try:  # of the source's kind first; another kind is named, and the service says why it is refused
                self.destination_funds = transfer_line_pick(
                    tenant=self.tenant, version=self.version, text=text, exclude=self.source_funds.line_id,
                    types=transfer_partner_types(self.source_funds.account_type), what="line to move money to")
            except DomainError as exc:
                self.add_error("destination", exc.message)
        elif not (account and period):
            self.add_error("destination" if not account else "period",
                           "Pick the line to move the money to, or an account and month for a new line.")
        return data

    def destination_value(self):
        """For `transfer_request`: the destination line's id, or the new cell (account, cost center, period)."""
        if self.destination_funds is not None:
            return self.destination_funds.line_id
        data = self.cleaned_data
        return data["account"], data.get("cost_center"), data["period"]
