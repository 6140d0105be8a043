"""`python manage.py import_actuals FILE --org SLUG`: import GL actuals now, in this process.

The same rules and the same service as an upload on the Imports page. When the file is refused,
every bad row goes to stderr and the exit code is 1; on success one summary line is printed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from finops.errors import DomainError
from finops.imports import command_inputs
from finops.jobs.models import JobStatus
from finops.ledger.importers import import_job_create, import_job_run


class Command(BaseCommand):
    help = "Import GL actuals (journal lines) from a CSV or XLSX file into an organisation's ledger."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file")
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--user", default="", help="e-mail of the user recorded as the importer (optional)")

    def handle(self, *args, file: str, org: str, user: str, **options):
        inputs = command_inputs(org=org, file=file, user=user)
        tenant, actor, data = inputs.tenant, inputs.actor, inputs.data
        try:
            job = import_job_create(tenant=tenant, actor=actor, filename=inputs.filename, data=data, enqueue=False)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        job = import_job_run(tenant=tenant, job_id=job.pk)
        if job.status == JobStatus.FAILED:
            for error in job.errors:
                prefix = f"line {error['line']}: " if error["line"] else ""
                self.stderr.write(f"{prefix}{error['message']}")
            if job.error_count > len(job.errors):
                self.stderr.write(f"… and {job.error_count - len(job.errors):,} more.")
            raise CommandError(f"{inputs.filename}: {job.message}")
        self.stdout.write(f"{inputs.filename}: {job.message}")
