"""`manage.py import_chart FILE --org SLUG`: entities, accounts and cost centers from a CSV or XLSX file.

Same rules as every import (see finops.ledger.chart_import): any bad row and nothing is written;
each problem goes to stderr with its line number, and the command exits with status 1.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from finops.imports import command_inputs
from finops.ledger.chart_import import chart_import


class Command(BaseCommand):
    help = "Import a chart (CSV or XLSX: kind, code, name, type, currency, parent) into an organisation."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file")
        parser.add_argument("--org", required=True, metavar="SLUG", help="the organisation's slug")

    def handle(self, *args, file: str, org: str, **options):
        inputs = command_inputs(org=org, file=file)
        tenant = inputs.tenant
        result = chart_import(tenant=tenant, actor=None, data=inputs.data, filename=inputs.filename)
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(result.summary())
        self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: {result.summary()}"))
