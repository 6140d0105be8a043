"""Demo data: two realistic organisations, and synthetic volume for load and benchmarks.

`demo_seed()` creates **acme** (Acme Corp, USD, fiscal year from January) and **globex** (Globex
Ltd, GBP, fiscal year from April), each with a member per role, three entities (USD, GBP, EUR),
a chart of about 65 accounts, eleven cost centers, monthly average and closing rates, and 24
months of balanced entries: subscription, services and usage invoices growing ~2.5 % a month
with a Q4 peak, collections, payroll, rent, cloud bills (in USD, also for the foreign entities),
software, marketing, travel, depreciation, a term loan and an intercompany management fee, so
that cash, receivables, payables and equity move the way a finance team expects.

Everything is drawn from `random.Random` instances seeded by (seed, organisation, entity,
month), so the same seed gives the same data, and an entry's idempotency key
(`demo:<entity>:<YYYY-MM>:<what>`) makes a second run add nothing. Entries are written in bulk
with the ledger's COPY writer, never row by row.

At the end of each organisation, every callable named in `settings.DEMO_SEEDERS` (dotted paths)
is called as `seeder(org, *, users, today, seed)` in the same transaction, so a domain app adds
its own demo data (budgets, …) without the ledger importing it. A seeder must be idempotent and
deterministic like the rest, and returns what it added in words ("" for nothing).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from finops.db import analyze_if_stale
from finops.ledger import services as ledger
from finops.ledger import writer
from finops.ledger.fx import RateBook
from finops.ledger.models import (
    Account,
    AccountType,
    CostCenter,
    Entity,
    FxRate,
    FxRateKind,
    JournalEntry,
    JournalLine,
    Period,
    PeriodBalance,
    Source,
)
from finops.ledger.money import round_money, split_exact
from finops.ledger.periods import add_months, month_end, month_start, periods_ensure
from finops.ledger.services import LineSpec, translate_lines
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization
from finops.tenancy.permissions import Role

DEMO_PASSWORD = "finops-demo"


DEFAULT_SEED = 42


DEFAULT_MONTHS = 24


# The demo companies' story is told in months counted from here, whatever the window: a month's
# activity is the same whenever it is generated, so a later run appends months that follow on.
ANCHOR = date(2024, 12, 1)


CHUNK_LINES = 200_000


A, L, E, R, X = AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY, AccountType.REVENUE, AccountType.EXPENSE


# (code, name, type, parent code, intercompany). Summary accounts (those with children) get no postings.
CHART: list[tuple[str, str, str, str | None, bool]] = [
    ("1000", "Current assets", A, None, False),
    ("1010", "Operating cash", A, "1000", False),
    ("1020", "Payroll bank account", A, "1000", False),
    ("1100", "Accounts receivable", A, "1000", False),
    ("1200", "Prepaid expenses", A, "1000", False),
    ("1300", "Intercompany receivable", A, "1000", True),
    ("1500", "Fixed assets", A, None, False),
    ("1510", "Computer equipment", A, "1500", False),
    ("1530", "Leasehold improvements", A, "1500", False),
    ("1590", "Accumulated depreciation", A, "1500", False),
    ("1700", "Other assets", A, None, False),
    ("1710", "Security deposits", A, "1700", False),
    ("2000", "Current liabilities", L, None, False),
    ("2010", "Accounts payable", L, "2000", False),
    ("2020", "Accrued expenses", L, "2000", False),
    ("2030", "Accrued commissions and bonuses", L, "2000", False),
    ("2040", "Payroll liabilities", L, "2000", False),
    ("2100", "Deferred revenue", L, "2000", False),
    ("2200", "Intercompany payable", L, "2000", True),
    ("2300", "Corporate card payable", L, "2000", False),
    ("2500", "Long-term liabilities", L, None, False),
    ("2510", "Term loan", L, "2500", False),
    ("3000", "Equity", E, None, False),
    ("3010", "Share capital", E, "3000", False),
    ("3020", "Additional paid-in capital", E, "3000", False),
    ("3100", "Retained earnings", E, "3000", False),
    ("4000", "Revenue", R, None, False),
    ("4010", "Subscription revenue", R, "4000", False),
    ("4020", "Professional services revenue", R, "4000", False),
    ("4030", "Usage revenue", R, "4000", False),
    ("4080", "Intercompany service fees", R, "4000", True),
    ("4090", "Discounts and credits", R, "4000", False),
    ("5000", "Cost of revenue", X, None, False),
    ("5010", "Hosting and infrastructure", X, "5000", False),
    ("5020", "Customer support salaries", X, "5000", False),
    ("5030", "Third-party licences", X, "5000", False),
    ("5040", "Payment processing fees", X, "5000", False),
    ("6000", "Personnel", X, None, False),
    ("6010", "Salaries and wages", X, "6000", False),
    ("6020", "Payroll taxes", X, "6000", False),
    ("6030", "Employee benefits", X, "6000", False),
    ("6040", "Commissions and bonuses", X, "6000", False),
    ("6050", "Contractors", X, "6000", False),
    ("6060", "Recruiting", X, "6000", False),
    ("6070", "Training and development", X, "6000", False),
    ("6500", "Facilities", X, None, False),
    ("6510", "Rent", X, "6500", False),
    ("6520", "Utilities", X, "6500", False),
    ("6530", "Office supplies", X, "6500", False),
    ("7000", "Technology", X, None, False),
    ("7010", "Cloud services", X, "7000", False),
    ("7020", "Software subscriptions", X, "7000", False),
    ("7030", "Telecommunications", X, "7000", False),
    ("7100", "Sales and marketing", X, None, False),
    ("7110", "Advertising", X, "7100", False),
    ("7120", "Events and conferences", X, "7100", False),
    ("7130", "Marketing tools and content", X, "7100", False),
    ("7200", "Travel and entertainment", X, None, False),
    ("7210", "Travel", X, "7200", False),
    ("7220", "Meals and entertainment", X, "7200", False),
    ("7300", "General and administrative", X, None, False),
    ("7310", "Legal fees", X, "7300", False),
    ("7320", "Accounting and audit", X, "7300", False),
    ("7330", "Insurance", X, "7300", False),
    ("7340", "Bank charges", X, "7300", False),
    ("7350", "Depreciation", X, "7300", False),
    ("7360", "Foreign exchange gains and losses", X, "7300", False),
    ("7370", "Interest expense", X, "7300", False),
    ("7380", "Intercompany management fees", X, "7300", True),
]


# (code, name, parent code, owned by the director)
COST_CENTERS: list[tuple[str, str, str | None, bool]] = [
    ("CORP", "Corporate", None, False),
    ("GA", "General and administrative", "CORP", False),
    ("FIN", "Finance", "GA", False),
    ("PEOPLE", "People and talent", "GA", False),
    ("FAC", "Facilities and IT", "GA", False),
    ("RND", "Research and development", "CORP", True),
    ("ENG", "Engineering", "RND", False),
    ("PROD", "Product and design", "RND", False),
    ("GTM", "Go-to-market", "CORP", True),
    ("SALES", "Sales", "GTM", False),
    ("MKT", "Marketing", "GTM", False),
    ("CS", "Customer success", "GTM", False),
]


# Share of gross payroll by cost center (customer success is a cost of revenue).
PAYROLL_WEIGHTS = {"ENG": 34, "PROD": 10, "SALES": 17, "MKT": 8, "CS": 12, "FIN": 7, "PEOPLE": 5, "FAC": 7}


SEASON = {1: 0.93, 2: 0.94, 3: 1.00, 4: 0.97, 5: 0.99, 6: 1.02, 7: 0.96, 8: 0.94, 9: 1.01, 10: 1.07,
          11: 1.14, 12: 1.22}


TRAVEL_SEASON = {1: 0.8, 2: 1.0, 3: 1.1, 4: 1.0, 5: 1.1, 6: 1.0, 7: 0.7, 8: 0.5, 9: 1.2, 10: 1.3, 11: 1.1, 12: 0.6}


USD_PER = {"USD": 1.0, "GBP": 1.27, "EUR": 1.08}  # only to size USD bills of foreign entities


SOFTWARE = [("Atlassian", "ENG", 0.0040), ("Google Workspace", "FAC", 0.0030), ("Salesforce", "SALES", 0.0060),
            ("Slack", "FAC", 0.0015), ("GitHub", "ENG", 0.0020), ("Figma", "PROD", 0.0010),
            ("Datadog", "ENG", 0.0050), ("HubSpot", "MKT", 0.0035)]


@dataclass(frozen=True)
class EntitySpec:
    code: str
    name: str
    currency: str
    base: float  # monthly revenue at the start of the window, in the functional currency
    employer_tax: float
    customers: tuple[str, ...]
    city: str


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    currency: str
    fiscal_year_start: int
    entities: tuple[EntitySpec, ...]


ORGS = (
    OrgSpec("acme", "Acme Corp", "USD", 1, (
        EntitySpec("US", "Acme Corp Inc.", "USD", 1_150_000, 0.0765, (
            "Northwind Traders", "Contoso Health", "Blue Yonder Logistics", "Tailspin Toys", "Fabrikam Retail",
            "Adventure Works", "Litware Analytics", "Proseware", "Wide World Importers"), "Austin"),
        EntitySpec("UK", "Acme Corp UK Ltd", "GBP", 310_000, 0.138, (
            "Harrow & Finch", "Thames Valley Foods", "Kestrel Insurance", "Pennine Rail Services",
            "Aldwych Media"), "London"),
        EntitySpec("DE", "Acme Corp GmbH", "EUR", 260_000, 0.195, (
            "Müller Maschinenbau", "Rheinland Energie", "Hansa Logistik", "Bergmann Pharma"), "Berlin"),
    )),
    OrgSpec("globex", "Globex Ltd", "GBP", 4, (
        EntitySpec("UK", "Globex Ltd", "GBP", 640_000, 0.138, (
            "Brackley Engineering", "Cairn Utilities", "Marlow Retail Group", "Orchard Housing",
            "Severn Water", "Wessex Building Society", "Lindqvist & Hart"), "Manchester"),
        EntitySpec("US", "Globex Inc.", "USD", 360_000, 0.0765, (
            "Lakeshore Credit Union", "Redwood Dental", "Summit Freight", "Copperline Telecom"), "Chicago"),
        EntitySpec("NL", "Globex Europe B.V.", "EUR", 210_000, 0.19, (
            "Van Dijk Logistiek", "Noordzee Energie", "Brouwer Bouw"), "Amsterdam"),
    )),
)


ORG_SPECS = {spec.slug: spec for spec in ORGS}


@dataclass
class Draft:
    """An entry before it has ids: lines are (account code, cost center code, signed amount, memo)."""

    key: str
    entity: str
    date: date
    memo: str
    reference: str
    source: str
    currency: str  # the transaction currency of every line
    lines: list[tuple[str, str | None, Decimal, str]]


@dataclass
class SeedResult:
    slug: str
    created: bool
    entries: int = 0
    lines: int = 0
    extras: list[str] = field(default_factory=list)  # what the DEMO_SEEDERS added, in words


def window(*, today: date, months: int) -> list[date]:
    """The first days of the `months` months ending with today's month."""
    last = month_start(today)
    return [add_months(last, i - months + 1) for i in range(months)]


