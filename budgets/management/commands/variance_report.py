"""`python manage.py variance_report --org SLUG --budget NAME --period YYYY-MM [--basis month|ytd]
[--format csv]`: budget vs actual as CSV on stdout.

Columns `entity, account, cost_center, period, budget, actual, variance, variance_pct,
favourable`, one row per entity × account × cost center: amounts in natural sign with 2
decimals, `variance_pct` empty when the budget is 0, `favourable` true/false, `period` the month
asked for (YYYY-MM). The version compared is the budget's current approved or locked one, else
its latest (said on stderr). The numbers are `budgets.reports.budget_vs_actual`'s, as on the page.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from budgets.reports import budget_vs_actual
from budgets.selectors import budget_by_name, version_in_force, version_latest
from budgets.variance import Basis
from finops.errors import DomainError
from finops.exports import neutralise
from finops.tenancy.models import Organization

HEADER = ["entity", "account", "cost_center", "period", "budget", "actual", "variance", "variance_pct", "favourable"]
CENTS = Decimal("0.01")


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENTS):f}"


class Command(BaseCommand):
    help = "Budget vs actual of one budget for one month (or year to date) as CSV on stdout."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--budget", required=True, help="the budget's name")
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--basis", default=Basis.MONTH, choices=[b.value for b in Basis],
                            help="month (default), qtd, ytd or full_year")
        parser.add_argument("--format", default="csv", choices=["csv"], help="csv (the only format)")

    def handle(self, *args, org: str, budget: str, period: str, basis: str, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        match = re.fullmatch(r"(\d{4})-(\d{2})", period.strip())
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) == 0:
            raise CommandError(f"--period {period!r}: enter a month as YYYY-MM.")
        month = date(int(match[1]), int(match[2]), 1)
        found = budget_by_name(tenant=tenant, name=budget)
        if found is None:
            raise CommandError(f"No budget named {budget!r} in {tenant.name}.")
        version = version_in_force(tenant=tenant, budget=found)
        if version is None:
            version = version_latest(tenant=tenant, budget=found)
            self.stderr.write(f"{found.name} has no approved or locked version: using its latest, "
                              f"v{version.number} ({version.get_status_display().lower()}).")
        else:
            self.stderr.write(f"{found.name}: using v{version.number} ({version.get_status_display().lower()}).")
        try:
            report = budget_vs_actual(tenant=tenant, version=version, period=month, basis=basis,
                                      group_by=("entity", "account", "cost_center"))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        out = csv.writer(self.stdout, lineterminator="\n")
        out.writerow(HEADER)
        for r in report.rows:
            out.writerow([
                neutralise(r.entity_code), neutralise(r.account_code), neutralise(r.cost_center_code or ""),
                f"{month:%Y-%m}", _money(r.budget), _money(r.actual), _money(r.variance),
                "" if r.variance_pct is None else f"{r.variance_pct:f}", "true" if r.favourable else "false",
            ])
