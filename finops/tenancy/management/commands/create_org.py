"""`manage.py create_org SLUG --name NAME --currency CUR [--fiscal-year-start MONTH]`.

The same service and checks as the web form; a refusal goes to stderr and exits with status 1.
Add its first admin with `manage.py add_member EMAIL --org SLUG --role admin`.
"""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError

from finops.errors import DomainError
from finops.tenancy.services import organization_create


def month(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month number (1–12)") from None


class Command(BaseCommand):
    help = "Create an organisation (tenant)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="lower-case letters, digits and hyphens; used in its URLs /o/<slug>/")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", required=True, help="reporting currency, e.g. USD")
        parser.add_argument("--fiscal-year-start", type=month, default=1, metavar="MONTH",
                            help="month the fiscal year starts in, 1–12 (default 1: January)")

    def handle(self, *args, slug: str, name: str, currency: str, fiscal_year_start: int, **options):
        if not name.strip():
            raise CommandError("The name must not be empty.")
        try:
            org = organization_create(slug=slug, name=name, currency=currency, fiscal_year_start=fiscal_year_start)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Created {org.name} (/o/{org.slug}/), reporting in {org.reporting_currency}, "
            f"fiscal year from month {org.fiscal_year_start_month}."
        ))
