"""Budget pages around the grid: the list (and creating a budget), a version's workflow
(submit, approve, reject with a comment, lock, revise), the diff of a revision against its
parent, and the grid's XLSX template download and CSV/XLSX upload (recorded as a job that a
worker imports, all or nothing, every bad cell named: `uploads.py`)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.exports import export_response
from finops.jobs.pages import job_page
from finops.tenancy.context import tenant_context
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..forms import BudgetCreateForm, BudgetUploadForm, RejectForm
from ..models import VersionKind
from ..selectors import (
    access_budget,
    access_version,
    budget_list,
    budget_periods,
    version_diff,
    version_latest,
    version_lines,
)
from ..services.budgets import budget_create
from ..services.versions import version_approve, version_lock, version_reject, version_revise, version_submit
from ..uploads import budget_upload_create, budget_upload_get


def _to_version(request, version_pk: int):
    return redirect("budgets:version", org_slug=request.org.slug, pk=version_pk)


@org_view(Action.VIEW, post=Action.WRITE)
def index(request):
    """Every budget with its latest version's status; finance creates one here."""
    form = BudgetCreateForm(request.POST or None, tenant=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            budget = budget_create(tenant=request.org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Created {budget.name} for FY{budget.fiscal_year}: start typing in the grid.")
            latest = version_latest(tenant=request.org, budget=budget)
            return _to_version(request, latest.pk)
    with tenant_context(request.org):
        budgets = list(budget_list(tenant=request.org))
    return render(request, "budgets/budget_list.html", {"budgets": budgets, "form": form},
                  status=400 if form.errors else 200)


@org_view(Action.VIEW)
@require_GET
def budget_detail(request, pk: int):
    """A budget's address: its newest version's grid."""
    budget = access_budget(tenant=request.org, pk=pk)
    return _to_version(request, version_latest(tenant=request.org, budget=budget).pk)


WORKFLOW = {
    "submit": (version_submit, "submitted for approval"),
    "approve": (version_approve, "approved"),
    "reject": (version_reject, "rejected"),
    "lock": (version_lock, "locked"),
    "revise": (version_revise, "revised"),
}


@org_view(Action.WRITE)
@require_POST
def version_workflow(request, pk: str, action: str):
    """Move a version on: submit, approve, reject (comment required), lock, or start a revision
    / reforecast (a new draft copying it)."""
    found = access_version(tenant=request.org, pk=int(pk))
    if action not in WORKFLOW:
        messages.error(request, "Unknown action.")
        return _to_version(request, found.pk)
    service, verb = WORKFLOW[action]
    extra = {}
    if action == "reject":
        form = RejectForm(request.POST)
        extra["comment"] = form.data.get("comment", "")
    if action == "revise":
        extra["kind"] = (VersionKind.REFORECAST if request.POST.get("kind") == VersionKind.REFORECAST
                         else VersionKind.REVISION)
    try:
        result = service(tenant=request.org, actor=request.user, version=found, **extra)
    except DomainError as exc:
        messages.error(request, exc.message)
        target = found.pk
    else:
        messages.success(request, f"{found.budget.name} v{result.number} {verb}." if action != "revise" else
                         f"Started {found.budget.name} v{result.number}, a draft copy of v{found.number}.")
        target = result.pk
    response = _to_version(request, target)
    return HttpResponseClientRedirect(response["Location"]) if request.htmx else response


@org_view(Action.VIEW)
@require_GET
def version_compare(request, pk: int):
    """The cells a revision changed against its parent (only those)."""
    found = access_version(tenant=request.org, pk=pk)
    rows = version_diff(tenant=request.org, old=found.parent, new=found) if found.parent_id else []
    return render(request, "budgets/version_diff.html", {
        "version": found, "budget": found.budget, "rows": rows,
        "currency": str(found.budget.entity.functional_currency)})


TEMPLATE_FIXED = ["entity", "account", "account_name", "cost_center"]


@org_view(Action.VIEW)
@require_GET
def version_template(request, pk: int):
    """The grid as a spreadsheet to fill in: one row per account × cost center present, one
    column per month (YYYY-MM). Upload it back unchanged or edited."""
    found = access_version(tenant=request.org, pk=pk)
    periods = budget_periods(tenant=request.org, budget=found.budget)
    header = [*TEMPLATE_FIXED, *(f"{p.start:%Y-%m}" for p in periods)]
    entity = found.budget.entity.code
    rows = [[entity, r.account_code, r.account_name, r.cost_center_code, *r.months]
            for r in version_lines(tenant=request.org, version=found)]
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", found.budget.name).strip("-") or "budget"
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    # A machine format, not a report: `uploads.template_to_long` reads its first row as the header
    # (field names, months as YYYY-MM), so it has no title row and stays on `export_response`.
    return export_response(fmt, f"{name}-v{found.number}", header, rows)


@org_view(Action.VIEW, post=Action.WRITE)
def version_upload(request, pk: int):
    """Upload the template (or a long CSV/XLSX) into this version: the file is recorded as a job
    and a worker imports it, all or nothing (`uploads.py`); the job's page shows how it went."""
    found = access_version(tenant=request.org, pk=pk)
    form = BudgetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = budget_upload_create(tenant=request.org, actor=request.user, version=found, filename=upload.name,
                                       data=upload.read())
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            target = reverse("budgets:upload_detail", kwargs={"org_slug": request.org.slug, "pk": job.pk})
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    return render(request, "budgets/version_upload.html", {"version": found, "budget": found.budget, "form": form},
                  status=400 if form.errors else 200)


@org_view(Action.VIEW)
@require_GET
def upload_detail(request, pk: int):
    """An upload's job: waiting, checking (the page polls), then the result or every bad cell,
    with the form to upload the corrected file."""
    job = budget_upload_get(tenant=request.org, pk=pk)
    if job is None:
        raise Http404("No such upload.")
    found = access_version(tenant=request.org, pk=job.params["version_id"])
    return job_page(request, job, "budgets/upload_detail.html", version=found, budget=found.budget,
                    form=BudgetUploadForm())


urlpatterns = [
    path("", index, name="index"),
    path("<int:pk>/", budget_detail, name="budget_detail"),
    path("versions/<int:pk>/diff/", version_compare, name="version_diff"),
    path("versions/<int:pk>/template/", version_template, name="version_template"),
    path("versions/<int:pk>/upload/", version_upload, name="version_upload"),
    path("uploads/<int:pk>/", upload_detail, name="upload_detail"),
    re_path(r"^versions/(?P<pk>[0-9]+)/(?P<action>submit|approve|reject|lock|revise)/$", version_workflow,
            name="version_workflow"),
]
