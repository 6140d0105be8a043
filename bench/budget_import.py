"""`python -m bench.budget_import [--accounts 300] [--cost-centers 60]`: time the budget importer.

Builds an organisation with exactly `accounts` revenue/expense accounts and `cost_centers` cost
centers, writes a CSV of every account × cost center × month of one fiscal year (300 × 60 × 12 =
216,000 cells by default) and times `budgets.importers.budget_import` three times: into a new
budget (every cell created), the same file again (every cell unchanged) and the file with every
amount changed (every cell updated). Also prints the size of the import's audit row. The tenant
is left behind (its slug is printed); nothing here fails on a slow figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.__main__ import _settings_environment


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.budget_import", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--cost-centers", type=int, default=60)
    args = parser.parse_args(argv)

    _settings_environment()
    from finops.embedded import ensure_environment

    ensure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    from budgets.importers import budget_import
    from finops.audit.models import AuditEvent
    from finops.demo.orgs import chart_ensure
    from finops.ledger import services as ledger
    from finops.tenancy import services as tenancy
    from finops.tenancy.context import tenant_context
    from finops.tenancy.models import Organization

    call_command("migrate", verbosity=0)
    taken = [int(s.rsplit("-", 1)[1]) for s in Organization.objects.filter(slug__regex=r"^bench-import-[0-9]+$")
             .values_list("slug", flat=True)]
    slug = f"bench-import-{max(taken, default=0) + 1}"
    org = tenancy.organization_create(slug=slug, name=f"Benchmark {slug}", currency="USD")
    accounts = [(str(4000 + i), f"Account {i:03d}", "revenue" if i < 30 else "expense", None, False)
                for i in range(args.accounts)]
    centers = [(f"CC{i + 1:03d}", f"Team {i + 1:03d}", None, False) for i in range(args.cost_centers)]
    started = time.perf_counter()
    chart_ensure(org=org, chart=accounts, cost_centers=centers)
    ledger.entity_create(tenant=org, actor=None, code="HQ", name="HQ", functional_currency="USD")
    print(f"· tenant {slug}: chart in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def csv_bytes(bump: int) -> bytes:
        lines = ["entity,account,cost_center,period,amount"]
        for a, _name, _kind, _p, _ic in accounts:
            for cc, *_rest in centers:
                for month in range(1, 13):
                    lines.append(f"HQ,{a},{cc},2026-{month:02d},{(int(a) % 97) * 10 + month + bump}.25")
        return ("\n".join(lines) + "\n").encode()

    figures = []
    for label, bump in (("new budget, every cell created", 0), ("same file again, every cell unchanged", 0),
                        ("every amount changed", 1)):
        data = csv_bytes(bump)
        with tenant_context(org):
            last = AuditEvent.objects.filter(action="budget.import").order_by("-id").values_list("id", flat=True).first()
        started = time.perf_counter()
        result = budget_import(tenant=org, actor=None, data=data, filename="plan.csv", budget_name="Plan 2026")
        seconds = time.perf_counter() - started
        if result.errors:
            print(f"refused: {result.summary()} {result.errors[:3]}", file=sys.stderr)
            return 1
        with tenant_context(org):
            event = AuditEvent.objects.filter(action="budget.import", id__gt=last or 0).order_by("-id").first()
        size = len(json.dumps(event.before)) + len(json.dumps(event.after)) if event else 0
        figures.append((label, result.rows, seconds, size, result.summary()))
        print(f"· {label}: {seconds:.2f} s", file=sys.stderr)
    print(f"budget import · tenant {slug} · {args.accounts} accounts × {args.cost_centers} cost centers × 12")
    for label, rows, seconds, size, summary in figures:
        print(f"{label:<40} {rows:>9,} rows {seconds:7.2f} s {rows / seconds:>9,.0f} rows/s"
              f"  audit row {size:>11,} bytes  | {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
