"""Reallocation pages: the transfer requests (everyone reads: filtered, counted per status, paged
50 at a time, exported to CSV / XLSX), the request form with the version's lines (original,
transfers, effective, actual, available; directors and finance), approve / reject (finance),
cancel (the requester) and the ROI proposal page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from finops.errors import DomainError
from finops.exports import DATETIME, MONEY, MONTH, Column, Sheet, export_filename, sheet_response
from finops.imports import parse_typed_amount
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action, can

from ..forms import TransferFilterForm, TransferForm
from ..models import TransferStatus
from ..selectors import access_version
from ..transfers.proposals import proposal_accept, proposal_build
from ..transfers.requests import transfer_approve, transfer_cancel, transfer_reject, transfer_request
from ..transfers.selectors import (
    TransferTotal,
    access_transfer,
    funds_by_account,
    line_funds,
    transfer_destinations,
    transfer_line_search,
    transfer_list,
    transfer_status_counts,
    transfer_totals,
)

PAGE_SIZE = 50
FILTER_FIELDS = ("status", "version", "cost_center", "requested_by", "requested_from", "requested_to")
STATUS_WORDS = {TransferStatus.REQUESTED: "pending", TransferStatus.APPROVED: "approved",
                TransferStatus.REJECTED: "rejected", TransferStatus.CANCELLED: "cancelled"}


def _filter_query(params, *, keep: tuple[str, ...] = FILTER_FIELDS) -> str:
    """The filters in force as a query string (empty ones and anything unknown dropped)."""
    return urlencode([(k, v) for k, v in params.items() if v and k in keep])


def _back_to_list(request, anchor: str = ""):
    """The list again, with the filters and page the decision was made from (`back`)."""
    response = redirect("budgets:transfers", org_slug=request.org.slug)
    query = _filter_query(QueryDict(request.POST.get("back", "")), keep=(*FILTER_FIELDS, "page"))
    response["Location"] += (f"?{query}" if query else "") + anchor
    return response


@org_view(Action.VIEW)
@require_GET
def transfers(request):
    form = TransferFilterForm(request.GET or None, tenant=request.org)
    filters = form.filters()
    page = Paginator(transfer_list(tenant=request.org, filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = transfer_status_counts(tenant=request.org, filters=filters)
    query = _filter_query(request.GET)
    chips = [{"status": "", "label": "all", "count": sum(counts.values()),
              "query": _filter_query(request.GET, keep=FILTER_FIELDS[1:])}]
    chips += [{"status": value, "label": STATUS_WORDS[value], "count": counts[value],
               "query": urlencode([("status", value)]) + ("&" + chips[0]["query"] if chips[0]["query"] else "")}
              for value in TransferStatus.values]
    context = {"form": form, "page": page, "transfers": page.object_list, "status": filters.status, "chips": chips,
               "query": query, "back": urlencode([*QueryDict(query).items(), ("page", page.number)]),
               "may_decide": can(request.membership.role, Action.WRITE)}
    partial = request.htmx and request.htmx.target == "transfer-table" and not request.htmx.history_restore_request
    response = render(request, "budgets/transfer_list.html#table" if partial else "budgets/transfer_list.html",
                      context)
    if partial:  # the address bar shows the filters in force (and the page), not every empty field
        shown = _filter_query(request.GET, keep=(*FILTER_FIELDS, "page"))
        response["HX-Push-Url"] = f"{request.path}?{shown}" if shown else request.path
    patch_vary_headers(response, ["HX-Request"])
    return response


@org_view(Action.VIEW)
@require_GET
def transfers_export(request):
    """Every transfer request under the list's filters (all pages), newest first."""
    form = TransferFilterForm(request.GET or None, tenant=request.org)
    filters = form.filters()
    sheet = export_sheet(request.org, form.words(), transfer_list(tenant=request.org, filters=filters),
                         transfer_totals(tenant=request.org, filters=filters), filters)
    return sheet_response(request.GET.get("format", "csv"), sheet)


