"""python manage.py evaluate_variance --org SLUG [--as-of YYYY-MM-DD] [--dry-run]"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from finops.notifications.outbox import outbox_send
from finops.tenancy.models import Organization

from ...alerts.email import KIND
from ...alerts.evaluation import alerts_evaluate


class Command(BaseCommand):
    help = "Evaluate variance alert rules of an organisation; record and e-mail new alerts."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--as-of", help="date to evaluate (default today), YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help="print what would be alerted; record nothing")

    def handle(self, *args, org, as_of=None, dry_run=False, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError:
            raise CommandError(f"--as-of must be a date like 2026-03-31, not {as_of!r}.") from None
        result = alerts_evaluate(tenant=tenant, as_of=day, dry_run=dry_run)
        for b in result.breaches:
            pct = "" if b.pct is None else f" ({b.pct} %)"
            self.stdout.write(f"{b.rule.name}: {b.account_code} {b.cost_center_code or '-'} {b.period.start:%Y-%m} "
                              f"actual {b.actual} budget {b.budget} variance {b.variance}{pct} — {b.threshold}")
        for rule in result.failed:
            self.stderr.write(f"{rule.name}: could not be evaluated and was skipped (see the log).")
        if dry_run:
            self.stdout.write(f"Dry run: {len(result.breaches)} breach(es); nothing recorded.")
            return
        sent = outbox_send(tenant=tenant, kind=KIND)
        self.stdout.write(f"{result.alerts_created} new alert(s), {result.deliveries_created} delivery(ies), "
                          f"{sent} e-mail(s) sent.")
