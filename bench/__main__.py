"""`python -m bench [--only ledger|budgets] [--lines N] [--bva-lines N] [--runs N] [--tenant bench-<n>]
[--bva-tenant bench-<n>]` (what `make bench` runs; with no arguments, everything).

Uses DATABASE_URL / REDIS_URL like the application (`make bench` starts embedded servers when
they are unset). Prints a table of medians and ratios; the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import warnings


def _settings_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    # Production-like settings (DEBUG off), which insist on a secret key: a throwaway one will do
    # for a process that serves no one.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="GL lines to import (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per query, median reported (default 15)")
    parser.add_argument("--copy-runs", type=int, default=3, help="timed runs of the COPY limit (default 3)")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--cost-centers", type=int, default=60)
    parser.add_argument("--tenant", metavar="SLUG", help="re-time the queries on an existing bench tenant (no import)")
    parser.add_argument("--only", choices=("ledger", "budgets", "api"),
                        help="only the ledger figures (GL import, dashboard, journal), the budget ones, or the API's")
    parser.add_argument("--api-lines", type=int, default=100_000,
                        help="lines the API bulk figure ingests (default 100,000: 10 requests of 10,000)")
    parser.add_argument("--bva-lines", type=int, default=5_000_000,
                        help="journal lines of the budget-vs-actual tenant (default 5,000,000)")
    parser.add_argument("--bva-tenant", metavar="SLUG",
                        help="the budget-vs-actual tenant to time (default: the last one built with --bva-lines "
                             "lines, else a new one)")
    parser.add_argument("--raw-runs", type=int, default=3,
                        help="timed runs of the limit read from raw journal lines (default 3)")
    parser.add_argument("--page-runs", type=int, default=3,
                        help="timed runs of the unpaged whole-tenant report page (default 3)")
    args = parser.parse_args(argv)
    if args.lines < 2 or args.runs < 1 or args.copy_runs < 1 or args.raw_runs < 1 or args.page_runs < 1:
        parser.error("--lines must be at least 2, --runs, --copy-runs, --raw-runs and --page-runs at least 1")
    if args.bva_lines < 20:
        parser.error("--bva-lines must be at least 20")

    _settings_environment()
    from finops.embedded import ensure_environment

    ensure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    import bench
    from finops.tenancy.services import user_get_or_create

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages link static files by name; the manifest of hashed names exists only after collectstatic.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    warnings.filterwarnings("ignore", message="No directory at")
    call_command("migrate", verbosity=0)
    started_load = bench.load()
    figures, checks, tenants = [], [], []
    client = Client()
    client.force_login(user_get_or_create(email=bench.BENCH_EMAIL))
    if args.only in (None, "ledger"):
        result = ledger_figures(args, client)
        if result is None:
            return 0
        org, found, check = result
        figures += found
        checks.append(check)
        tenants.append(org.slug)
    if args.only in (None, "api"):
        from bench import api as api_bench

        figure, note = api_bench.bulk_figure(accounts=args.accounts, cost_centers=args.cost_centers,
                                             lines=args.api_lines, today=timezone.localdate())
        figures.append(figure)
        checks.append(note)
    if args.only != "ledger":
        from bench import budgets as budget_bench

        if args.bva_tenant:
            bva = budget_bench.tenant_find(slug=args.bva_tenant)
            if bva is None:
                parser.error(f"{args.bva_tenant} is not a complete budget bench tenant")
        else:
            bva = budget_bench.tenant_find(lines=args.bva_lines)
            if bva is not None:
                bench.log(f"reusing {bva.org.slug} ({bva.lines:,} lines, built earlier; --bva-tenant picks another)")
            else:
                bench.log(f"building a budget-vs-actual tenant with {args.bva_lines:,} journal lines ...")
                bva = budget_bench.tenant_build(lines=args.bva_lines, today=timezone.localdate())
        budget_bench.analyze()
        bench.log(f"budget figures, median of {args.runs} runs ...")
        if args.only != "api":
            found, notes = budget_bench.figures(bva, runs=args.runs, raw_runs=args.raw_runs,
                                                page_runs=args.page_runs, client=client)
            figures += found
            checks += notes
        if args.only in (None, "api"):
            found, note = api_bench.concurrent_figures(bva, runs=args.runs)
            figures += found
            checks.append(note)
        tenants.append(bva.org.slug)

    print()
    print(f"finops bench · tenant {', '.join(tenants)} · {bench.machine()} · {timezone.localdate():%Y-%m-%d}"
          f" · load average {started_load} at the start, {bench.load()} at the end")
    print("ratio: limit ÷ service for the import (higher is better), service ÷ limit for queries (lower is better)")
    print()
    print(bench.table(figures))
    print()
    for line in checks:
        print(line)
    return 0


def ledger_figures(args, client):
    """The GL import (unless `--tenant`), the dashboard and the journal: (org, figures, check), or None
    when the import failed."""
    from django.utils import timezone

    import bench
    from finops.tenancy.models import Organization

    figures = []
    if args.tenant:
        org = Organization.objects.get(slug=args.tenant)
    else:
        org = bench.tenant_create(accounts=args.accounts, cost_centers=args.cost_centers)
        bench.log(f"tenant {org.slug}: {args.accounts} accounts × {args.cost_centers} cost centers")
        started = time.perf_counter()
        data = bench.gl_csv(org, lines=args.lines, today=timezone.localdate())
        bench.log(f"GL CSV: {args.lines:,} lines, {len(data) / 1e6:,.1f} MB in {time.perf_counter() - started:.1f} s")
        bench.log(f"importing through gl_import (load average {bench.load()}) ...")
        service_time, result, phases = bench.time_gl_import(org, data)
        del data
        if result.errors or result.duplicate_of is not None:
            print(f"The import did not go through: {result.summary()}", file=sys.stderr)
            for error in result.errors[:20]:
                print(f"  {error}", file=sys.stderr)
            return None
        from finops.jobs.progress import PHASES

        bench.log(f"imported in {service_time:.1f} s: {result.summary()} "
                  f"({', '.join(f'{PHASES[p].lower()} {t:.1f} s' for p, t in phases.items())})")
        bench.log(f"raw COPY of the same rows × {args.copy_runs} (load average {bench.load()}) ...")
        limit_time, rows = bench.time_copy_limit(org, runs=args.copy_runs)
        figure = bench.Figure(f"GL import, {rows:,} lines (gl_import vs COPY)", service_time, limit_time, "≥ 0.5",
                              rows=rows)
        figures.append(figure)
        bench.log(f"GL import {service_time:.2f} s, COPY {limit_time:.2f} s: ratio {figure.ratio:.2f}× "
                  f"(load average {bench.load()})")
    bench.analyze()
    bench.log(f"queries, median of {args.runs} runs ...")
    dashboard, page, check = bench.dashboard_figures(org, runs=args.runs, client=client)
    figures += [dashboard, page, *bench.journal_figures(org, runs=args.runs, client=client)]
    return org, figures, check


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
