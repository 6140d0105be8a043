"""The budget grid: one version as rows account × cost center and the 12 months of its fiscal
year, edited like a spreadsheet. Reads come from one SQL pivot (`selectors.version_lines`) and
one read of the cost centers; rows are grouped by the cost-center tree (`selectors.grid_tree`),
each group headed by its subtree's subtotal, collapsible in the page (the state is the
browser's, per version). Every write goes through `services.budget_lines_set` /
`budget_line_spread`, which refuse a version that is not draft or rejected. A cell edit answers
with the row and, out of band, the column totals and the subtotal rows of its cost center and
those above it; a paste or a spread answers with the whole grid; a refusal answers 422 with the
message where the user is looking, and nothing typed is lost. The twelve cells of a row are
written in Python (`grid_markup`): a 300-row page stays well under the time of a click."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.imports import NUMBER_HINT, parse_amount
from finops.ledger.money import minor_units
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action, can

from ..forms import BudgetUploadForm, RejectForm, RowPickForm, SpreadForm
from ..models import FINAL_STATUSES
from ..selectors import (
    GridRow,
    access_version,
    budget_periods,
    cost_center_nodes,
    grid_row_empty,
    grid_row_labels,
    grid_totals,
    grid_tree,
    version_lines,
    version_list,
)
from ..services.cells import Cell, budget_line_spread, budget_lines_set
from ..transfers.selectors import version_transfer_counts
from .grid_markup import GridFormat, GroupView, RowView, row_options

TEMPLATE = "budgets/version_grid.html"
MAX_PASTE_CELLS = 12 * 2000


def grid_row_view(row: GridRow, fmt: GridFormat, *, depth: int = 0, errors: dict | None = None,
                  typed: dict | None = None) -> RowView:
    """What the template needs for one row: its cells with any error and the text typed."""
    return RowView(row, fmt, depth=depth, errors=errors, typed=typed)


def grid_context(request, version, rows: list[GridRow] | None = None, *, include: tuple = ()) -> dict:
    """The grid of `version`: groups in cost-center tree order (each with its subtree's subtotal
    and its own rows), the months, column totals, and whether this user may edit it now.
    `include` names cost centers to keep as groups even without rows (a row just cleared)."""
    tenant = request.org
    rows = version_lines(tenant=tenant, version=version) if rows is None else rows
    periods = budget_periods(tenant=tenant, budget=version.budget)
    editable = version.is_editable and can(request.membership.role, Action.WRITE)
    fmt = GridFormat(str(version.budget.entity.functional_currency), editable,
                     tuple(f"{p.start:%b %Y}" for p in periods))
    groups = [GroupView(g, fmt, [grid_row_view(r, fmt, depth=g.depth) for r in g.rows])
              for g in grid_tree(rows, cost_center_nodes(tenant=tenant), include=include)]
    return {
        "version": version, "budget": version.budget, "currency": fmt.currency, "fmt": fmt,
        "periods": periods, "groups": groups, "row_count": len(rows),
        "totals": grid_totals(rows), "editable": editable, "row_options": row_options(groups),
        "collapse_key": f"finops:grid-collapsed:{version.pk}",
    }


def _grid_response(request, version, *, status: int = 200, message: str = "") -> HttpResponse:
    if request.htmx:
        context = {**grid_context(request, version), "grid_message": message}
        return render(request, f"{TEMPLATE}#grid", context, status=status)
    if message:
        messages.success(request, message)
    return redirect("budgets:version", org_slug=request.org.slug, pk=version.pk)


def _problems_response(request, version, problems: list[str]) -> HttpResponse:
    """422 with the problems, shown above the grid (htmx) or on the page; nothing was saved."""
    if request.htmx:
        response = render(request, f"{TEMPLATE}#problems", {"problems": problems}, status=422)
        response["HX-Retarget"] = "#grid-messages"
        response["HX-Reswap"] = "innerHTML"
        return response
    for problem in problems:
        messages.error(request, problem)
    return redirect("budgets:version", org_slug=request.org.slug, pk=version.pk)


@org_view(Action.VIEW)
def version(request, pk: int):
    """The grid page. With `account` (and `cost_center`) in the query it adds that empty row:
    as the row partial for htmx, else on the whole page."""
    found = access_version(tenant=request.org, pk=pk)
    picker = RowPickForm(request.GET if "account" in request.GET else None, tenant=request.org)
    added = None
    if picker.is_bound and picker.is_valid():
        cc = picker.cleaned_data["cost_center"]
        added = grid_row_empty(tenant=request.org, account_id=picker.cleaned_data["account"].pk,
                           cc_id=cc.pk if cc else None)
    context = grid_context(request, found)
    if request.htmx and picker.is_bound and request.htmx.target == "grid-added":
        if added is None:
            return _problems_response(request, found, [e for errs in picker.errors.values() for e in errs])
        return render(request, f"{TEMPLATE}#row", {**context, "r": grid_row_view(added, context["fmt"])})
    context.update({
        "added": grid_row_view(added, context["fmt"]) if added else None, "picker": picker,
        "spread_form": SpreadForm(), "upload_form": BudgetUploadForm(), "reject_form": RejectForm(),
        "versions": version_list(tenant=request.org, budget=found.budget_id),
        # Transfers move money only in a version in force; a draft has none to count.
        "in_force": found.status in FINAL_STATUSES,
        "transfer_counts": version_transfer_counts(tenant=request.org, version=found)
        if found.status in FINAL_STATUSES else {},
    })
    return render(request, TEMPLATE, context)


def _int_or_none(text) -> int | None | str:
    text = (text or "").strip()
    if not text or text in ("0", "null", "None"):
        return None
    return int(text) if text.isdigit() else "bad"


def _parse(text: str, currency: str) -> Decimal | None | str:
    """The amount typed in a cell (1234.5, 1,234.50, (12.00), -12), None when empty, else why not."""
    text = (text or "").replace("\u00a0", "").replace(" ", "").strip()
    if not text:
        return None
    parsed = parse_amount(text, minor_units(currency))
    if parsed is None:
        return f"“{text}” has more decimals than {currency} allows ({minor_units(currency)})."
    if isinstance(parsed, str):
        return f"“{text}” {parsed if parsed != NUMBER_HINT else 'is not a number like 1,234.50'}."
    return parsed


def _present_groups(text: str | None) -> set[int] | None:
    """The group headers the page shows (`groups`, sent by the grid's script), or None: all."""
    if text is None:
        return None
    return {int(part) for part in text.split(",") if part.strip().isdigit()}


def _row_response(request, version, account_id: int, cc_id: int | None, *, status=200, errors=None, typed=None):
    """The row, and out of band the column totals and the subtotal rows of its cost center and
    every one above it (those the page shows: a row added in a new cost center has no header yet)."""
    rows = version_lines(tenant=request.org, version=version)
    row = next((r for r in rows if r.account_id == account_id and r.cost_center_id == cc_id), None)
    row = row or grid_row_empty(tenant=request.org, account_id=account_id, cc_id=cc_id)
    context = grid_context(request, version, rows, include=(cc_id,))
    own = next(g for g in context["groups"] if g.key == (cc_id or 0))
    chain = {own.key, *own.group.ancestors}
    present = _present_groups(request.POST.get("groups"))
    html = render_to_string(f"{TEMPLATE}#row", {
        **context, "r": grid_row_view(row, context["fmt"], depth=own.group.depth, errors=errors, typed=typed)},
        request=request)
    html += render_to_string(f"{TEMPLATE}#totals", {**context, "oob": True}, request=request)
    for g in context["groups"]:
        if g.key in chain and (present is None or g.key in present):
            html += render_to_string(f"{TEMPLATE}#group_head", {**context, "g": g, "oob": True}, request=request)
    return HttpResponse(html, status=status)


@org_view(Action.WRITE)
@require_POST
def grid_cell(request, pk: int):
    """Set one cell (account, cost_center, month, amount). Answers with the row and, out of
    band, the column totals; a bad amount or a refusal shows in the cell, keeping what was typed."""
    found = access_version(tenant=request.org, pk=pk)
    account_id, cc_id = _int_or_none(request.POST.get("account")), _int_or_none(request.POST.get("cost_center"))
    month = _int_or_none(request.POST.get("month"))
    if not isinstance(account_id, int) or cc_id == "bad" or not isinstance(month, int) or not 1 <= month <= 12:
        return _problems_response(request, found, ["That cell is not part of this grid."])
    if grid_row_empty(tenant=request.org, account_id=account_id, cc_id=cc_id) is None:
        return _problems_response(request, found, ["That cell is not part of this grid."])
    text = request.POST.get("amount", "")
    amount = _parse(text, str(found.budget.entity.functional_currency))
    if isinstance(amount, str):
        return _row_response(request, found, account_id, cc_id, status=422, errors={month: amount},
                             typed={month: text})
    period = budget_periods(tenant=request.org, budget=found.budget)[month - 1]
    try:
        budget_lines_set(tenant=request.org, actor=request.user, version=found,
                         cells=[Cell(account_id, cc_id, period, amount)])
    except DomainError as exc:  # e.g. the version is no longer editable: said above the grid
        return _problems_response(request, found, [exc.message])
    if not request.htmx:
        return redirect("budgets:version", org_slug=request.org.slug, pk=found.pk)
    return _row_response(request, found, account_id, cc_id)


def _whole(value) -> int:
    """A pasted row or month id: a whole number as JSON or digits, never 1.5 taken as 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


@org_view(Action.WRITE)
@require_POST
def grid_paste(request, pk: int):
    """A rectangular block pasted at a cell: `cells` is JSON [[account, cost_center, month, text], …].
    All or nothing: every bad cell is named by its row and month, and then nothing is saved."""
    found = access_version(tenant=request.org, pk=pk)
    try:
        raw = json.loads(request.POST.get("cells", ""))
        assert isinstance(raw, list) and 0 < len(raw) <= MAX_PASTE_CELLS
        items = [(_whole(a), _whole(c) if c not in (None, "") else None, _whole(m), str(t)) for a, c, m, t in raw]
    except (ValueError, TypeError, AssertionError):
        return _problems_response(request, found, ["Nothing to paste: copy a block of cells from a spreadsheet."])
    currency = str(found.budget.entity.functional_currency)
    periods = budget_periods(tenant=request.org, budget=found.budget)
    labels = grid_row_labels(tenant=request.org, keys={(a, c) for a, c, _, _ in items})
    problems, cells = [], []
    for account_id, cc_id, month, text in items:
        label = labels.get((account_id, cc_id))
        if label is None:
            problems.append("A pasted row is not part of this grid.")
            continue
        if not 1 <= month <= 12:
            problems.append(f"Row {label}: the block is wider than the months to the right of the cursor.")
            continue
        amount = _parse(text, currency)
        if isinstance(amount, str):
            problems.append(f"Row {label}, {periods[month - 1].start:%b %Y}: {amount}")
            continue
        cells.append(Cell(account_id, cc_id, periods[month - 1], amount))
    if problems:
        return _problems_response(request, found, [*dict.fromkeys(problems), "Nothing was pasted."])
    try:
        result = budget_lines_set(tenant=request.org, actor=request.user, version=found, cells=cells)
    except DomainError as exc:
        return _problems_response(request, found, exc.errors or [exc.message])
    return _grid_response(request, found, message=f"Pasted {len(cells)} cells: {result.created} new, "
                                                  f"{result.updated} changed, {result.deleted} cleared.")


@org_view(Action.WRITE)
@require_POST
def grid_spread(request, pk: int):
    """One row's phasing tool: annual amount → months (even, % profile, last year's pattern),
    last year's actuals ± %, or fill right."""
    found = access_version(tenant=request.org, pk=pk)
    form = SpreadForm(request.POST)
    if not form.is_valid():
        return _problems_response(request, found, [f"{form.fields[f].label if f in form.fields else 'Spread'}: {e}"
                                                   for f, errs in form.errors.items() for e in errs])
    data = form.cleaned_data
    account_id, cc_id = data["row"]
    annual = _parse(data["annual"], str(found.budget.entity.functional_currency)) if data["annual"] else None
    if isinstance(annual, str):
        return _problems_response(request, found, [f"Annual amount: {annual}"])
    try:
        result = budget_line_spread(tenant=request.org, actor=request.user, version=found, account=account_id,
                                    cost_center=cc_id, method=data["method"], annual=annual, profile=data["profile"],
                                    pct=data["pct"], start=data["start"])
    except DomainError as exc:
        return _problems_response(request, found, exc.errors or [exc.message])
    return _grid_response(request, found, message=result.note or f"Spread: {result.changed} months changed.")


urlpatterns = [
    path("versions/<int:pk>/", version, name="version"),
    path("versions/<int:pk>/cell/", grid_cell, name="grid_cell"),
    path("versions/<int:pk>/paste/", grid_paste, name="grid_paste"),
    path("versions/<int:pk>/spread/", grid_spread, name="grid_spread"),
]
