"""The journal: lines newest first with filters and keyset paging, export, one entry's page,
reversing it, and the manual entry form (lines added and totals recomputed with htmx)."""

from __future__ import annotations

import calendar
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
from finops.exports import DATE, MONEY, MONTH, NUMBER, Column, Sheet, export_filename, sheet_response
from finops.ledger.links import back_link
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
from ..models import Source
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
    back, back_title = back_link(request)
    context = {"form": form, "page": page, "totals": totals, "query": query, "export_cap": selectors.EXPORT_MAX_ROWS,
               "back": back, "back_title": back_title}
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
    filters = form.filters()
    export = selectors.journal_lines_export(tenant=request.org, filters=filters, cap=selectors.EXPORT_MAX_ROWS)
    response = sheet_response(request.GET.get("format", "csv"), export_sheet(request.org, filters, export))
    response["X-Export-Truncated"] = "true" if export.truncated else "false"
    return response


def _date_range(filters: selectors.JournalFilters) -> tuple[date | None, date | None]:
    """The first and last day the filters let through (months are whole months)."""
    first, last = filters.period_from, filters.period_to
    if filters.period is not None:
        first, last = first or filters.period.start, last or filters.period.end
    if first is not None:
        first = first.replace(day=1)
    if last is not None:
        last = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    return first, last


def export_sheet(org, filters: selectors.JournalFilters, export: selectors.JournalExport) -> Sheet:
    """The filtered journal lines as a sheet to hand on: each line in its entity's functional
    currency (the Currency column gives each row its decimals) and its transaction currency, the
    filters in words, and a debit / credit total per functional currency: lines of several
    currencies are never added into one figure."""
    columns = [Column("Date", DATE), Column("Entry"), Column("Line"), Column("Entity"), Column("Account"),
               Column("Account name"), Column("Cost center"), Column("Memo"), Column("Reference"),
               Column("Debit", MONEY, currency_from="Currency"), Column("Credit", MONEY, currency_from="Currency"),
               Column("Currency"), Column("Transaction amount", MONEY, currency_from="Transaction currency"),
               Column("Transaction currency"), Column("Rate", NUMBER), Column("Source"), Column("Period", MONTH)]
    rows = ([x.date, f"JE-{x.entry_id}", x.line_no, x.entity, x.account, x.account_name, x.cost_center, x.memo,
             x.reference, x.debit, x.credit, x.currency, x.txn_amount, x.txn_currency, x.rate, x.source, x.period]
            for x in export.lines)
    totals = [[f"Total {t.currency}", f"{t.lines:,} line{'s' if t.lines != 1 else ''}", *[None] * 7, t.debit,
               t.credit, t.currency, *[None] * 5] for t in export.totals]
    first, last = _date_range(filters)
    dates = (f"{first:%-d %b %Y} – {last:%-d %b %Y}" if first and last else f"from {first:%-d %b %Y}" if first
             else f"through {last:%-d %b %Y}" if last else "All dates")
    about = [org.name, dates]
    for label, value in (("Entity", filters.entity), ("Account", filters.account),
                         ("Cost center", filters.cost_center)):
        if value is not None:
            about.append(f"{label} {value}")
    if filters.source:
        about.append(f"Source: {dict(Source.choices).get(filters.source, filters.source)}")
    if filters.q.strip():
        about.append(f"Search “{filters.q.strip()}”")
    if export.truncated:
        about.append(f"the newest {len(export.lines):,} matching lines only")
    about.append("debit and credit in each entity's functional currency")
    span = ([f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"] if first and last else [f"from-{first:%Y-%m-%d}"] if first
            else [f"through-{last:%Y-%m-%d}"] if last else ["all-dates"])
    name = ["journal", org.slug, filters.entity.code if filters.entity else None, *span]
    if export.truncated:
        name.append(f"first-{len(export.lines)}-lines")
    return Sheet(title="Journal", columns=columns, rows=rows, totals=totals, about=about,
                 filename=export_filename(*name))


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
