"""Budget vs actual for one version: filters as a GET form (htmx swaps the table), every number a
link to what is behind it (actual → the journal lines, budget → the grid row), CSV and XLSX
exports of the same rows (`?format=csv|xlsx`). The numbers come from `budgets.reports`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from finops.errors import DomainError
from finops.exports import MONEY, MONTH, PCT, Column, Row, Sheet, export_filename, sheet_response
from finops.ledger.links import journal_lines_path
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..forms import VarianceFilterForm
from ..reports import SORTS, BudgetVsActual, VarianceRow, budget_vs_actual, report_default_month
from ..selectors import access_version

TEMPLATE = "budgets/variance_report.html"
PAGE_SIZE = 500  # lines per page; the totals and the exports always cover every line


class Links:
    """Drill-down addresses: an actual → the journal filtered to the same entity, account, cost
    center and months; a budget → the version's grid at that row."""

    def __init__(self, request, report: BudgetVsActual):
        slug, version = request.org.slug, report.version
        self.report = report
        self.slug = slug
        self.back = request.get_full_path()
        try:
            self.grid = reverse("budgets:version", kwargs={"org_slug": slug, "pk": version.pk})
        except NoReverseMatch:  # the grid page is not mounted: the report itself is the version page
            self.grid = ""

    def _actual(self, row: VarianceRow) -> str:
        start = end = row.period_start
        if start is None:
            start, end = self.report.start, self.report.end
        return journal_lines_path(org_slug=self.slug, entity_id=self.report.version.budget.entity_id,
                                  account_id=row.account_id, cost_center_id=row.cost_center_id, start=start, end=end,
                                  back=self.back)

    def actual(self, row: VarianceRow) -> str:
        if row.is_group:  # the journal filters one account, not a group
            return ""
        return self._actual(row)

    def budget(self, row: VarianceRow) -> str:
        if not self.grid:
            return ""
        if row.is_group:
            return self.grid
        if row.account_id and row.cost_center_code is not None:
            return f"{self.grid}#row-{row.account_id}-{row.cost_center_id or 0}"
        return self.grid


@org_view(Action.VIEW)
@require_GET
def variance(request, pk: int):
    version = access_version(tenant=request.org, pk=pk)
    form = VarianceFilterForm(request.GET or None, tenant=request.org)
    default = report_default_month(tenant=request.org, fiscal_year=version.budget.fiscal_year)
    choices = form.choices(default_month=default)
    try:
        report = budget_vs_actual(tenant=request.org, version=version, **choices)
    except DomainError as exc:
        form.add_error("month" if "fiscal year" in exc.message else None, exc.message)
        choices["period"] = default
        report = budget_vs_actual(tenant=request.org, version=version, **choices)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return sheet_response(fmt, export_sheet(request.org, report))
    links = Links(request, report)
    page = Paginator(report.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    lines = [{"row": r, "actual_url": links.actual(r), "budget_url": links.budget(r)} for r in page.object_list]
    totals = [{"row": r, "actual_url": links.actual(r), "budget_url": links.grid} for r in report.totals]
    query = urlencode([(k, val) for k, vals in request.GET.lists() if k not in ("format", "page")
                       for val in vals if val])
    unsorted = urlencode([(k, val) for k, vals in request.GET.lists() if k not in ("format", "page", "sort")
                          for val in vals if val])
    context = {"version": version, "budget": version.budget, "form": form, "report": report, "lines": lines,
               "page": page, "sorts": _sort_links(request.path, unsorted, report.view.sort),
               "totals": totals, "query": query, "grouped": set(report.group_by),
               "label_columns": 1 + len([g for g in report.group_by if g != "account"])}
    partial = request.htmx and request.htmx.target == "variance-table" and not request.htmx.history_restore_request
    response = render(request, f"{TEMPLATE}#table" if partial else TEMPLATE, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _sort_links(path: str, query: str, current: str) -> dict:
    """Each sortable column's header link: ascending first, then descending, with `aria-sort`."""
    links = {}
    for key in SORTS:
        state = "ascending" if current == key else "descending" if current == f"-{key}" else None
        following = f"-{key}" if state == "ascending" else key
        links[key] = {"url": f"{path}?{query + '&' if query else ''}sort={following}", "state": state}
    return links


def export_sheet(org, report: BudgetVsActual) -> Sheet:
    """Budget vs actual as a sheet to hand on: every line (not the page), the per-type totals and
    the net result, the basis in words; with a paced report, the budget compared with is the paced
    one and the whole budget and consumed % follow."""
    budget = report.version.budget
    compared = "Paced budget" if report.paced else "Budget"
    columns = [Column("Entity"), Column("Account"), Column("Account name"), Column("Cost center"),
               Column("Month", MONTH), Column("Type"), Column("Actual", MONEY), Column(compared, MONEY),
               Column("Variance", MONEY), Column("Variance %", PCT), Column("F/U"),
               Column("Whole budget", MONEY), Column("Consumed %", PCT), Column("Full-year run rate", MONEY)]

    def values(r: VarianceRow, label: str = ""):
        return [r.entity_code or budget.entity.code, r.account_code or label, r.account_name or "",
                r.cost_center_code or "", r.period_start or report.month, r.account_type if not label else "",
                r.actual, r.compared_with, r.variance, r.variance_pct, "F" if r.favourable else "U", r.budget,
                r.consumed_pct, r.projection]

    def line(r: VarianceRow):
        # A rolled-up report: a group's subtotal in bold, its members indented under it (the name).
        if r.is_group:
            group = values(r)
            group[2], group[3], group[4] = f"{r.account_name} (group)", "", r.period_start or report.month
            return Row(group, bold=True, indent=r.depth, indent_at=2)
        return Row(values(r), indent=r.depth, indent_at=2) if r.depth else values(r)

    period = f"{report.start:%b %Y}" + (f" – {report.end:%b %Y}" if report.start != report.end else "")
    return Sheet(
        title="Budget vs actual", columns=columns, currency=report.currency,
        about=[org.name, f"{budget.name} v{report.version.number}", f"{budget.entity.code} · {report.currency}",
               report.basis_words[:1].upper() + report.basis_words[1:], period, "natural sign; F = favourable",
               *report.view_words],
        rows=(line(r) for r in report.rows), totals=[values(t, t.label) for t in report.totals],
        filename=export_filename("budget-vs-actual", org.slug, budget.entity.code, f"fy{budget.fiscal_year}",
                                 f"{report.basis}-{report.month:%Y-%m}"))


urlpatterns = [path("versions/<int:pk>/variance/", variance, name="variance")]
