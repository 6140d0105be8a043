"""Demo budgets: what a new user of the demo organisations sees under Budgets.

`demo_budgets_seed` is a demo seeder (`settings.DEMO_SEEDERS`, called by `finops.demo.orgs` at the end
of each demo organisation's seeding). For every entity it builds, through the budget services a
finance team would use, an "Operating plan FY<yyyy> · <entity>" for the fiscal year of `today`,
and one for the year before when the ledger holds that year's actuals (approved and locked):

- Lines per account × cost center × month from the PREVIOUS fiscal year's actuals (the ledger's
  period balances, natural sign): last year's annual amount changed by the team's growth
  assumption (`GROWTH`, a little per-line variation, rounded to hundreds), phased by last year's
  monthly pattern (`budgets.phasing.spread_pattern`: the months sum exactly to the annual).
  When the year before is not in the ledger (the first year of the demo window), the plan is
  that year's own actuals within a few percent: a plan that turned out about right.
- Deliberate misses, so budget vs actual has a story: software in engineering and sales travel
  were cut in the plan but were not in reality (clearly over budget), recruiting was not
  budgeted at all (unbudgeted spend with actuals), and usage revenue was planned to grow faster
  than it does (revenue behind plan in one stream).
- The version workflow with segregation of duties: v1 submitted by the finance user and approved
  by the admin. The parent entity's (the one in the reporting currency) current plan moves on:
  an approved transfer (requested by the director, approved by finance), a draft revision (v2)
  re-forecasting the lines that went wrong, and a pending transfer requested by the director.
- Two alert rules per current-year budget ("Opex over budget", year to date, 100 % and 120 %
  consumed, finance and cost-center owners, immediately; "Revenue behind plan", month, variance
  ≥ 10 % and ≥ 5,000, daily digest), evaluated once for `today` so the alert inbox has alerts.
  With the file or console e-mail backend (`make run`'s default) the immediate alerts are sent
  once the seeding commits; with a real mail server they wait for the worker, like any alert.

Idempotent: a budget that exists (by name) is left as it is, a rule that exists is not created
again, and evaluating again records nothing twice; so a second run on the same day adds
nothing, and a run in a later fiscal year adds that year's budget and rules. Deterministic: the
per-line variation is drawn from `random.Random` seeded by (seed, organisation, entity, year).
Cells are written in one `budget_lines_set` call per version, not one call per cell.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction

from finops.db import analyze
from finops.ledger.actuals import actuals
from finops.ledger.models import Account, AccountType, CostCenter, Entity, Period
from finops.ledger.money import round_money
from finops.ledger.periods import fiscal_year_label
from finops.notifications.outbox import outbox_send
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role

from . import phasing
from . import services as budgets
from .alerts.email import KIND
from .alerts.evaluation import alerts_evaluate
from .alerts.rules import ThresholdSpec, alert_rule_create
from .models import (
    AlertBasis,
    AlertDeliveryMode,
    AlertRule,
    AlertScope,
    Budget,
    BudgetLine,
    ThresholdKind,
    VersionKind,
)
from .selectors import budget_periods
from .transfers.requests import transfer_approve, transfer_request
from .transfers.selectors import line_funds

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# The finance team's growth assumptions on last year's actuals, in % by account code.
GROWTH: dict[str, Decimal] = {
    "4010": Decimal(32), "4020": Decimal(40), "4030": Decimal(30), "4080": Decimal(20),
    "5010": Decimal(36), "5020": Decimal(26), "5030": Decimal(36), "5040": Decimal(28),
    "6010": Decimal(26), "6020": Decimal(26), "6030": Decimal(26), "6040": Decimal(38), "6050": Decimal(8),
    "6070": Decimal(40),
    "6510": Decimal(4), "6520": Decimal(3), "6530": Decimal(24),
    "7010": Decimal(36), "7020": Decimal(24), "7030": Decimal(24),
    "7110": Decimal(36), "7120": Decimal(36), "7130": Decimal(4),
    "7210": Decimal(12), "7220": Decimal(4),
    "7310": Decimal(0), "7320": Decimal(4), "7330": Decimal(4), "7340": Decimal(0), "7350": Decimal(8),
    "7370": Decimal(-12), "7380": Decimal(20),
}
DEFAULT_GROWTH = Decimal(10)
# The misses: cuts that did not happen (account, cost center) → growth %.
CUTS: dict[tuple[str, str], Decimal] = {
    ("7020", "ENG"): Decimal(-10),  # "consolidate developer tooling": seats kept growing
    ("7210", "SALES"): Decimal(-25),  # "travel freeze in sales": customers still wanted visits
}
UNBUDGETED = frozenset({"6060"})  # recruiting: "hiring through referrals only"
JITTER = (Decimal(-1), Decimal("-0.5"), ZERO, Decimal("0.5"), Decimal(1))  # per-line variation, % points

# The draft revision v2 re-forecasts the rest of the year (from the current month on).
REFORECAST: dict[tuple[str, str], Decimal] = {
    ("7020", "ENG"): Decimal(35), ("7210", "SALES"): Decimal(35), ("4030", "SALES"): Decimal(-8),
}
RECRUITING = ("6060", "PEOPLE")  # added to v2 at its run rate so far

OPEX_RULE = "Opex over budget"
REVENUE_RULE = "Revenue behind plan"
FILE_BACKENDS = frozenset({
    "finops.notifications.backends.EmlFileBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
})


@dataclass
class Row:
    """One account × cost center of the ledger over a fiscal year, natural sign, by month (0–11)."""

    account_id: int
    account_code: str
    account_type: str
    cost_center_id: int | None
    cost_center_code: str
    months: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)


@dataclass
class Added:
    budgets: int = 0
    lines: int = 0
    transfers: int = 0
    rules: int = 0
    alerts: int = 0

    def __str__(self) -> str:
        if not (self.budgets or self.rules or self.alerts):
            return ""
        return (f"budgets: {self.budgets} added ({self.lines:,} lines approved), {self.transfers} transfer requests, "
                f"{self.rules} alert rules, {self.alerts} alerts")


def budget_name(*, entity: Entity, fiscal_year: int) -> str:
    return f"Operating plan FY{fiscal_year} · {entity.code}"


def demo_budgets_seed(org, *, users, today: date, seed: int) -> str:
    """Add the demo budgets, transfers and alert rules of `org` that are missing (see the module
    docstring); returns what was added, in words ("" for nothing)."""
    # One tenant context around all the services' own: theirs then skip setting the tenant again.
    with tenant_context(org):
        return _seed(org, users=users, today=today, seed=seed)


def _seed(org, *, users, today: date, seed: int) -> str:
    added = Added()
    year = fiscal_year_label(start_month=org.fiscal_year_start_month, d=today)
    with tenant_context(org):
        entities = list(Entity.objects.filter(active=True).order_by("code"))
        existing = {b.name: b for b in Budget.objects.select_related("entity")}
    missing = [(entity, fiscal_year) for entity in entities for fiscal_year in (year - 1, year)
               if budget_name(entity=entity, fiscal_year=fiscal_year) not in existing]
    current = [existing[name] for name in (budget_name(entity=e, fiscal_year=year) for e in entities)
               if name in existing]
    if missing:
        actuals = actuals_by_year(org, years={fy - k for _, fy in missing for k in (0, 1, 2)})
        parent = _parent_entity(org, entities)
        for entity, fiscal_year in missing:
            budget = _plan_build(org, entity=entity, fiscal_year=fiscal_year, is_current=fiscal_year == year,
                                 revise=entity == parent, actuals=actuals, users=users, today=today, seed=seed,
                                 added=added)
            if budget is not None and fiscal_year == year:
                current.append(budget)
    if added.budgets:  # before budget vs actual reads them for the alerts
        _statistics_refresh("ledger_period", "ledger_periodbalance", "budgets_budgetline", "budgets_budgetversion",
                            "budgets_transferrequest")
    current.sort(key=lambda b: b.entity.code)
    for budget in current:
        added.rules += _rules_ensure(org, budget=budget, actor=users[Role.FINANCE])
    if current:
        result = alerts_evaluate(tenant=org, as_of=today)
        added.alerts = result.alerts_created
        if result.deliveries_created and settings.EMAIL_BACKEND in FILE_BACKENDS:
            # Sending claims and commits on its own: after the demo's transaction, never inside it.
            transaction.on_commit(lambda: outbox_send(tenant=org, kind=KIND))
    return str(added)


def _parent_entity(org, entities: list[Entity]) -> Entity | None:
    """The group's parent: the entity in the organisation's reporting currency (else the first)."""
    found = [e for e in entities if str(e.functional_currency) == str(org.reporting_currency)]
    return (found or sorted(entities, key=lambda e: e.pk) or [None])[0]


def _statistics_refresh(*tables: str) -> None:
    """ANALYZE tables the demo has just filled in this transaction: on a fresh database the
    planner would otherwise take them for empty and pick nested loops over thousands of rows
    (seconds instead of milliseconds for budget vs actual)."""
    analyze(*tables)


# --- the plan ------------------------------------------------------------------------------------

Actuals = dict[tuple[int, int], dict[tuple[int, int | None], Row]]


def actuals_by_year(org, *, years) -> Actuals:
    """{(entity id, fiscal year): {(account id, cost center id): Row}} of revenue and expense
    actuals, natural sign, for the fiscal years in `years` that the ledger holds in FULL (actuals
    in all 12 months); a year with a month missing is left out. Read through the ledger's `actuals`."""
    with tenant_context(org):
        periods = {p.start: p for p in Period.objects.filter(fiscal_year__in=sorted(years))}
        accounts = {a.pk: a for a in Account.objects.filter(
            active=True, type__in=[AccountType.REVENUE, AccountType.EXPENSE])}
        cost_centers = {c.pk: c for c in CostCenter.objects.all()}
    found = actuals(tenant=org, accounts=accounts, start=min(periods, default=None), end=max(periods, default=None),
                    group_by=("entity", "account", "cost_center", "month")).rows if periods else []
    by_year: Actuals = defaultdict(dict)
    months = defaultdict(set)
    for cell in found:
        cost_center = cost_centers.get(cell.cost_center_id)
        if cost_center is not None and not cost_center.active:
            continue
        period, account = periods[cell.month], accounts[cell.account_id]
        rows = by_year[cell.entity_id, period.fiscal_year]
        row = rows.setdefault((account.pk, cell.cost_center_id),
                              Row(account.pk, account.code, account.type, cell.cost_center_id,
                                  cost_center.code if cost_center else ""))
        row.months[period.number - 1] += cell.amount
        months[cell.entity_id, period.fiscal_year].add(period.number)
    return {key: rows for key, rows in by_year.items() if len(months[key]) == 12}


