"""Consolidated budget vs actual: every entity's budget in force for a fiscal year, in the
organisation's reporting currency, with the variance split into operational and FX effect; CSV
and XLSX of the same rows (`?format=csv|xlsx`). The numbers come from `budgets.consolidation`."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from finops.errors import DomainError
from finops.exports import MONEY, PCT, Column, Sheet, export_filename, sheet_response
from finops.tenancy.context import tenant_context
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..consolidation import (
    Consolidated,
    ConsolidatedRow,
    consolidated_budget_vs_actual,
    consolidation_budgets,
    consolidation_default_year,
)
from ..forms import ConsolidatedFilterForm
from ..models import Budget
from ..reports import report_default_month

TEMPLATE = "budgets/consolidated_report.html"


@org_view(Action.VIEW)
@require_GET
def consolidated(request):
    org, today = request.org, date.today()
    with tenant_context(org):
        everything = list(Budget.objects.select_related("entity"))
    form = ConsolidatedFilterForm(request.GET or None, tenant=org, budgets=everything)
    choices = form.choices(default_year=consolidation_default_year(tenant=org, budgets=everything, today=today))
    year = choices["fiscal_year"]
    default = report_default_month(tenant=org, fiscal_year=year, today=today)
    month = choices["month"] or default
    report, problem = None, ""
    try:
        report = consolidated_budget_vs_actual(tenant=org, fiscal_year=year, period=month, basis=choices["basis"],
                                               group_by=choices["group_by"], budgets=choices["budgets"], as_of=today)
    except DomainError as exc:
        problem = exc.message
        if "fiscal year" in exc.message and choices["month"]:  # a month outside the year: its field says so
            form.add_error("month", exc.message)
            problem = ""
            report = consolidated_budget_vs_actual(
                tenant=org, fiscal_year=year, period=default, basis=choices["basis"],
                group_by=choices["group_by"], budgets=choices["budgets"], as_of=today)
    fmt = request.GET.get("format")
    if report is not None and fmt in ("csv", "xlsx"):
        return sheet_response(fmt, export_sheet(org, report))
    query = urlencode([(k, val) for k, vals in request.GET.lists() if k != "format" for val in vals if val])
    context = {"form": form, "report": report, "problem": problem, "fiscal_year": year,
               "year_budgets": consolidation_budgets(tenant=org, fiscal_year=year),
               "chosen": {v.budget_id for v in report.versions} if report else set(),
               "grouped": set(report.group_by) if report else {"account"}, "query": query,
               "label_columns": 1 + len({"entity", "cost_center"} & set(report.group_by)) if report else 1,
               "years": sorted({b.fiscal_year for b in everything}, reverse=True)}
    return render(request, TEMPLATE, context)


def export_sheet(org, report: Consolidated) -> Sheet:
    compared = "Paced budget" if report.paced else "Budget"
    grouped = report.group_by
    columns = [*([Column("Entity")] if "entity" in grouped else []), Column("Account"), Column("Account name"),
               *([Column("Cost center")] if "cost_center" in grouped else []), Column("Type"),
               Column("Actual", MONEY), Column(compared, MONEY), Column("Variance", MONEY), Column("Variance %", PCT),
               Column("F/U"), Column("Actual at budget rate", MONEY), Column("Operational variance", MONEY),
               Column("FX effect", MONEY), Column("Whole budget", MONEY), Column("Consumed %", PCT)]

    def values(r: ConsolidatedRow):
        return [*([r.entity_code or ""] if "entity" in grouped else []), r.account_code or r.label,
                r.account_name or "", *([r.cost_center_code or ""] if "cost_center" in grouped else []),
                "" if r.is_total else r.account_type, r.actual, r.compared_with, r.variance, r.variance_pct,
                "F" if r.favourable else "U", r.actual_at_budget_rate, r.operational, r.fx_effect, r.budget,
                r.consumed_pct]

    entities = ", ".join(f"{v.budget.name} v{v.number} ({v.budget.entity.code})" for v in report.versions)
    period = f"{report.start:%b %Y}" + (f" – {report.end:%b %Y}" if report.start != report.end else "")
    return Sheet(
        title="Consolidated budget vs actual", columns=columns, currency=report.currency,
        about=[org.name, f"FY{report.fiscal_year} in {report.currency}", entities,
               report.basis_words[:1].upper() + report.basis_words[1:], period,
               "actuals at the month's average rate, budgets at the budget rate; natural sign; F = favourable",
               *[m.message for m in report.missing_rates]],
        rows=(values(r) for r in report.rows), totals=[values(t) for t in report.totals],
        filename=export_filename("consolidated-budget-vs-actual", org.slug, f"fy{report.fiscal_year}",
                                 f"{report.basis}-{report.month:%Y-%m}"))


urlpatterns = [path("consolidated/", consolidated, name="consolidated")]
