"""Master data of the ledger: chart of accounts, cost centers, legal entities, fiscal periods
(close and reopen) and exchange rates. Every change goes through a service in
`finops.ledger.services` / `finops.ledger.periods`, which audits it."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .. import selectors
from ..forms import AccountForm, CostCenterForm, EntityForm, FiscalYearForm, FxFilterForm, FxRateForm
from ..models import FxRate
from ..periods import fiscal_year_ensure, fiscal_year_label, period_close, period_reopen
from ..services import account_save, cost_center_save, entity_create, fx_rate_set


def _back(request, name: str, anchor: str = ""):
    response = redirect(f"ledger:{name}", org_slug=request.org.slug)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


# --- accounts -----------------------------------------------------------------------------

@org_view(Action.VIEW)
def accounts(request):
    return render(request, "ledger/account_list.html", {"tree": selectors.account_tree(tenant=request.org)})


@org_view(Action.WRITE)
def account_edit(request, pk: int | None = None):
    account = selectors.access_account(tenant=request.org, pk=pk) if pk else None
    form = AccountForm(request.POST or None, tenant=request.org, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            saved = account_save(tenant=request.org, actor=request.user, account=account, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved account {saved}.")
            return _back(request, "accounts")
    return render(request, "ledger/account_form.html", {"form": form, "account": account})


# --- cost centers -------------------------------------------------------------------------

@org_view(Action.VIEW)
def cost_centers(request):
    return render(request, "ledger/cost_center_list.html", {"tree": selectors.cost_center_tree(tenant=request.org)})


@org_view(Action.WRITE)
def cost_center_edit(request, pk: int | None = None):
    cost_center = selectors.access_cost_center(tenant=request.org, pk=pk) if pk else None
    form = CostCenterForm(request.POST or None, tenant=request.org, cost_center=cost_center)
    if request.method == "POST" and form.is_valid():
        try:
            saved = cost_center_save(tenant=request.org, actor=request.user, cost_center=cost_center,
                                     **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved cost center {saved}.")
            return _back(request, "cost_centers")
    return render(request, "ledger/cost_center_form.html", {"form": form, "cost_center": cost_center})


# --- entities -----------------------------------------------------------------------------

@org_view(Action.VIEW, post=Action.WRITE)
def entities(request):
    form = EntityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entity = entity_create(tenant=request.org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Created entity {entity}.")
            return _back(request, "entities")
    context = {"entities": selectors.entity_list(tenant=request.org), "form": form}
    return render(request, "ledger/entity_list.html", context)


# --- periods ------------------------------------------------------------------------------

@org_view(Action.VIEW, post=Action.WRITE)
def periods(request):
    org = request.org
    years = selectors.fiscal_years(tenant=org)
    next_label = (years[0].label + 1) if years else fiscal_year_label(start_month=org.fiscal_year_start_month,
                                                                      d=date.today())
    form = FiscalYearForm(request.POST or None, initial={"fiscal_year": next_label})
    if request.method == "POST" and form.is_valid():
        label = form.cleaned_data["fiscal_year"]
        existed = any(fy.label == label for fy in years)
        try:
            fiscal_year_ensure(tenant=org, label=label)
        except DomainError as exc:
            form.add_error("fiscal_year", exc.message)
        else:
            if existed:
                messages.info(request, f"FY{label} exists already; its periods are unchanged.")
            else:
                messages.success(request, f"Created FY{label} with 12 open periods.")
            return _back(request, "periods", f"fy-{label}")
    return render(request, "ledger/period_list.html", {"years": years, "form": form})


def _period_set(request, pk: int, service, verb: str):
    period = selectors.access_period(tenant=request.org, pk=pk)
    try:
        period = service(tenant=request.org, actor=request.user, period=period)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Period {period.label} {verb}.")
    return _back(request, "periods", f"fy-{period.fiscal_year}")


@org_view(Action.WRITE)
@require_POST
def period_close_view(request, pk: int):
    return _period_set(request, pk, period_close, "closed: nothing more can be posted into it")


@org_view(Action.WRITE)
@require_POST
def period_reopen_view(request, pk: int):
    return _period_set(request, pk, period_reopen, "reopened")


# --- exchange rates -----------------------------------------------------------------------

@org_view(Action.VIEW, post=Action.WRITE)
def fx_rates(request):
    if request.method == "POST":
        form = FxRateForm(request.POST)
        if form.is_valid():
            try:
                rate = fx_rate_set(tenant=request.org, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved {rate.from_currency}→{rate.to_currency} {rate.get_kind_display().lower()}"
                                          f" rate for {rate.date:%Y-%m}: {rate.rate.normalize():f}.")
                return _back(request, "fx_rates")
    else:
        editing = FxRate.objects.filter(pk=request.GET["edit"]).first() if request.GET.get("edit", "").isdigit() else None
        initial = ({"date": editing.date, "from_currency": editing.from_currency, "to_currency": editing.to_currency,
                    "rate": selectors.plain_decimal(editing.rate), "kind": editing.kind} if editing else {})
        form = FxRateForm(initial=initial)
    filters = FxFilterForm(request.GET)
    rates = selectors.fx_rate_list(tenant=request.org, **filters.values())
    return render(request, "ledger/fx_rate_list.html", {"form": form, "filters": filters, "rates": rates})


urlpatterns = [
    path("accounts/", accounts, name="accounts"),
    path("accounts/new/", account_edit, name="account_create"),
    path("accounts/<int:pk>/", account_edit, name="account_edit"),
    path("cost-centers/", cost_centers, name="cost_centers"),
    path("cost-centers/new/", cost_center_edit, name="cost_center_create"),
    path("cost-centers/<int:pk>/", cost_center_edit, name="cost_center_edit"),
    path("entities/", entities, name="entities"),
    path("periods/", periods, name="periods"),
    path("periods/<int:pk>/close/", period_close_view, name="period_close"),
    path("periods/<int:pk>/reopen/", period_reopen_view, name="period_reopen"),
    path("fx-rates/", fx_rates, name="fx_rates"),
]