def _nice(amount: Decimal, currency: str) -> Decimal:
    """An annual amount as a planner types it: to the hundred (to the ten below 10,000)."""
    unit = Decimal(100) if abs(amount) >= 10_000 else Decimal(10)
    return round_money((amount / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit, currency)


def plan_cells(rows: dict, *, periods, currency: str, rng: random.Random, assumptions: bool) -> list[budgets.Cell]:
    """The cells of a plan from a year of actuals: with `assumptions`, last year's annual changed
    by `GROWTH` / `CUTS` (plus a little per-line variation) and `UNBUDGETED` left out; without,
    the year's own annual within a few percent. Phased by the actuals' monthly pattern; zero
    months get no cell. A contra line (credits and discounts on a revenue account: negative in
    natural sign) is planned negative, phased by its own pattern."""
    cells = []
    for key in sorted(rows, key=lambda k: (rows[k].account_code, rows[k].cost_center_code)):
        row = rows[key]
        total = sum(row.months, ZERO)
        sign = -1 if total < 0 else 1
        pattern = [sign * m for m in row.months]
        if total == 0 or not phasing.pattern_is_usable(pattern):
            continue  # nothing to phase
        if assumptions:
            if row.account_code in UNBUDGETED:
                continue
            cut = CUTS.get((row.account_code, row.cost_center_code))
            pct = cut if cut is not None else GROWTH.get(row.account_code, DEFAULT_GROWTH) + rng.choice(JITTER)
        else:
            pct = Decimal(rng.randint(-40, 30)) / 10  # −4.0 % … +3.0 %
        annual = _nice(abs(total) * (1 + pct / HUNDRED), currency)
        months = [sign * m for m in phasing.spread_pattern(annual, pattern=pattern, currency=currency)]
        cells += [budgets.Cell(row.account_id, row.cost_center_id, period, amount)
                  for period, amount in zip(periods, months, strict=True) if amount]
    return cells


def _plan_build(org, *, entity: Entity, fiscal_year: int, is_current: bool, revise: bool, actuals: Actuals, users,
                today: date, seed: int, added: Added) -> Budget | None:
    this_year = actuals.get((entity.pk, fiscal_year))
    if not is_current and this_year is None:
        return None  # a past year the ledger does not hold in full: nothing to plan against
    base = actuals.get((entity.pk, fiscal_year - 1))
    if base is None and is_current:
        return None  # no full year of actuals to build the plan from
    finance, admin = users[Role.FINANCE], users[Role.ADMIN]
    currency = str(entity.functional_currency)
    budget = budgets.budget_create(tenant=org, actor=finance, entity=entity, fiscal_year=fiscal_year,
                                   name=budget_name(entity=entity, fiscal_year=fiscal_year))
    periods = budget_periods(tenant=org, budget=budget)
    rng = random.Random(f"{seed}:{org.slug}:{entity.code}:FY{fiscal_year}:budget")
    cells = plan_cells(base if base is not None else this_year, periods=periods, currency=currency, rng=rng,
                       assumptions=base is not None)
    with tenant_context(org):
        v1 = budget.versions.get(number=1)
    added.lines += budgets.budget_lines_set(tenant=org, actor=finance, version=v1, cells=cells).created
    budgets.version_submit(tenant=org, actor=finance, version=v1)
    budgets.version_approve(tenant=org, actor=admin, version=v1)  # not the submitter: duties kept apart
    added.budgets += 1
    if not is_current:
        budgets.version_lock(tenant=org, actor=finance, version=v1)  # the year is over
        return budget
    if not revise:
        return budget
    # The parent's plan moves on: a reallocation approved, a re-forecast in draft, a request pending.
    month = next((p for p in periods if p.start <= today <= p.end), periods[-1])
    last = periods[-1]
    added.transfers += _transfer(org, version=v1, period=last, users=users, approve=True,
                                 source=("7110", "MKT"), destination=("7120", "MKT"), share=Decimal("0.15"),
                                 reason=f"Move part of {last.start:%B}'s paid-social budget to the year-end "
                                        "customer event.")
    v2 = budgets.version_revise(tenant=org, actor=finance, version=v1, kind=VersionKind.REVISION)
    _reforecast(org, version=v2, periods=[p for p in periods if p.start >= month.start],
                ytd=[p for p in periods if p.start < month.start], entity=entity, actor=finance)
    added.transfers += _transfer(org, version=v1, period=last, users=users, approve=False,
                                 source=("6050", "ENG"), destination=("7020", "ENG"), share=Decimal("0.20"),
                                 reason=f"Developer tooling runs over plan; {last.start:%B}'s contractor budget "
                                        "will not be used in full.")
    return budget


def _lines_by_code(org, version, codes) -> dict[tuple[str, str], dict[int, BudgetLine]]:
    """{(account code, cost center code): {period id: line}} of a version's lines on `codes`."""
    found: dict[tuple[str, str], dict[int, BudgetLine]] = defaultdict(dict)
    with tenant_context(org):
        lines = (BudgetLine.objects.filter(version=version, account__code__in={a for a, _ in codes})
                 .select_related("account", "cost_center"))
        for line in lines:
            key = (line.account.code, line.cost_center.code if line.cost_center else "")
            if key in codes:
                found[key][line.period_id] = line
    return found


def _reforecast(org, *, version, periods, ytd, entity: Entity, actor) -> None:
    """v2: the lines that went wrong re-forecast from the current month on, and recruiting
    budgeted at its run rate so far. One `budget_lines_set` call."""
    currency = str(entity.functional_currency)
    lines = _lines_by_code(org, version, set(REFORECAST))
    cells = []
    for (code, cc), pct in REFORECAST.items():
        for period in periods:
            line = lines.get((code, cc), {}).get(period.pk)
            if line is not None:
                amount = (line.amount * (1 + pct / HUNDRED)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
                cells.append(budgets.Cell(line.account_id, line.cost_center_id, period, round_money(amount, currency)))
    code, cc = RECRUITING
    with tenant_context(org):
        account = Account.objects.filter(code=code).first()
        cost_center = CostCenter.objects.filter(code=cc).first()
    spent = []
    if ytd and account is not None and cost_center is not None:
        spent = [(row.account_id, row.cost_center_id, row.amount) for row in actuals(
            tenant=org, entity=entity, accounts=[account], cost_centers=[cost_center],
            start=min(p.start for p in ytd), end=max(p.start for p in ytd),
            group_by=("account", "cost_center", "month")).rows]
    if spent and ytd:
        monthly = _nice(sum((a for _, _, a in spent), ZERO) / len(ytd), currency)
        cells += [budgets.Cell(spent[0][0], spent[0][1], period, monthly) for period in periods if monthly > 0]
    if cells:
        budgets.budget_lines_set(tenant=org, actor=actor, version=version, cells=cells)


def _transfer(org, *, version, period, users, approve: bool, source: tuple[str, str], destination: tuple[str, str],
              share: Decimal, reason: str) -> int:
    """A transfer request by the director of `share` of the source line (what is available, at
    most), and its approval by finance when `approve`. 0 when the version has no such source."""
    found = _lines_by_code(org, version, {source, destination})
    line = found.get(source, {}).get(period.pk)
    if line is None:
        return 0
    funds = line_funds(tenant=org, version=version, lines=[line])[0]
    amount = (min(funds.effective * share, funds.available / 2) / 100).quantize(Decimal(1), rounding=ROUND_DOWN) * 100
    if amount <= 0:
        return 0
    to = found.get(destination, {}).get(period.pk)
    if to is None:  # the destination has no cell that month: the service creates it at 0
        with tenant_context(org):
            account = Account.objects.get(code=destination[0])
            center = CostCenter.objects.get(code=destination[1])
        to = (account.pk, center.pk, period.pk)
    request = transfer_request(tenant=org, actor=users[Role.DIRECTOR], version=version, source=line,
                                     destination=to, amount=amount, reason=reason)
    if approve:
        transfer_approve(tenant=org, actor=users[Role.FINANCE], transfer=request,
                               comment="Approved: within the marketing envelope.")
    return 1


# --- alert rules ---------------------------------------------------------------------------------

def _rules_ensure(org, *, budget: Budget, actor) -> int:
    """The two demo rules watching `budget`, created when missing; returns how many were created."""
    suffix = f" · {budget.entity.code} FY{budget.fiscal_year}"
    with tenant_context(org):
        have = set(AlertRule.objects.filter(name__in=[OPEX_RULE + suffix, REVENUE_RULE + suffix])
                   .values_list("name", flat=True))
    created = 0
    if OPEX_RULE + suffix not in have:
        alert_rule_create(
            tenant=org, actor=actor, budget=budget, name=OPEX_RULE + suffix, scope=AlertScope.ACCOUNT_TYPE,
            account_type=AccountType.EXPENSE, basis=AlertBasis.YTD, recipient_roles=[Role.FINANCE],
            notify_cost_center_owners=True, delivery=AlertDeliveryMode.IMMEDIATE,
            thresholds=[ThresholdSpec(ThresholdKind.CONSUMED_PCT, pct=Decimal(100)),
                        ThresholdSpec(ThresholdKind.CONSUMED_PCT, pct=Decimal(120))])
        created += 1
    if REVENUE_RULE + suffix not in have:
        alert_rule_create(
            tenant=org, actor=actor, budget=budget, name=REVENUE_RULE + suffix, scope=AlertScope.ACCOUNT_TYPE,
            account_type=AccountType.REVENUE, basis=AlertBasis.YTD, recipient_roles=[Role.FINANCE],
            notify_cost_center_owners=True, delivery=AlertDeliveryMode.DIGEST, unfavourable_only=True,
            thresholds=[ThresholdSpec(ThresholdKind.VARIANCE, pct=Decimal(5), amount=Decimal(5000))])
        created += 1
    return created
