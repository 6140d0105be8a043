"""`python manage.py import_actuals FILE --org SLUG`: import GL actuals now, in this process.

The same rules and the same service as an upload on the Imports page. When the file is refused,
every bad row goes to stderr and the exit code is 1; on success one summary line is printed.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from finops.errors import DomainError
from finops.ledger.importers import import_job_create, import_job_run
from finops.ledger.models import ImportStatus
from finops.tenancy.models import Organization


class Command(BaseCommand):
    help = "Import GL actuals (journal lines) from a CSV or XLSX file into an organisation's ledger."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file")
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--user", default="", help="e-mail of the user recorded as the importer (optional)")

    def handle(self, *args, file: str, org: str, user: str, **options):
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
        try:
            job = import_job_create(tenant=tenant, actor=actor, filename=path.name, data=data, enqueue=False)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        job = import_job_run(tenant=tenant, job_id=job.pk)
        if job.status == ImportStatus.FAILED:
            for error in job.errors:
                prefix = f"line {error['line']}: " if error["line"] else ""
                self.stderr.write(f"{prefix}{error['message']}")
            if job.error_count > len(job.errors):
                self.stderr.write(f"… and {job.error_count - len(job.errors):,} more.")
            raise CommandError(f"{path.name}: {job.message}")
        self.stdout.write(f"{path.name}: {job.message}")