def month_index(d: date) -> int:
    return (d.year - ANCHOR.year) * 12 + d.month - ANCHOR.month


def _money(value: float, currency: str) -> Decimal:
    return round_money(Decimal(f"{value:.6f}"), currency)


def demo_users_ensure(*, org: Organization, password: str = DEMO_PASSWORD) -> dict[str, object]:
    """One member per role, `<role>@<slug>.example`. Existing users keep their password."""
    User = get_user_model()
    users = {}
    for role in Role.values:
        email = f"{role}@{org.slug}.example"
        exists = User.objects.filter(email__iexact=email).exists()
        user = tenancy.user_get_or_create(email=email, password=None if exists else password)
        tenancy.member_add(tenant=org, actor=None, user=user, role=role)
        users[role] = user
    return users


def chart_ensure(*, org: Organization, actor=None, chart=CHART, cost_centers=COST_CENTERS, owner=None) -> None:
    """Create the accounts and cost centers that are missing (parents first); leave others alone."""
    with tenant_context(org):
        accounts = {a.code: a for a in Account.objects.all()}
        for code, name, kind, parent, intercompany in chart:
            if code not in accounts:
                accounts[code] = ledger.account_save(
                    tenant=org, actor=actor, code=code, name=name, type=kind,
                    parent=accounts[parent] if parent else None, is_intercompany=intercompany,
                )
        centers = {c.code: c for c in CostCenter.objects.all()}
        for code, name, parent, owned in cost_centers:
            if code not in centers:
                centers[code] = ledger.cost_center_save(
                    tenant=org, actor=actor, code=code, name=name,
                    parent=centers[parent] if parent else None, owner=owner if owned else None,
                )


