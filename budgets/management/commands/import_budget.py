"""`python manage.py import_budget FILE --org SLUG --budget NAME`: import budget cells now.

CSV (or XLSX) columns `entity, account, cost_center, period, amount`, `period` as YYYY-MM. The
budget is created (for the entity and the fiscal year of the first row's period, as a draft)
if it does not exist. All or nothing: when the file is refused, every bad row goes to stderr
with its line number and the exit code is 1; on success one summary line is printed.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from budgets.importers import budget_import
from finops.tenancy.models import Organization


class Command(BaseCommand):
    help = "Import a budget (account × cost center × month cells) from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file: entity, account, cost_center, period, amount")
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--budget", required=True, help="the budget's name (created if it does not exist)")
        parser.add_argument("--user", default="", help="e-mail of the user recorded as the importer (optional)")

    def handle(self, *args, file: str, org: str, budget: str, user: str, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(email__iexact=user, memberships__organization=tenant).first()
            if actor is None:
                raise CommandError(f"{user} is not a member of {tenant.name}.")
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        result = budget_import(tenant=tenant, actor=actor, data=data, filename=path.name, budget_name=budget)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{path.name}: {result.summary()}")
        self.stdout.write(f"{path.name}: {result.summary()}")
