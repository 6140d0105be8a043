"""The journal: lines newest first with filters and keyset paging, export, one entry's page,
reversing it, and the manual entry form (lines added and totals recomputed with htmx)."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from finops import bounds
from finops.errors import DomainError
from finops.exports import export_response
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .. import selectors
from ..forms import (
    MAX_ENTRY_LINES,
    EntryForm,
    JournalFilterForm,
    ReverseForm,
    line_form,
    line_formset,
    raw_lines,
    typed_totals,
)
from ..services import journal_post, journal_reverse

CURSOR_PARAMS = ("after", "before", "format")


def _entry_url(request, entry) -> str:
    return reverse("ledger:entry_detail", kwargs={"org_slug": request.org.slug, "pk": entry.pk})


@org_view(Action.VIEW)
@require_GET
def journal(request):
    form = JournalFilterForm(request.GET or None, tenant=request.org)
    cursor = (selectors.Cursor.parse(request.GET.get("after"), older=True)
              or selectors.Cursor.parse(request.GET.get("before"), older=False))
    filters = form.filters()
    page = selectors.journal_lines(tenant=request.org, filters=filters, cursor=cursor)
    totals = selectors.journal_totals(tenant=request.org, filters=filters)
    filled = [(k, v) for k, v in request.GET.items() if v and k != "format"]
    query = urlencode([(k, v) for k, v in filled if k not in CURSOR_PARAMS])
    context = {"form": form, "page": page, "totals": totals, "query": query, "export_cap": selectors.EXPORT_MAX_ROWS}
    partial = request.htmx and request.htmx.target == "journal-table" and not request.htmx.history_restore_request
    response = render(request, "ledger/journal_list.html#table" if partial else "ledger/journal_list.html", context)
    if partial:  # the address bar shows the filters in force, not every empty field of the form
        response["HX-Push-Url"] = f"{request.path}?{urlencode(filled)}" if filled else request.path
    patch_vary_headers(response, ["HX-Request"])
    return response


@org_view(Action.VIEW)
@require_GET
def journal_export(request):
    form = JournalFilterForm(request.GET or None, tenant=request.org)
    rows, truncated = selectors.journal_lines_export(
        tenant=request.org, filters=form.filters(), cap=selectors.EXPORT_MAX_ROWS
    )
    name = f"journal-{request.org.slug}-{date.today():%Y%m%d}"
    if truncated:
        name += f"-first-{selectors.EXPORT_MAX_ROWS}-lines"
    response = export_response(request.GET.get("format", "csv"), name, selectors.EXPORT_HEADER, rows)
    response["X-Export-Truncated"] = "true" if truncated else "false"
    return response


@org_view(Action.VIEW)
@require_GET
def entry_detail(request, pk: int):
    entry = selectors.entry_get(tenant=request.org, pk=pk)
    if entry is None:
        raise Http404("No such entry.")
    return render(request, "ledger/entry_detail.html", {"entry": entry, "reverse_form": ReverseForm()})


@org_view(Action.WRITE)
@require_POST
def entry_reverse(request, pk: int):
    entry = selectors.access_entry(tenant=request.org, pk=pk)
    form = ReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the reversal date as YYYY-MM-DD, or leave it empty.")
        return redirect(_entry_url(request, entry))
    try:
        result = journal_reverse(tenant=request.org, actor=request.user, entry=entry, date=form.cleaned_data["date"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_entry_url(request, entry))
    messages.success(request, f"Posted JE-{result.entry.pk}, reversing JE-{entry.pk}.")
    return redirect(_entry_url(request, result.entry))


@org_view(Action.WRITE)
def entry_create(request):
    org, data = request.org, request.POST
    if request.method == "POST" and data.get("preview"):
        return render(request, "ledger/entry_form.html#totals", {"totals": typed_totals(tenant=org, data=data)})
    if request.method == "POST" and data.get("more"):
        # "More lines" without JavaScript: show everything typed again, plus blank rows.
        rows = raw_lines(data)
        form = EntryForm(initial=data.dict(), tenant=org)
        formset = line_formset(tenant=org, rows=min(len(rows) + 4, MAX_ENTRY_LINES), initial=rows)
    elif request.method == "POST":
        form, formset = EntryForm(data, tenant=org), line_formset(tenant=org, data=data)
        if form.is_valid() and formset.is_valid():
            try:
                result = journal_post(
                    tenant=org, actor=request.user, entity=form.cleaned_data["entity"],
                    date=form.cleaned_data["date"], lines=formset.line_specs(), memo=form.cleaned_data["memo"],
                    reference=form.cleaned_data["reference"], idempotency_key=form.idempotency_key(),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                verb = "Posted" if result.created else "This form was already posted as"
                messages.success(request, f"{verb} JE-{result.entry.pk}.")
                if warning := bounds.far_ahead_warning(result.entry.date):
                    messages.warning(request, f"JE-{result.entry.pk} is {warning} If not, reverse it here and "
                                              "post it again with the right date.")
                return redirect(_entry_url(request, result.entry))
    else:
        form = EntryForm(initial={"date": date.today(), "key": uuid.uuid4().hex}, tenant=org)
        formset = line_formset(tenant=org, rows=4)
    totals = typed_totals(tenant=org, data=data) if request.method == "POST" else None
    return render(request, "ledger/entry_form.html", {"form": form, "formset": formset, "totals": totals})


@org_view(Action.WRITE)
@require_GET
def entry_line(request):
    """One more blank row for the entry form (htmx), numbered after the rows already there."""
    try:
        index = int(request.GET.get("lines-TOTAL_FORMS") or request.GET.get("index") or 0)
    except ValueError:
        index = 0
    if not 0 <= index < MAX_ENTRY_LINES:
        return HttpResponse(status=204)
    context = {"line": line_form(tenant=request.org, index=index), "total_forms": index + 1}
    return render(request, "ledger/entry_form.html#line_added", context)


urlpatterns = [
    path("", journal, name="journal"),
    path("export/", journal_export, name="journal_export"),
    path("entries/new/", entry_create, name="entry_create"),
    path("entries/new/line/", entry_line, name="entry_line"),
    path("entries/<int:pk>/", entry_detail, name="entry_detail"),
    path("entries/<int:pk>/reverse/", entry_reverse, name="entry_reverse"),
]
