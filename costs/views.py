"""Costs pages: the cost items (what the imports brought), and Costs → Import (upload a FOCUS
export or a generic cost file, watch a worker import it, read the result or every bad row)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.exports import export_response
from finops.jobs.pages import job_page
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .forms import CostItemFilterForm, CostUploadForm
from .importers import GENERIC_COLUMNS
from .selectors import access_cost_import, cost_imports_recent, cost_item_page, cost_summary
from .services import cost_import_create


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
