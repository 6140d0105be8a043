"""`python manage.py import_costs FILE --org SLUG --format csv|focus`: import cost items now, in this process.

The same rules and the same service as an upload on the Costs → Import page. When the file is
refused, every bad row goes to stderr and the exit code is 1; on success one summary line is
printed (a file imported before says so, and changes nothing).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from costs.importers import FORMATS
from costs.services import cost_import_create, cost_import_run
from finops.errors import DomainError
from finops.imports import command_inputs
from finops.jobs.models import JobStatus


class Command(BaseCommand):
    help = "Import cost items from a FOCUS export or a generic cost file (CSV or XLSX) into an organisation."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file")
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="source_format",
                            help="focus: a FOCUS 1.x export; csv: date, vendor, description, amount, currency, "
                                 "cost_center, account, tags")
        parser.add_argument("--user", default="", help="e-mail of the member recorded as the importer (optional)")

    def handle(self, *args, file: str, org: str, source_format: str, user: str, **options):
        inputs = command_inputs(org=org, file=file, user=user)
        try:
            job = cost_import_create(tenant=inputs.tenant, actor=inputs.actor, filename=inputs.filename,
                                     data=inputs.data, source_format=source_format, enqueue=False)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not job.is_finished:
            job = cost_import_run(tenant=inputs.tenant, job_id=job.pk)
        if job.status == JobStatus.FAILED:
            for error in job.errors:
                prefix = f"line {error['line']}: " if error["line"] else ""
                self.stderr.write(f"{prefix}{error['message']}")
            if job.error_count > len(job.errors):
                self.stderr.write(f"… and {job.error_count - len(job.errors):,} more.")
            raise CommandError(f"{inputs.filename}: {job.message}")
        self.stdout.write(f"{inputs.filename}: {job.message}")
