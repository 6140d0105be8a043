"""The demo's cost data: a FOCUS export of the last 13 months (AWS with a one-year savings plan,
Datadog, GitHub, Figma, Snowflake), imported through the importer like an uploaded file, and the
mapping rules a finance team would write for it. Deterministic for a seed and a date, and
idempotent: an organisation that has cost items is left alone.

The ledger settings are left for the user to choose (Costs → Ledger), so the demo's budgets and
actuals stay as the ledger's demo made them; "Save and post" there books every month.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date

from finops.ledger.models import Account, CostCenter
from finops.ledger.periods import add_months, month_end, month_start
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role

from .importers import cost_import
from .models import CostItem
from .services import mapping_rule_save

MONTHS = 13
HEADER = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
          "ChargeFrequency", "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ProviderName",
          "ServiceName", "ServiceCategory", "SubAccountId", "SubAccountName", "RegionId", "ResourceId",
          "ConsumedQuantity", "ConsumedUnit", "CommitmentDiscountId", "CommitmentDiscountStatus", "Tags"]
# provider, service, category, monthly cost, tags (team), sub-account
SERVICES = [
    ("AWS", "Amazon EC2", "Compute", 18_000, "platform", "prod"),
    ("AWS", "Amazon RDS", "Databases", 7_500, "data", "prod"),
    ("AWS", "Amazon S3", "Storage", 2_400, "data", "prod"),
    ("AWS", "Amazon CloudFront", "Networking", 1_300, "web", "prod"),
    ("AWS", "Amazon EC2", "Compute", 3_200, "platform", "staging"),
    ("Datadog", "Infrastructure Monitoring", "Management and Governance", 4_100, "platform", ""),
    ("Snowflake", "Snowflake Compute", "Analytics", 5_200, "data", ""),
    ("GitHub", "GitHub Enterprise", "Developer Tools", 2_100, "", ""),
    ("Figma", "Figma Organization", "Developer Tools", 900, "", ""),
]
SAVINGS_PLAN = "arn:aws:savingsplans::123456789012:savingsplan/demo-1yr"
SAVINGS_PLAN_MONTHLY = 6_000  # covers part of EC2 prod, bought up front


def demo_focus_file(*, today: date, seed: int) -> bytes:
    """13 months of daily charges up to `today` (the current month to date), with growth, a
    savings plan bought up front and spread over EC2 usage, and a spike in Snowflake last month."""
    rng = random.Random(f"{seed}:costs")
    first = add_months(month_start(today), -(MONTHS - 1))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    purchase_month = add_months(first, 1)
    for m in range(MONTHS):
        month = add_months(first, m)
        last = min(month_end(month), today)
        days = month_end(month).day
        billing = (f"{month:%Y-%m-%d}T00:00:00Z", f"{add_months(month, 1):%Y-%m-%d}T00:00:00Z")
        covered = month >= purchase_month
        if month == purchase_month:
            writer.writerow([*billing, f"{month:%Y-%m-%d}T00:00:00Z", f"{add_months(month, 12):%Y-%m-%d}T00:00:00Z",
                             "Purchase", "One-Time", f"{SAVINGS_PLAN_MONTHLY * 12:.2f}", "0.00", "", "USD", "AWS",
                             "Savings Plans for AWS Compute usage", "Compute", "123456789012", "prod", "", SAVINGS_PLAN,
                             "", "", SAVINGS_PLAN, "", "{}"])
        for day in range(1, last.day + 1):
            d = month.replace(day=day)
            start, end = f"{d:%Y-%m-%d}T00:00:00Z", f"{d:%Y-%m-%d}T23:59:59Z"
            for n, (provider, service, category, monthly, team, sub) in enumerate(SERVICES):
                daily = monthly * (1 + 0.025 * m) / days * rng.uniform(0.85, 1.15)
                if provider == "Snowflake" and m == MONTHS - 2 and 10 <= day <= 14:
                    daily *= 3.2  # a runaway warehouse, for the anomalies to find
                tags = json.dumps({"team": team, "env": sub} if team else {})
                resource = f"{provider.lower()}-{service.split()[-1].lower()}-{sub or 'org'}-{n}"
                list_cost = daily * 1.18
                if provider == "AWS" and service == "Amazon EC2" and sub == "prod" and covered:
                    # The savings plan covers part of this usage: billed nothing for it, effective its share.
                    plan_daily = SAVINGS_PLAN_MONTHLY / days
                    writer.writerow([*billing, start, end, "Usage", "Usage-Based", "0.00", f"{plan_daily:.6f}",
                                     f"{plan_daily * 1.35:.6f}", "USD", provider, service, category, "123456789012",
                                     sub, "us-east-1", resource, "24", "Hours", SAVINGS_PLAN, "Used", tags])
                    daily = max(daily - plan_daily * 1.35, 0)
                writer.writerow([*billing, start, end, "Usage", "Usage-Based", f"{daily:.6f}", f"{daily:.6f}",
                                 f"{list_cost:.6f}", "USD", provider, service, category,
                                 "123456789012" if provider == "AWS" else "", sub if provider == "AWS" else "",
                                 "us-east-1" if provider == "AWS" else "", resource, f"{rng.randint(20, 24)}", "Hours",
                                 "", "", tags])
    return out.getvalue().encode()


def demo_costs_seed(org, *, users, today: date, seed: int) -> str:
    """Import the demo's cost file and write its mapping rules, once per organisation."""
    with tenant_context(org):
        if CostItem.objects.exists():
            return ""
        accounts = {a.code: a for a in Account.objects.filter(code__in=["5010", "7010", "7020"])}
        centers = {c.code: c for c in CostCenter.objects.filter(code__in=["ENG", "PROD", "FAC"])}
    if len(accounts) < 3 or len(centers) < 3:
        return ""  # not the demo's chart
    finance = users[Role.FINANCE]
    result = cost_import(tenant=org, actor=finance, data=demo_focus_file(today=today, seed=seed),
                         filename=f"focus-{today:%Y-%m}.csv", source_format="focus")
    rules = [
        dict(name="AWS production hosting", priority=10, provider="AWS", sub_account="prod", cost_center=centers["ENG"],
             account=accounts["5010"]),
        dict(name="AWS everything else", priority=20, provider="AWS", cost_center=centers["ENG"], account=accounts["7010"]),
        dict(name="Data team tools", priority=30, tag_key="team", tag_value="data", cost_center=centers["ENG"],
             account=accounts["7010"]),
        dict(name="Developer tools", priority=40, provider="GitHub", cost_center=centers["ENG"], account=accounts["7020"]),
        dict(name="Design tools", priority=40, provider="Figma", cost_center=centers["PROD"], account=accounts["7020"]),
    ]  # Datadog is left unallocated on purpose: the mapping page's bucket shows it
    for rule in rules:
        mapping_rule_save(tenant=org, actor=finance, **rule)
    return f"costs: {result.created:,} cost items, {len(rules)} mapping rules"