def export_sheet(org, words: list[str], transfers, totals: list[TransferTotal], filters) -> Sheet:
    """The requests as a sheet to hand on: each in its budget entity's currency (the Currency
    column gives the row its decimals), the filters in words, a count and amount per currency."""
    columns = [Column("Request"), Column("Budget"), Column("Version"), Column("Entity"), Column("Status"),
               Column("Requested at", DATETIME), Column("Requested by"), Column("From account"),
               Column("From cost center"), Column("From month", MONTH), Column("To account"),
               Column("To cost center"), Column("To month", MONTH), Column("Amount", MONEY, currency_from="Currency"),
               Column("Currency"), Column("Available at request", MONEY, currency_from="Currency"),
               Column("Override"), Column("Override reason"), Column("Reason"), Column("Decided by"),
               Column("Decided at", DATETIME), Column("Decision comment")]

    def values(t):
        source, destination, version = t.source, t.destination, t.version
        return [t.pk, version.budget.name, version.number, version.budget.entity.code, t.get_status_display(),
                t.requested_at, t.requested_by.email if t.requested_by else "", source.account.code,
                source.cost_center.code if source.cost_center else "", source.period.start,
                destination.account.code, destination.cost_center.code if destination.cost_center else "",
                destination.period.start, t.amount, str(version.budget.entity.functional_currency),
                t.available_at_request, "Yes" if t.override else "", t.override_reason, t.reason,
                t.decided_by.email if t.decided_by else "", t.decided_at, t.decision_comment]

    rows = (values(t) for t in transfers.iterator(chunk_size=2000))
    total_rows = [[f"Total {t.currency}", f"{t.requests:,} request{'s' if t.requests != 1 else ''}", *[None] * 11,
                   t.amount, t.currency, *[None] * 7] for t in totals]
    start, end = filters.requested_from, filters.requested_to
    span = ([f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"] if start and end else [f"from-{start:%Y-%m-%d}"] if start
            else [f"through-{end:%Y-%m-%d}"] if end else [])
    return Sheet(title="Transfer requests", columns=columns, rows=rows, totals=total_rows,
                 about=[org.name, *(words or ["All requests"])],
                 filename=export_filename("transfer-requests", org.slug, filters.status, *span))


FUNDS_PAGE_SIZE = 50


def _line_label(funds, line_id: str) -> str:
    """The label of the version's line `line_id` (a table row's "move from here" link), or ""."""
    return next((f.label for f in funds if str(f.line_id) == line_id), "")


@org_view(Action.REQUEST)
def transfer_create(request, version_pk: int):
    version = access_version(tenant=request.org, pk=version_pk)
    funds = line_funds(tenant=request.org, version=version)
    may_override = can(request.membership.role, Action.WRITE)
    form = TransferForm(request.POST or None, tenant=request.org, version=version, may_override=may_override,
                        initial={"source": _line_label(funds, request.GET.get("source", ""))},
                        lines_url=reverse("budgets:transfer_lines", kwargs={"org_slug": request.org.slug,
                                                                            "version_pk": version.pk}))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                tenant=request.org, actor=request.user, version=version, source=form.source_funds.line_id,
                destination=form.destination_value(), amount=data["amount"],
                reason=data["reason"], override_reason=data.get("override_reason", ""))
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Transfer #{transfer.pk} of {transfer.amount:,.2f} requested.")
            return _back_to_list(request)
    page = Paginator(funds, FUNDS_PAGE_SIZE).get_page(request.GET.get("page"))
    typed = form.typed_source()
    return render(request, "budgets/transfer_form.html", {
        "version": version, "form": form, "page": page, "funds": page.object_list, "lines_count": len(funds),
        "source_lines": transfer_line_search(tenant=request.org, version=version, text=typed),
        "destination_lines": transfer_destinations(tenant=request.org, version=version, source_text=typed,
                                                   text=form["destination"].value() or "")})


@org_view(Action.REQUEST)
@require_GET
def transfer_lines(request, version_pk: int):
    """The picker's suggestions (`<option>`s of its datalist) for what is typed: `?source=…` for
    the From line; `?destination=…` (with the source typed so far) for the To line, then only lines
    the rule allows for that source."""
    version = access_version(tenant=request.org, pk=version_pk)
    source_text = request.GET.get("source", "")
    if "destination" in request.GET:
        lines = transfer_destinations(tenant=request.org, version=version, source_text=source_text,
                                      text=request.GET["destination"])
    else:
        lines = transfer_line_search(tenant=request.org, version=version, text=source_text)
    return render(request, "budgets/transfer_form.html#options", {"lines": lines})


