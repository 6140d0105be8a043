"""`python manage.py cost_summary --org SLUG [--by provider|service|cost_center|account|month]
[--from YYYY-MM-DD --to YYYY-MM-DD]`: billed and effective cost as CSV on stdout.

Columns `key, currency, billed_cost, effective_cost, items`; amounts with 2 decimals, rounded
once from the full-precision sums (`costs.selectors.cost_summary`); without --by, one row per
currency (key `total`). The period filters on the day each charge period starts.
"""

from __future__ import annotations

import argparse
import csv
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from costs.selectors import SUMMARY_BY, SUMMARY_COLUMNS, cost_summary
from finops.errors import DomainError
from finops.tenancy.models import Organization


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Write an organisation's cost summary (billed and effective cost per key and currency) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--by", choices=list(SUMMARY_BY), default=None, help="group by this (default: none)")
        parser.add_argument("--from", dest="date_from", type=_day, default=None, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=_day, default=None, help="last day, YYYY-MM-DD")

    def handle(self, *args, org: str, by: str | None, date_from: date | None, date_to: date | None, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        try:
            rows = cost_summary(tenant=tenant, by=by, date_from=date_from, date_to=date_to)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        out = csv.writer(self.stdout, lineterminator="\n")
        out.writerow(SUMMARY_COLUMNS)
        for row in rows:
            out.writerow(row.as_tuple())