def entities_ensure(*, org: Organization, specs) -> dict[str, Entity]:
    with tenant_context(org):
        entities = {e.code: e for e in Entity.objects.all()}
        for spec in specs:
            if spec.code not in entities:
                entities[spec.code] = ledger.entity_create(
                    tenant=org, actor=None, code=spec.code, name=spec.name, functional_currency=spec.currency
                )
        return entities


def fx_rates_generate(*, seed: int, slug: str, months: list[date], reporting: str,
                      fiscal_year_start: int = 1) -> list[tuple]:
    """Monthly average and closing rates from a daily random walk of EUR/USD and GBP/USD:
    each foreign currency into the reporting currency, plus the cross pair of the other two;
    and a budget rate for each fiscal year that begins in the span (the spot rate it began at).
    Returns (date, from, to, rate, kind) with rates rounded to 5 places."""
    rng = random.Random(f"{seed}:{slug}:fx")
    spot = {"EUR": 1.085, "GBP": 1.265}  # USD per unit
    anchor = dict(spot)
    others = [c for c in ("USD", "GBP", "EUR") if c != reporting]
    pairs = [(c, reporting) for c in others] + [(others[1], others[0]) if others[1] == "EUR" else (others[0], others[1])]
    rows = []
    for month in months:
        if month.month == fiscal_year_start:
            usd = {"USD": 1.0, **spot}
            for src, dst in pairs:
                rows.append((month, src, dst, Decimal(f"{usd[src] / usd[dst]:.4f}"), FxRateKind.BUDGET))
        days = {c: [] for c in spot}
        for _ in range(21):  # trading days
            for c in spot:
                spot[c] *= 1 + rng.gauss(0, 0.0045) + 0.02 * (anchor[c] - spot[c]) / anchor[c]
                days[c].append(spot[c])
        usd_per = {
            "average": {"USD": 1.0, **{c: sum(v) / len(v) for c, v in days.items()}},
            "closing": {"USD": 1.0, **{c: v[-1] for c, v in days.items()}},
        }
        for kind, on in ((FxRateKind.AVERAGE, month), (FxRateKind.CLOSING, month_end(month))):
            for src, dst in pairs:
                rate = usd_per[kind][src] / usd_per[kind][dst]
                rows.append((on, src, dst, Decimal(f"{rate:.5f}"), kind))
    return rows


