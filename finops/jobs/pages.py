"""The one way a job's page is rendered (`templates/jobs/`): the whole page, or only its status
section while the page polls (an htmx request that is not a history restore), with the job's
live progress while it runs. The response varies on HX-Request, so a browser never shows the
partial as the page."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .progress import job_progress_get


def job_page(request, job, template: str, **context):
    """`template` must define the partial `status` (django-template-partials)."""
    context = {"job": job, "progress": None if job.is_finished else job_progress_get(job_id=job.pk), **context}
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, f"{template}#status" if partial else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
