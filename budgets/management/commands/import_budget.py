"""`python manage.py import_budget FILE --org SLUG --budget NAME`: import budget cells now.

CSV (or XLSX) columns `entity, account, cost_center, period, amount`, `period` as YYYY-MM. The
budget is created (for the entity and the fiscal year of the first row's period, as a draft)
if it does not exist. All or nothing: when the file is refused, every bad row goes to stderr
with its line number and the exit code is 1; on success one summary line is printed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from budgets.importers import budget_import
from finops.imports import command_inputs


class Command(BaseCommand):
    help = "Import a budget (account × cost center × month cells) from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file: entity, account, cost_center, period, amount")
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--budget", required=True, help="the budget's name (created if it does not exist)")
        parser.add_argument("--user", default="", help="e-mail of the user recorded as the importer (optional)")

    def handle(self, *args, file: str, org: str, budget: str, user: str, **options):
        inputs = command_inputs(org=org, file=file, user=user)
        tenant, actor, data = inputs.tenant, inputs.actor, inputs.data
        result = budget_import(tenant=tenant, actor=actor, data=data, filename=inputs.filename, budget_name=budget)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{inputs.filename}: {result.summary()}")
        self.stdout.write(f"{inputs.filename}: {result.summary()}")
