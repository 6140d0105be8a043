"""Costs pages: the cost items (what the imports brought); Costs → Import (upload a FOCUS export
or a generic cost file, watch a worker import it, read the result or every bad row); Costs →
Mapping (the rules and the unallocated bucket); Costs → Ledger (how cost posts, what it posted)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.exports import export_response
from finops.jobs.pages import job_page
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .forms import CostItemFilterForm, CostLedgerSettingsForm, CostRangeForm, CostUploadForm, MappingRuleForm
from .importers import GENERIC_COLUMNS
from .mapping import mapper_load
from .models import Basis
from .posting import cost_ledger_refresh, ledger_settings_get
from .selectors import (
    access_cost_import,
    access_mapping_rule,
    cost_imports_recent,
    cost_item_page,
    cost_postings,
    cost_summary,
    mapping_overview,
    mapping_rule_list,
)
from .services import cost_import_create, cost_ledger_settings_save, mapping_rule_delete, mapping_rule_save

BASIS_WORDS = {Basis.EFFECTIVE: "amortised basis (EffectiveCost)", Basis.BILLED: "billed basis (BilledCost)"}
PREFILL = ("provider", "service", "charge_category", "sub_account")  # what "Map this" carries to a new rule


@org_view(Action.VIEW)
@require_GET
def cost_item_list(request):
    form = CostItemFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    job_id, month = filters.get("job"), filters.get("month")
    try:
        page = cost_item_page(tenant=request.org, job_id=job_id, month=month, after=request.GET.get("after", ""))
    except DomainError as exc:
        return render(request, "costs/cost_item_list.html", {"form": form, "problem": exc.message}, status=400)
    totals = cost_summary(tenant=request.org, job_id=job_id, month=month)
    query = urlencode({k: v for k, v in (("job", job_id or ""), ("month", f"{month:%Y-%m}" if month else "")) if v})
    context = {"form": form, "page": page, "totals": totals, "query": query}
    template = "costs/cost_item_list.html#table" if request.htmx else "costs/cost_item_list.html"
    return render(request, template, context)


@org_view(Action.VIEW, post=Action.WRITE)
def import_list(request):
    form = CostUploadForm(request.POST, request.FILES) if request.method == "POST" else CostUploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = cost_import_create(tenant=request.org, actor=request.user, filename=upload.name, data=upload.read(),
                                     source_format=form.cleaned_data["source_format"])
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            url = reverse("costs:import_detail", kwargs={"org_slug": request.org.slug, "pk": job.pk})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"form": form, "jobs": cost_imports_recent(tenant=request.org), "generic_columns": GENERIC_COLUMNS}
    return render(request, "costs/import_list.html", context, status=400 if form.errors else 200)


@org_view(Action.VIEW)
@require_GET
def import_detail(request, pk: int):
    return job_page(request, access_cost_import(tenant=request.org, pk=pk), "costs/import_detail.html")


@org_view(Action.VIEW)
@require_GET
def import_errors_export(request, pk: int):
    job = access_cost_import(tenant=request.org, pk=pk)
    rows = [(e["line"], e["message"]) for e in job.errors]
    return export_response(request.GET.get("format", "csv"), f"cost-import-{job.pk}-problems", ["line", "problem"], rows)


# --- mapping ------------------------------------------------------------------------------------

def _basis(org) -> str:
    settings = ledger_settings_get(tenant=org)
    return settings.basis if settings else Basis.EFFECTIVE


@org_view(Action.VIEW)
@require_GET
def mapping(request):
    """The rules in the order they are tried, what each maps, and the unallocated bucket."""
    form = CostRangeForm(request.GET)
    period = form.cleaned_data if form.is_valid() else {}
    basis = _basis(request.org)
    bucket, uses = mapping_overview(tenant=request.org, mapper=mapper_load(tenant=request.org), basis=basis,
                                    date_from=period.get("date_from"), date_to=period.get("date_to"))
    rules = [(rule, uses.get(rule.pk)) for rule in mapping_rule_list(tenant=request.org)]
    totals: dict[str, Decimal] = {}
    for row in bucket:
        totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.amount
    context = {"form": form, "rules": rules, "bucket": bucket, "bucket_totals": sorted(totals.items()),
               "basis": BASIS_WORDS[basis]}
    return render(request, "costs/mapping.html", context)


@org_view(Action.WRITE)
def mapping_rule_edit(request, pk: int | None = None):
    """A new rule (prefilled from the unallocated bucket's "Map this") or a change to one."""
    rule = access_mapping_rule(tenant=request.org, pk=pk) if pk else None
    initial = None if rule else {k: request.GET[k] for k in PREFILL if request.GET.get(k)} | {"name": request.GET.get("provider", "")}
    if request.method == "POST":
        form = MappingRuleForm(request.POST, tenant=request.org, rule=rule)
    else:
        form = MappingRuleForm(tenant=request.org, rule=rule, **({"initial": initial} if initial else {}))
    if form.is_bound and form.is_valid():
        try:
            mapping_rule_save(tenant=request.org, actor=request.user, rule=rule, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("costs:mapping", org_slug=request.org.slug)
    return render(request, "costs/mapping_rule_form.html", {"form": form, "rule": rule},
                  status=400 if form.errors else 200)


@org_view(Action.WRITE)
@require_POST
def mapping_rule_remove(request, pk: int):
    mapping_rule_delete(tenant=request.org, actor=request.user, rule=access_mapping_rule(tenant=request.org, pk=pk))
    return redirect("costs:mapping", org_slug=request.org.slug)


# --- the ledger ---------------------------------------------------------------------------------

@org_view(Action.VIEW, post=Action.WRITE)
def ledger(request):
    """How cost data posts, and what each month posted (or why it could not)."""
    settings = ledger_settings_get(tenant=request.org)
    form = (CostLedgerSettingsForm(request.POST, tenant=request.org, settings=settings) if request.method == "POST"
            else CostLedgerSettingsForm(tenant=request.org, settings=settings))
    if form.is_bound and form.is_valid():
        try:
            cost_ledger_settings_save(tenant=request.org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved. Every month with cost data is posting in step now.")
            return redirect("costs:ledger", org_slug=request.org.slug)
    context = {"form": form, "settings": settings, "postings": cost_postings(tenant=request.org),
               "this_month": timezone.localdate().replace(day=1)}
    return render(request, "costs/ledger.html", context, status=400 if form.errors else 200)


@org_view(Action.WRITE)
@require_POST
def ledger_post(request):
    """Post every month in step now (what a change queues for a worker), and say what moved."""
    result = cost_ledger_refresh(tenant=request.org, actor=request.user)
    if not result.configured:
        messages.error(request, "Say how cost data posts first: choose the entity and the accounts below.")
    else:
        messages.success(request, f"{len(result.posted)} month(s) posted, {result.unchanged} already in step"
                         + (f", {len(result.problems)} could not post (see below)." if result.problems else "."))
    return redirect("costs:ledger", org_slug=request.org.slug)
