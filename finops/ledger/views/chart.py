"""Chart import pages: upload a chart (entities, accounts, cost centers) as CSV or XLSX, watch a
worker import it, then read what changed or every bad row with its line number. The import
itself is `finops.ledger.chart_import`, run as a job (`finops.jobs`)."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from finops.errors import DomainError
from finops.jobs.pages import job_page
from finops.jobs.records import access_job, jobs_recent
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..chart_import import CHART, COLUMNS, chart_import_job_create
from ..forms import ImportUploadForm

RECENT_JOBS = 10


@org_view(Action.VIEW, post=Action.WRITE)
def chart_import_page(request):
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = chart_import_job_create(tenant=request.org, actor=request.user, filename=upload.name,
                                          data=upload.read())
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            url = reverse("ledger:chart_import_detail", kwargs={"org_slug": request.org.slug, "pk": job.pk})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render(request, "ledger/chart_import.html", {
        "form": form, "columns": COLUMNS, "jobs": jobs_recent(tenant=request.org, kind=CHART, limit=RECENT_JOBS)},
        status=400 if form.errors else 200)


@org_view(Action.VIEW)
@require_GET
def chart_import_detail(request, pk: int):
    job = access_job(tenant=request.org, kind=CHART, pk=pk)
    return job_page(request, job, "ledger/chart_import_detail.html")


urlpatterns = [
    path("accounts/import/", chart_import_page, name="chart_import"),
    path("accounts/import/<int:pk>/", chart_import_detail, name="chart_import_detail"),
]