def _decision(request, pk: int, service, verb: str, **kwargs):
    transfer = access_transfer(tenant=request.org, pk=pk)
    try:
        service(tenant=request.org, actor=request.user, transfer=transfer, **kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Transfer #{transfer.pk} {verb}.")
    return _back_to_list(request, f"#transfer-{transfer.pk}")


@org_view(Action.WRITE)
@require_POST
def transfer_approve_view(request, pk: int):
    return _decision(request, pk, transfer_approve, "approved", comment=request.POST.get("comment", ""),
                     override_reason=request.POST.get("override_reason", ""))


@org_view(Action.WRITE)
@require_POST
def transfer_reject_view(request, pk: int):
    return _decision(request, pk, transfer_reject, "rejected", comment=request.POST.get("comment", ""))


@org_view(Action.REQUEST)
@require_POST
def transfer_cancel_view(request, pk: int):
    return _decision(request, pk, transfer_cancel, "cancelled")


def _typed_amount(text: str) -> Decimal:
    """An amount as typed, read like every other (`finops.imports.parse_typed_amount`), or InvalidOperation."""
    parsed = parse_typed_amount(text)
    if not isinstance(parsed, Decimal):
        raise InvalidOperation(text)
    return parsed


def _proposal_inputs(post, funds) -> tuple[list[tuple], dict, list[str]]:
    """(lines for proposal_build, what the user typed per line, errors) from the proposal form."""
    picked = set(post.getlist("pick"))
    typed = {f.line_id: {k: post.get(f"{k}_{f.line_id}", "").strip() for k in ("min", "max", "roi")} for f in funds}
    lines, errors = [], []
    for f in funds:
        if str(f.line_id) not in picked:
            continue
        values = typed[f.line_id]
        try:
            minimum = _typed_amount(values["min"] or "0")
            maximum = _typed_amount(values["max"]) if values["max"] else f.effective + sum(
                (g.effective for g in funds if str(g.line_id) in picked and g.line_id != f.line_id), Decimal(0))
        except ArithmeticError:
            errors.append(f"{f.label}: the minimum and maximum must be amounts.")
            continue
        lines.append((f.line_id, minimum, maximum, values["roi"]))
    return lines, typed, errors


@org_view(Action.VIEW, post=Action.REQUEST)
def transfer_proposal(request, version_pk: int):
    version = access_version(tenant=request.org, pk=version_pk)
    funds = line_funds(tenant=request.org, version=version)
    context = {"version": version, "funds": funds, "picked": set(), "typed": {}, "errors": [], "proposal": None}
    if request.method == "POST":
        lines, typed, errors = _proposal_inputs(request.POST, funds)
        context.update(picked={int(pk) for pk in request.POST.getlist("pick") if pk.isdigit()}, typed=typed,
                       errors=errors)
        if not errors:
            try:
                proposal = proposal_build(tenant=request.org, version=version, lines=lines)
                context["proposal"] = proposal
                if request.POST.get("accept"):
                    made = proposal_accept(tenant=request.org, actor=request.user, version=version, proposal=proposal)
                    messages.success(request, f"{made[0].reason}: {len(made)} transfer requests made.")
                    return _back_to_list(request)
            except DomainError as exc:
                context["errors"] = [exc.message]
    # One collapsible block per account: open where a line is picked (or when there is one account).
    groups = funds_by_account(funds)
    context["groups"] = [{"account": g, "open": len(groups) == 1 or any(f.line_id in context["picked"] for f in g.lines),
                          "picked": sum(f.line_id in context["picked"] for f in g.lines),
                          "rows": [(f, context["typed"].get(f.line_id, {})) for f in g.lines]} for g in groups]
    return render(request, "budgets/transfer_proposal.html", context)


urlpatterns = [
    path("transfers/", transfers, name="transfers"),
    path("transfers/export/", transfers_export, name="transfers_export"),
    path("versions/<int:version_pk>/transfers/new/", transfer_create, name="transfer_create"),
    path("versions/<int:version_pk>/transfers/lines/", transfer_lines, name="transfer_lines"),
    path("versions/<int:version_pk>/proposal/", transfer_proposal, name="transfer_proposal"),
    path("transfers/<int:pk>/approve/", transfer_approve_view, name="transfer_approve"),
    path("transfers/<int:pk>/reject/", transfer_reject_view, name="transfer_reject"),
    path("transfers/<int:pk>/cancel/", transfer_cancel_view, name="transfer_cancel"),
]
