"""GL import pages: upload a file, watch a worker import it, then read the result or every
bad row with its line number. The import itself is `finops.ledger.importers`."""

from __future__ import annotations

from datetime import date

from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.exports import export_response
from finops.jobs.models import Job
from finops.jobs.pages import job_page
from finops.jobs.records import access_job, jobs_recent
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..forms import ImportUploadForm
from ..importers import COLUMNS, GL, import_job_create
from ..selectors import import_template_rows

RECENT_JOBS = 25


def _detail_url(request, job: Job) -> str:
    return reverse("ledger:import_detail", kwargs={"org_slug": request.org.slug, "pk": job.pk})


@org_view(Action.VIEW, post=Action.WRITE)
def import_list(request):
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(tenant=request.org, actor=request.user, filename=upload.name, data=upload.read())
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            url = _detail_url(request, job)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    jobs = jobs_recent(tenant=request.org, kind=GL, limit=RECENT_JOBS)
    return render(request, "ledger/import_list.html", {"form": form, "jobs": jobs, "columns": COLUMNS},
                  status=400 if form.errors else 200)


@org_view(Action.VIEW)
@require_GET
def import_detail(request, pk: int):
    job = access_job(tenant=request.org, kind=GL, pk=pk)
    return job_page(request, job, "ledger/import_detail.html")


@org_view(Action.VIEW)
@require_GET
def import_errors_export(request, pk: int):
    job = access_job(tenant=request.org, kind=GL, pk=pk)
    rows = [(e["line"], e["message"]) for e in job.errors]
    return export_response(request.GET.get("format", "csv"), f"import-{job.pk}-problems", ["line", "problem"], rows)


@org_view(Action.VIEW)
@require_GET
def import_template(request):
    """A small file to start from: a balanced rent entry in the organisation's own codes."""
    example = import_template_rows(tenant=request.org, day=date.today())
    return export_response("csv", "gl-import-template", COLUMNS, example)


urlpatterns = [
    path("imports/", import_list, name="import_list"),
    path("imports/template.csv", import_template, name="import_template"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
    path("imports/<int:pk>/problems.csv", import_errors_export, name="import_errors"),
]