@dataclass
class MonthPlan:
    """What an entity did in a month, before cash moves; later months pay for earlier ones."""

    month: date
    invoiced: Decimal = Decimal(0)  # receivables raised (net of credit notes)
    payables: Decimal = Decimal(0)  # functional-currency bills to pay next month
    usd_payables: Decimal = Decimal(0)  # USD bills of a non-USD entity
    card: Decimal = Decimal(0)
    payroll_liabilities: Decimal = Decimal(0)
    commissions: Decimal = Decimal(0)
    ic_fee: Decimal = Decimal(0)  # in the parent entity's currency
    capex: Decimal = Decimal(0)
    drafts: list[Draft] = field(default_factory=list)


class EntityBook:
    """Generates one entity's drafts month by month."""

    def __init__(self, *, seed: int, org: OrgSpec, spec: EntitySpec, parent: EntitySpec, today: date, months: list[date]):
        self.seed, self.org, self.spec, self.parent, self.today = seed, org, spec, parent, today
        self.t0 = month_index(months[0])  # the first month of the window
        self.steps = [(month_index(m), m) for m in months]
        self.ccy = spec.currency
        self.is_parent = spec.code == parent.code
        shares_rng = random.Random(f"{seed}:{org.slug}:{spec.code}:customers")
        self.shares = [shares_rng.uniform(0.5, 3.0) for _ in spec.customers]
        self._plans: dict[int, MonthPlan] = {}

    def m(self, value: float) -> Decimal:
        return _money(value, self.ccy)

    def plan(self, t: int) -> MonthPlan:
        if t not in self._plans:
            self._plans[t] = self._plan(t)
        return self._plans[t]

    def on(self, month: date, day: int) -> date | None:
        d = month.replace(day=min(day, month_end(month).day))
        return d if d <= self.today else None  # what lies after today has not happened yet

    def _plan(self, t: int) -> MonthPlan:
        spec, ccy = self.spec, self.ccy
        month = add_months(ANCHOR, t)
        rng = random.Random(f"{self.seed}:{self.org.slug}:{spec.code}:{month:%Y-%m}")
        plan = MonthPlan(month)
        base = spec.base
        trend = 1.025 ** t
        g = trend * SEASON[month.month] * (1 + rng.gauss(0, 0.02))
        staff = 1.016 ** t
        ym = f"{month:%Y-%m}"
        key = f"demo:{spec.code}:{ym}"
        draft = plan.drafts.append

        def bill(what, day, account, cc, amount, vendor, *, via="2010", currency=None, ref=""):
            d = self.on(month, day)
            currency = currency or ccy
            amount = _money(amount, currency)
            if amount <= 0:
                return
            if via == "2010" and currency == ccy:
                plan.payables += amount
            elif via == "2010":
                plan.usd_payables += amount
            elif via == "2300":
                plan.card += amount
            if d is not None:
                draft(Draft(f"{key}:{what}", spec.code, d, f"{vendor} · {month:%B %Y}", ref, Source.IMPORT, currency,
                            [(account, cc, amount, ""), (via, None, -amount, "")]))

        # Revenue: subscriptions per customer on the 1st, services mid-month, usage at month end.
        subs = split_exact(self.m(base * 0.78 * g), [Decimal(f"{s:.4f}") for s in self.shares], ccy)
        invoice_no = 1000 + (month.year % 100) * 400 + month.month * 30
        for i, (customer, amount) in enumerate(zip(spec.customers, subs, strict=True)):
            plan.invoiced += amount
            d = self.on(month, 1 + i % 3)
            if d is not None:
                ref = f"INV-{spec.code}-{invoice_no + i}"
                draft(Draft(f"{key}:sub:{i}", spec.code, d, f"{customer} · subscription {month:%B %Y}", ref,
                            Source.IMPORT, ccy, [("1100", None, amount, ""), ("4010", "SALES", -amount, "")]))
        for j in range(rng.choice((1, 2, 2, 3))):
            amount = self.m(base * 0.12 * g / 2 * (1 + rng.gauss(0, 0.2)))
            customer = rng.choice(spec.customers)
            plan.invoiced += amount
            d = self.on(month, 14 + 3 * j)
            if d is not None:
                draft(Draft(f"{key}:ps:{j}", spec.code, d, f"{customer} · implementation services", f"INV-{spec.code}-{invoice_no + 20 + j}",
                            Source.IMPORT, ccy, [("1100", None, amount, ""), ("4020", "CS", -amount, "")]))
        usage = self.m(base * 0.10 * g * (1 + rng.gauss(0, 0.08)))
        plan.invoiced += usage
        if (d := self.on(month, 28)) is not None:
            draft(Draft(f"{key}:usage", spec.code, d, f"Usage overage billing · {month:%B %Y}", f"INV-{spec.code}-{invoice_no + 25}",
                        Source.IMPORT, ccy, [("1100", None, usage, ""), ("4030", "SALES", -usage, "")]))
        if rng.random() < 0.3:
            i = rng.randrange(len(spec.customers))
            credit = self.m(float(subs[i]) * rng.uniform(0.02, 0.06))
            plan.invoiced -= credit
            if (d := self.on(month, 20)) is not None:
                draft(Draft(f"{key}:credit", spec.code, d, f"{spec.customers[i]} · service credit (SLA)", f"CN-{spec.code}-{invoice_no + i}",
                            Source.MANUAL, ccy, [("4090", "CS", credit, ""), ("1100", None, -credit, "")]))

        # Payroll on the 25th: gross by cost center, employer taxes and benefits; net pay from the
        # payroll account, the rest owed to tax authorities and providers next month.
        gross = self.m(base * 0.46 * staff * 1.03 ** ((t + 8) // 12))  # a 3 % raise every April
        by_cc = split_exact(gross, list(PAYROLL_WEIGHTS.values()), ccy)
        lines = []
        for (cc, _), amount in zip(PAYROLL_WEIGHTS.items(), by_cc, strict=True):
            lines.append(("5020" if cc == "CS" else "6010", cc, amount, "Gross salaries"))
            lines.append(("6020", cc, self.m(float(amount) * spec.employer_tax), "Employer payroll taxes"))
            lines.append(("6030", cc, self.m(float(amount) * 0.07), "Health and pension benefits"))
        net = self.m(float(gross) * 0.71)
        owed = sum(amount for _, _, amount, _ in lines) - net
        plan.payroll_liabilities = owed
        if (d := self.on(month, 25)) is not None:
            draft(Draft(f"{key}:payroll", spec.code, d, f"Payroll {month:%B %Y}", f"PR-{ym}", Source.IMPORT, ccy,
                        lines + [("1020", None, -net, "Net pay"), ("2040", None, -owed, "Withholdings and benefits")]))
            draft(Draft(f"{key}:payroll-funding", spec.code, d.replace(day=max(1, d.day - 1)),
                        f"Fund payroll account · {month:%B %Y}", "", Source.IMPORT, ccy,
                        [("1020", None, net, ""), ("1010", None, -net, "")]))
        if month.month in (3, 6, 9, 12):
            quarter_subs = float(plan.invoiced + self.plan(t - 1).invoiced + self.plan(t - 2).invoiced)
            plan.commissions = self.m(quarter_subs * 0.03)
            if (d := self.on(month, 30)) is not None:
                draft(Draft(f"{key}:commissions", spec.code, d, f"Sales commissions accrual · Q{(month.month - 1) // 3 + 1} {month.year}",
                            "", Source.MANUAL, ccy,
                            [("6040", "SALES", plan.commissions, ""), ("2030", None, -plan.commissions, "")]))

        # Facilities, technology, marketing, travel, professional fees.
        rent = self.m(base * 0.035 * 1.03 ** (t // 12))  # the lease escalates every December
        if (d := self.on(month, 1)) is not None:
            draft(Draft(f"{key}:rent", spec.code, d, f"Office rent {month:%B %Y} · {spec.city}", f"LEASE-{spec.code}",
                        Source.IMPORT, ccy, [("6510", "FAC", rent, ""), ("1010", None, -rent, "")]))
        bill("utilities", 9, "6520", "FAC", base * 0.004 * (1.3 if month.month in (12, 1, 2) else 1.0), f"{spec.city} Energy")
        bill("telecom", 11, "7030", "FAC", base * 0.004 * staff, "Telecom and connectivity")
        cloud_usd = spec.base * USD_PER[ccy] * 0.085 * trend * (1 + rng.gauss(0, 0.04))
        # AWS bills every entity in USD.
        bill("cloud", 3, "5010", "ENG", cloud_usd * 0.7, "AWS production usage", currency="USD", ref=f"AWS-{ym}")
        bill("cloud-dev", 3, "7010", "ENG", cloud_usd * 0.3, "AWS development accounts", currency="USD", ref=f"AWS-{ym}-D")
        bill("licences", 6, "5030", "ENG", base * 0.018 * g, "Embedded map and search licences")
        for n, (vendor, cc, share) in enumerate(SOFTWARE):
            bill(f"software:{n}", 4 + n, "7020", cc, base * share * staff, vendor, via="2300")
        bill("ads:search", 27, "7110", "MKT", base * 0.03 * g * (1 + rng.gauss(0, 0.1)), "Google Ads")
        bill("ads:social", 27, "7110", "MKT", base * 0.018 * g * (1 + rng.gauss(0, 0.1)), "LinkedIn campaigns")
        if month.month in (3, 6, 10):
            bill("events", 16, "7120", "MKT", base * 0.05 * trend, "Industry conference sponsorship and booth")
        bill("mktools", 8, "7130", "MKT", base * 0.004, "Webinar and content tools", via="2300")
        for n in range(3):
            cc = ("SALES", "SALES", "CS")[n]
            bill(f"travel:{n}", 7 + 7 * n, "7210", cc, base * 0.008 * TRAVEL_SEASON[month.month] * rng.uniform(0.6, 1.4),
                 rng.choice(("Customer visit", "Quarterly business review", "Sales kickoff travel", "Partner meeting")), via="2300")
        bill("meals", 22, "7220", "SALES", base * 0.003 * TRAVEL_SEASON[month.month], "Client dinners", via="2300")
        bill("contractors", 18, "6050", "ENG", base * 0.03 * (1 + rng.gauss(0, 0.2)), "Contract engineering")
        if rng.random() < 0.5:
            bill("recruiting", 21, "6060", "PEOPLE", base * 0.015 * rng.uniform(0.5, 1.5), "Recruiting agency placement fee")
        if rng.random() < 0.3:
            bill("training", 12, "6070", "PEOPLE", base * 0.004, "Leadership training", via="2300")
        bill("supplies", 10, "6530", "FAC", base * 0.003 * staff, "Office supplies", via="2300")
        bill("legal", 19, "7310", "FIN", base * 0.008 * max(0.2, 1 + rng.gauss(0, 0.4)), "Outside counsel · commercial contracts")
        if month.month in (2, 3):
            bill("audit", 15, "7320", "FIN", base * 0.03, "Annual audit fee instalment")
        if month.month in (1, 4, 7, 10):
            plan.capex = self.m(base * 0.02 * staff)
            if (d := self.on(month, 13)) is not None:
                plan.payables += plan.capex
                draft(Draft(f"{key}:laptops", spec.code, d, "Laptops for new joiners", f"PO-{spec.code}-{ym}", Source.IMPORT, ccy,
                            [("1510", None, plan.capex, ""), ("2010", None, -plan.capex, "")]))

        # Intercompany: the parent charges each subsidiary a management fee in its own currency.
        if not self.is_parent:
            plan.ic_fee = _money(self.spec.base * USD_PER[ccy] / USD_PER[self.parent.currency] * 0.04 * trend, self.parent.currency)
        return plan

    def drafts(self) -> Iterator[Draft]:
        spec, ccy = self.spec, self.ccy
        opening = self.opening()
        if opening:
            yield opening
        insurance_premium = self.m(spec.base * 0.012 * 12)
        monthly_insurance = split_exact(insurance_premium, [1] * 12, ccy)
        equipment = self.m(spec.base * 0.6)
        loan = self.m(spec.base * 1.2)
        for t, month in self.steps:
            plan, prev, prev2 = self.plan(t), self.plan(t - 1), self.plan(t - 2)
            key = f"demo:{spec.code}:{month:%Y-%m}"
            yield from plan.drafts

            def entry(what, day, memo, lines, *, currency=ccy, source=Source.IMPORT, ref="", month=month, key=key):
                d = self.on(month, day)
                if d is not None and all(amount for _, _, amount, _ in lines):
                    return Draft(f"{key}:{what}", spec.code, d, memo, ref, source, currency, lines)
                return None

            collected = prev.invoiced * Decimal("0.96") + prev2.invoiced * Decimal("0.04")
            receipts = split_exact(round_money(collected, ccy), [5, 3, 2], ccy)
            fees = round_money(collected * Decimal("0.006"), ccy)
            for n, (day, amount) in enumerate(zip((8, 17, 26), receipts, strict=True)):
                yield entry(f"receipts:{n}", day, "Customer receipts · bank lockbox", [
                    ("1010", None, amount, ""), ("1100", None, -amount, "")])
            yield entry("processing-fees", 28, "Payment processor fees", [
                ("5040", "SALES", fees, ""), ("1010", None, -fees, "")])
            yield entry("ap-run", 12, f"Supplier payment run · {month:%d %b %Y}", [
                ("2010", None, prev.payables, ""), ("1010", None, -prev.payables, "")], ref=f"PAY-{month:%Y%m}")
            if prev.usd_payables:
                yield entry("ap-usd", 12, "USD supplier payments (AWS)", [
                    ("2010", None, prev.usd_payables, ""), ("1010", None, -prev.usd_payables, "")], currency="USD")
            yield entry("card", 20, "Corporate card statement", [
                ("2300", None, prev.card, ""), ("1010", None, -prev.card, "")])
            yield entry("payroll-remit", 15, "Remit payroll taxes and benefits", [
                ("2040", None, prev.payroll_liabilities, ""), ("1010", None, -prev.payroll_liabilities, "")])
            if prev.commissions:
                yield entry("commissions-paid", 15, "Commissions payout", [
                    ("2030", None, prev.commissions, ""), ("1010", None, -prev.commissions, "")])
            if t % 12 == 0:
                yield entry("insurance-renewal", 2, "Annual insurance renewal (D&O, cyber, liability)", [
                    ("1200", None, insurance_premium, ""), ("1010", None, -insurance_premium, "")], ref=f"POL-{month.year}")
            yield entry("insurance", 28, "Insurance · monthly amortisation", [
                ("7330", "FIN", monthly_insurance[t % 12], ""), ("1200", None, -monthly_insurance[t % 12], "")],
                source=Source.MANUAL)
            capex = sum((self.plan(k).capex for k in range(self.t0, t)), Decimal(0))
            depreciation = round_money(equipment / 40 + capex / 36, ccy)
            yield entry("depreciation", 28, "Depreciation · computer equipment and leasehold", [
                ("7350", "FAC", depreciation, ""), ("1590", None, -depreciation, "")], source=Source.MANUAL)
            interest = round_money(loan * Decimal("0.07") / 12 * (1 - Decimal(t - self.t0) / 60), ccy)
            principal = round_money(loan / 60, ccy)
            yield entry("loan", 27, "Term loan · interest and principal", [
                ("7370", "FIN", interest, ""), ("2510", None, principal, ""), ("1010", None, -(interest + principal), "")])
            yield entry("bank", 28, "Bank account fees", [
                ("7340", "FIN", self.m(spec.base * 0.0004), ""), ("1010", None, -self.m(spec.base * 0.0004), "")])
            if not self.is_parent and plan.ic_fee:
                parent_ccy = self.parent.currency
                fee = plan.ic_fee
                yield entry("ic-fee", 28, f"Management fee from {self.parent.name}", [
                    ("7380", "FIN", fee, ""), ("2200", None, -fee, "")], currency=parent_ccy, source=Source.MANUAL,
                    ref=f"IC-{spec.code}-{month:%Y%m}")
                if month.month in (1, 4, 7, 10) and (due := self.ic_due(t)):
                    yield entry("ic-settle", 10, f"Settle management fees with {self.parent.name}", [
                        ("2200", None, due, ""), ("1010", None, -due, "")], currency=parent_ccy)

    def ic_due(self, t: int) -> Decimal:
        """Management fees of the last quarter (those inside the window), settled in its first month."""
        return sum((self.plan(t - k).ic_fee for k in (1, 2, 3) if t - k >= self.t0), Decimal(0))

    def opening(self) -> Draft | None:
        """Balances brought forward on the first day of the window (retained earnings is the plug)."""
        spec, ccy = self.spec, self.ccy
        first = self.steps[0][1]
        d = self.on(first, 1)
        if d is None:
            return None
        prev, prev2 = self.plan(self.t0 - 1), self.plan(self.t0 - 2)
        m = self.m
        # The insurance policy renews every December: what is not yet amortised is prepaid.
        prepaid = sum(split_exact(m(spec.base * 0.012 * 12), [1] * 12, ccy)[self.t0 % 12:], Decimal(0)) \
            if self.t0 % 12 else Decimal(0)
        lines = [
            ("1010", None, m(spec.base * 3.5), ""),
            ("1100", None, round_money(prev.invoiced + prev2.invoiced * Decimal("0.04"), ccy), ""),
            ("1200", None, prepaid, ""),
            ("1510", None, m(spec.base * 0.6), ""),
            ("1530", None, m(spec.base * 0.3), ""),
            ("1590", None, -m(spec.base * 0.2), ""),
            ("1710", None, m(spec.base * 0.035 * 3), ""),
            ("2010", None, -prev.payables, ""),
            ("2300", None, -prev.card, ""),
            ("2040", None, -prev.payroll_liabilities, ""),
            ("2510", None, -m(spec.base * 1.2), ""),
            ("3010", None, -m(spec.base * 0.1), ""),
            ("3020", None, -m(spec.base * 3.0), ""),
        ]
        if prev.usd_payables:
            # USD bills owed at the start, carried at a round planning rate.
            lines.append(("2010", None, -round_money(prev.usd_payables / Decimal(str(USD_PER[ccy])), ccy), "USD bills"))
        if prev.commissions:
            lines.append(("2030", None, -prev.commissions, ""))
        lines = [line for line in lines if line[2]]
        lines.append(("3100", None, -sum(amount for _, _, amount, _ in lines), "Retained earnings brought forward"))
        return Draft(f"demo:{spec.code}:opening", spec.code, d, "Opening balances brought forward", "", Source.MANUAL,
                     ccy, lines)


def drafts_write(*, org: Organization, drafts: list[Draft], actor=None) -> tuple[int, int]:
    """Translate and write the drafts whose keys are new, all in one COPY each. Returns (entries, lines)."""
    with tenant_context(org):
        keys = [d.key for d in drafts]
        existing = set(JournalEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
        drafts = [d for d in drafts if d.key not in existing]
        if not drafts:
            return 0, 0
        entities = {e.code: e for e in Entity.objects.all()}
        accounts = dict(Account.objects.values_list("code", "id"))
        centers = dict(CostCenter.objects.values_list("code", "id"))
        periods = periods_ensure(tenant=org, dates={d.date for d in drafts})
        rates = RateBook.load(tenant=org)
        ids = writer.reserve_entry_ids(len(drafts))
        now = timezone.now()
        actor_id = getattr(actor, "pk", None)
        entry_rows, line_rows = [], []
        for entry_id, draft in zip(ids, drafts, strict=True):
            entity = entities[draft.entity]
            period = periods[month_start(draft.date)]
            specs = [LineSpec(accounts[a], amount, centers[cc] if cc else None, draft.currency, memo)
                     for a, cc, amount, memo in draft.lines]
            translated = translate_lines(entity=entity, month=draft.date, lines=specs, rates=rates)
            posted_at = min(datetime.combine(draft.date, dtime(17, 30), tzinfo=UTC), now)
            entry_rows.append((entry_id, org.pk, entity.pk, period.pk, draft.date, draft.memo, draft.reference,
                               draft.source, draft.key, None, None, actor_id, posted_at))
            for n, (spec, t) in enumerate(zip(specs, translated, strict=True), start=1):
                line_rows.append((org.pk, entry_id, n, entity.pk, period.pk, draft.date, spec.account_id,
                                  spec.cost_center_id, t.amount, t.txn_amount, t.txn_currency, t.rate, spec.memo))
        writer.copy_entries(entry_rows)
        writer.copy_lines(line_rows)
        # Now, in this transaction: the demo's next steps (budgets, alerts) read what was loaded.
        analyze_if_stale(JournalEntry, JournalLine, PeriodBalance, Period, rows=len(line_rows))
        return len(entry_rows), len(line_rows)


def demo_org_seed(*, spec: OrgSpec, seed: int = DEFAULT_SEED, today: date | None = None,
                  months: int = DEFAULT_MONTHS) -> SeedResult:
    """Create (or complete) one demo organisation, in one transaction. Safe to run again: it adds
    only what is missing (so nothing, when the same seed ran for the same month)."""
    with transaction.atomic():
        return _demo_org_seed(spec=spec, seed=seed, today=today or timezone.localdate(), months=months)


def _demo_org_seed(*, spec: OrgSpec, seed: int, today: date, months: int) -> SeedResult:
    org = Organization.objects.filter(slug=spec.slug).first()
    result = SeedResult(spec.slug, created=org is None)
    if org is None:
        org = tenancy.organization_create(slug=spec.slug, name=spec.name, currency=spec.currency,
                                          fiscal_year_start=spec.fiscal_year_start)
    users = demo_users_ensure(org=org)
    chart_ensure(org=org, actor=users[Role.FINANCE], owner=users[Role.DIRECTOR])
    entities_ensure(org=org, specs=spec.entities)
    span = window(today=today, months=months)
    with tenant_context(org):
        have = set(FxRate.objects.values_list("date", "from_currency", "to_currency", "kind"))
    for on, src, dst, rate, kind in fx_rates_generate(seed=seed, slug=spec.slug, months=span, reporting=spec.currency,
                                                        fiscal_year_start=spec.fiscal_year_start):
        if (on, src, dst, kind) not in have:
            ledger.fx_rate_set(tenant=org, actor=users[Role.FINANCE], date=on, from_currency=src, to_currency=dst,
                               rate=rate, kind=kind)
    parent = spec.entities[0]
    drafts = []
    for entity in spec.entities:
        book = EntityBook(seed=seed, org=spec, spec=entity, parent=parent, today=today, months=span)
        drafts.extend(d for d in book.drafts() if d is not None)
        if entity.code != parent.code:
            drafts.extend(_ic_parent_side(book))
    result.entries, result.lines = drafts_write(org=org, drafts=drafts, actor=users[Role.FINANCE])
    # Domain apps add their own demo data (budgets, …) without the ledger importing them.
    for path in settings.DEMO_SEEDERS:
        added = import_string(path)(org, users=users, today=today, seed=seed)
        if added:
            result.extras.append(str(added))
    return result


def _ic_parent_side(book: EntityBook) -> Iterator[Draft]:
    """The parent's side of a subsidiary's management fee and its quarterly settlement."""
    parent, sub = book.parent, book.spec
    for t, month in book.steps:
        fee = book.plan(t).ic_fee
        key = f"demo:{parent.code}:{month:%Y-%m}:ic-fee:{sub.code}"
        if (d := book.on(month, 28)) is not None and fee:
            yield Draft(key, parent.code, d, f"Management fee to {sub.name}", f"IC-{sub.code}-{month:%Y%m}",
                        Source.MANUAL, parent.currency, [("1300", None, fee, ""), ("4080", "FIN", -fee, "")])
        if month.month in (1, 4, 7, 10) and (due := book.ic_due(t)) and (d := book.on(month, 10)) is not None:
            yield Draft(f"{key}:settle", parent.code, d, f"Management fees received from {sub.name}", "",
                        Source.IMPORT, parent.currency, [("1010", None, due, ""), ("1300", None, -due, "")])


def demo_seed(*, seed: int = DEFAULT_SEED, today: date | None = None, months: int = DEFAULT_MONTHS,
              slugs: list[str] | None = None) -> list[SeedResult]:
    return [demo_org_seed(spec=ORG_SPECS[slug], seed=seed, today=today, months=months)
            for slug in (slugs or list(ORG_SPECS))]
