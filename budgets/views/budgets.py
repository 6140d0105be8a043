"""Budget pages around the grid: the list (and creating a budget), a version's workflow
(submit, approve, reject with a comment, lock, revise), the diff of a revision against its
parent, and the grid's XLSX template download and CSV/XLSX upload (through
`importers.budget_import`, all or nothing, every bad cell named)."""

from __future__ import annotations

import csv
import io
import re

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.exports import export_response
from finops.imports import FileProblem, csv_rows, is_xlsx, xlsx_rows
from finops.shell import org_view
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action

from ..forms import BudgetCreateForm, BudgetUploadForm, RejectForm
from ..importers import budget_import
from ..models import VersionKind
from ..selectors import (
    budget_get,
    budget_list,
    budget_periods,
    version_diff,
    version_get,
    version_latest,
    version_lines,
)
from ..services import (
    budget_create,
    version_approve,
    version_lock,
    version_reject,
    version_revise,
    version_submit,
)


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
    budget = budget_get(tenant=request.org, pk=pk)
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
    found = version_get(tenant=request.org, pk=int(pk))
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
    found = version_get(tenant=request.org, pk=pk)
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
    found = version_get(tenant=request.org, pk=pk)
    periods = budget_periods(tenant=request.org, budget=found.budget)
    header = [*TEMPLATE_FIXED, *(f"{p.start:%Y-%m}" for p in periods)]
    entity = found.budget.entity.code
    rows = [[entity, r.account_code, r.account_name, r.cost_center_code, *r.months]
            for r in version_lines(tenant=request.org, version=found)]
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", found.budget.name).strip("-") or "budget"
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    return export_response(fmt, f"{name}-v{found.number}", header, rows)


_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-\d{1,2}(?:[ T]00:00:00)?)?")


def _wide_to_long(data: bytes, filename: str) -> tuple[bytes, dict[int, str]] | None:
    """A template-shaped file (one column per month) as the importer's long CSV, with where each
    long line came from ("line 4, 2026-03"); None when the file is already long
    (entity, account, cost_center, period, amount)."""
    rows, _ = xlsx_rows(data) if is_xlsx(data, filename) else csv_rows(data)
    first = next(rows, None)
    if first is None:
        return None
    header = [str(h).strip().lower() for h in first[1]]
    months = {i: f"{int(m[1]):04d}-{int(m[2]):02d}" for i, h in enumerate(header) if (m := _MONTH.fullmatch(h))}
    if not months or "period" in header:
        return None
    col = {name: header.index(name) for name in ("entity", "account", "cost_center") if name in header}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["entity", "account", "cost_center", "period", "amount"])
    origin: dict[int, str] = {}
    line = 1
    for number, values in rows:

        def get(name, values=values):
            i = col.get(name)
            return str(values[i]).strip() if i is not None and i < len(values) else ""

        for i, month in months.items():
            amount = str(values[i]).strip() if i < len(values) else ""
            if not amount:
                continue  # an empty cell leaves the budget's cell as it is
            line += 1
            writer.writerow([get("entity"), get("account"), get("cost_center"), month, amount])
            origin[line] = f"line {number} ({get('account')}{' / ' + get('cost_center') if get('cost_center') else ''}), {month}"
    return out.getvalue().encode(), origin


@org_view(Action.VIEW, post=Action.WRITE)
def version_upload(request, pk: int):
    """Upload the template (or a long CSV/XLSX) into this version, all or nothing."""
    found = version_get(tenant=request.org, pk=pk)
    form = BudgetUploadForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data, filename, origin = upload.read(), upload.name, {}
        try:
            wide = _wide_to_long(data, filename)
        except FileProblem as problem:
            wide, problems = None, [str(problem.error)]
        if wide is not None:
            data, origin = wide
            filename = "template.csv"
        latest = version_latest(tenant=request.org, budget=found.budget)
        if not problems and latest.pk != found.pk:
            problems = [f"Upload into the newest version (v{latest.number}); v{found.number} is not the one being "
                        "worked on."]
        if not problems:
            result = budget_import(tenant=request.org, actor=request.user, data=data, filename=filename,
                                   budget_name=found.budget.name)
            if result.ok:
                messages.success(request, result.summary())
                return _to_version(request, found.pk)
            problems = [f"{origin[e.line]}: {e.message}" if e.line in origin else str(e) for e in result.errors]
            problems.append(result.summary())
    status = 400 if (problems or form.errors) else 200
    return render(request, "budgets/version_upload.html",
                  {"version": found, "budget": found.budget, "form": form, "problems": problems}, status=status)


urlpatterns = [
    path("", index, name="index"),
    path("<int:pk>/", budget_detail, name="budget_detail"),
    path("versions/<int:pk>/diff/", version_compare, name="version_diff"),
    path("versions/<int:pk>/template/", version_template, name="version_template"),
    path("versions/<int:pk>/upload/", version_upload, name="version_upload"),
    re_path(r"^versions/(?P<pk>[0-9]+)/(?P<action>submit|approve|reject|lock|revise)/$", version_workflow,
            name="version_workflow"),
]
