"""`manage.py seed_demo`: the demo organisations, and optionally millions of synthetic lines.

    manage.py seed_demo                          acme and globex, 24 months, seed 42
    manage.py seed_demo --scale 1000000          ... plus a million lines in acme
    manage.py seed_demo --org load-1 --accounts 300 --cost-centers 60 --scale 5000000
                                                 a wide organisation for load tests, and 5M lines

Running it again adds nothing that exists already (see finops.demo.orgs).
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from finops.demo import orgs as demo
from finops.demo import volume
from finops.errors import DomainError
from finops.tenancy.models import Organization
from finops.tenancy.permissions import Role


class Command(BaseCommand):
    help = "Create the demo organisations (acme, globex) with 24 months of books; --scale adds synthetic lines."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default 42)")
        parser.add_argument("--months", type=int, default=demo.DEFAULT_MONTHS, help="months of history (default 24)")
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="pretend today is this date (YYYY-MM-DD); the window ends with its month")
        parser.add_argument("--scale", type=int, default=0, metavar="N", help="also add N synthetic journal lines")
        parser.add_argument("--org", default="acme", metavar="SLUG",
                            help="organisation for --scale (default acme, which seeds the demo organisations);"
                                 " a new slug needs --accounts/--cost-centers")
        parser.add_argument("--accounts", type=int, default=0, help="create --org with this many accounts")
        parser.add_argument("--cost-centers", type=int, default=0, help="... and this many cost centers")
        parser.add_argument("--chunk", type=int, default=demo.CHUNK_LINES, help="lines per COPY statement")

    def handle(self, *args, seed, months, today, scale, org, accounts, cost_centers, chunk, **options):
        if not 1 <= months <= 120:
            raise CommandError("--months must be between 1 and 120.")
        if scale < 0 or scale == 1:
            raise CommandError("--scale needs at least 2 lines (an entry has two sides).")
        if chunk < 2:
            raise CommandError("--chunk must be at least 2.")
        wide = accounts or cost_centers
        if accounts < 0 or cost_centers < 0:
            raise CommandError("--accounts and --cost-centers must not be negative.")
        if wide and org in demo.ORG_SPECS:
            raise CommandError(f"--accounts/--cost-centers shape a load-test organisation: name it with --org, "
                               f"not {org!r}, which is a demo organisation.")
        try:
            if org in demo.ORG_SPECS:
                for result in demo.demo_seed(seed=seed, today=today, months=months):
                    self._report(result)
            elif wide:
                volume.wide_org_create(slug=org, accounts=accounts or 300, cost_centers=cost_centers or 60)
                self.stdout.write(f"{org}: {accounts or 300} accounts × {cost_centers or 60} cost centers.")
            elif not Organization.objects.filter(slug=org).exists():
                raise CommandError(f"No organisation {org!r}: create it, or pass --accounts/--cost-centers.")
            if scale:
                target = Organization.objects.get(slug=org)
                self._scale(target, scale, seed=seed, months=months, today=today, chunk=chunk)
        except (DomainError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _report(self, result: demo.SeedResult) -> None:
        state = "created" if result.created else "exists"
        added = f"{result.entries:,} entries, {result.lines:,} lines added" if result.entries else "nothing to add"
        if result.extras and not result.entries:
            added = "no new entries"
        self.stdout.write(f"{result.slug}: {state}, {added}.")
        for extra in result.extras:
            self.stdout.write(f"  {extra}.")
        if result.created:
            logins = ", ".join(f"{role}@{result.slug}.example" for role in Role.values)
            self.stdout.write(f"  logins: {logins} (password {demo.DEMO_PASSWORD})")

    def _scale(self, org, lines: int, **kwargs) -> None:
        def progress(so_far: volume.ScaleResult) -> None:
            self.stdout.write(f"  {so_far.lines:>12,} lines  {so_far.lines_per_second:>10,.0f} lines/s")

        result = volume.scale_lines(org=org, lines=lines, seed=kwargs["seed"], months=kwargs["months"],
                                  today=kwargs["today"], chunk_lines=kwargs["chunk"], progress=progress)
        if result.skipped_chunks:
            self.stdout.write(f"  {result.skipped_chunks} chunk(s) were written by an earlier run: skipped.")
        self.stdout.write(self.style.SUCCESS(
            f"{org.slug}: added {result.lines:,} lines in {result.entries:,} entries in {result.seconds:.1f} s "
            f"({result.lines_per_second:,.0f} lines/s)."
        ))
