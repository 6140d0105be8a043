"""`manage.py import_chart FILE --org SLUG`: entities, accounts and cost centers from a CSV or XLSX file.

Same rules as every import (see finops.ledger.chart_import): any bad row and nothing is written;
each problem goes to stderr with its line number, and the command exits with status 1.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from finops.errors import DomainError
from finops.imports import command_inputs
from finops.jobs.models import JobStatus
from finops.ledger.chart_import import chart_import_job_create, chart_import_job_run


class Command(BaseCommand):
    help = "Import a chart (CSV or XLSX: kind, code, name, type, currency, parent) into an organisation."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file")
        parser.add_argument("--org", required=True, metavar="SLUG", help="the organisation's slug")

    def handle(self, *args, file: str, org: str, **options):
        inputs = command_inputs(org=org, file=file)
        tenant = inputs.tenant
        try:
            job = chart_import_job_create(tenant=tenant, actor=None, filename=inputs.filename, data=inputs.data,
                                          enqueue=False)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        job = chart_import_job_run(tenant=tenant, job_id=job.pk)  # the same job a worker runs, here
        if job.status != JobStatus.SUCCEEDED:
            for error in job.errors:
                self.stderr.write(f"line {error['line']}: {error['message']}" if error["line"] else error["message"])
            if job.error_count > len(job.errors):
                self.stderr.write(f"… and {job.error_count - len(job.errors):,} more.")
            raise CommandError(job.message)
        self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: {job.message}"))
