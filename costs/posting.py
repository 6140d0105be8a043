"""From cost data to the ledger: each month's cost, per currency, is one journal entry.

The entry debits expense by cost center and account (the mapping, `costs/mapping.py`) and
credits the accrual account (a liability: the provider's invoice is still to come), dated the
month's last day, or the first day of the first open month when that month is closed. It books
the amortised cost (EffectiveCost) by default, or the billed cost (BilledCost) when the
organisation chooses it (`CostLedgerSettings.basis`).

Why one column and not both: a FOCUS export states a commitment purchase twice, as the purchase
(billed in full in its month, EffectiveCost 0) and again spread over the usage it covers
(EffectiveCost > 0, BilledCost 0). Summing one of the two columns over every row counts each
amount once; EffectiveCost also puts the cost in the months that used it.

Each line's cost is the exact sum of its items (fractions of a cent), rounded once; the parts are
rounded so that they sum to the month's exact cost rounded once (`round_parts`). Each month and
currency is a derived entry of the kernel (`finops.ledger.derived`, kind "costs", key
"YYYY-MM:CUR"): a month whose lines change (a new file, a changed rule, other settings) posts by
reversal and a new entry, never by an edit; one whose lines are the same posts nothing, so a
refresh is safe to run twice and concurrently.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from finops.ledger.derived import Derived, derived_postings, derived_sync
from finops.ledger.models import DerivedPosting, Source
from finops.ledger.money import round_parts
from finops.ledger.periods import month_end
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .mapping import Mapper, mapper_load
from .models import Basis, CostLedgerSettings
from .selectors import cost_groups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanLine:
    cost_center_id: int | None
    account_id: int
    amount: Decimal  # in the plan's currency, rounded once
    allocated: bool  # False: an unallocated item's cost, on the settings' unallocated account


@dataclass
class MonthPlan:
    """What the ledger should hold for one month and currency."""

    month: date
    currency: str
    lines: list[PlanLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def unallocated(self) -> Decimal:
        return sum((line.amount for line in self.lines if not line.allocated), Decimal(0))


def ledger_settings_get(*, tenant) -> CostLedgerSettings | None:
    with tenant_context(tenant):
        return CostLedgerSettings.objects.select_related(
            "entity", "accrual_account", "unallocated_account", "unallocated_cost_center").first()


def month_plans(*, tenant, settings: CostLedgerSettings, mapper: Mapper | None = None,
                months: list[date] | None = None) -> dict[tuple[date, str], MonthPlan]:
    """The entry each (month, currency) of cost items should post, on the settings' basis.
    Months before `post_from` plan nothing (what they posted before is reversed)."""
    mapper = mapper or mapper_load(tenant=tenant)
    exact: dict[tuple[date, str], dict[tuple[int | None, int, bool], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for group in cost_groups(tenant=tenant, mapper=mapper, months=months, date_from=settings.post_from):
        mapped = mapper.map(group.key)
        cost_center = mapped.cost_center_id if mapped.cost_center_id is not None else settings.unallocated_cost_center_id
        account = mapped.account_id if mapped.account_id is not None else settings.unallocated_account_id
        exact[group.key.month, group.key.currency][cost_center, account, mapped.allocated] += group.cost(settings.basis)
    plans = {}
    for (month, currency), cells in exact.items():
        order = sorted(cells, key=lambda c: (not c[2], c[1], c[0] or 0))  # allocated first, by account, cost center
        amounts = round_parts([cells[c] for c in order], currency)
        lines = [PlanLine(cc, account, amount, allocated)
                 for (cc, account, allocated), amount in zip(order, amounts, strict=True) if amount]
        plans[month, currency] = MonthPlan(month, currency, lines)
    return plans


POSTING_KIND = "costs"  # DerivedPosting.kind of a month's cost data; its key is "YYYY-MM:CUR"


def posting_key(month: date, currency: str) -> str:
    return f"{month:%Y-%m}:{currency}"


@dataclass
class RefreshResult:
    configured: bool = True
    posted: list[DerivedPosting] = field(default_factory=list)  # months that posted (or reversed) now
    unchanged: int = 0
    problems: list[DerivedPosting] = field(default_factory=list)


@requires(Action.WRITE, "post cost data to the ledger")
def cost_ledger_refresh(*, tenant, actor, months: list[date] | None = None) -> RefreshResult:
    """Bring the ledger in step with the cost data for `months` (None: every month with cost
    items or postings), through the kernel's derived entries (`finops.ledger.derived`): a month
    whose lines did not change posts nothing, a changed one posts by reversal and a new entry,
    one that cannot post (a missing FX rate) keeps what it posted and says why."""
    settings = ledger_settings_get(tenant=tenant)
    if settings is None:
        return RefreshResult(configured=False)
    months = sorted({m.replace(day=1) for m in months}) if months is not None else None
    plans = month_plans(tenant=tenant, settings=settings, months=months)
    keys = set(plans) | {(p.month, p.currency) for p in derived_postings(tenant=tenant, kind=POSTING_KIND, months=months)}
    result = RefreshResult()
    for month, currency in sorted(keys):
        plan = plans.get((month, currency)) or MonthPlan(month, currency)
        posting, changed = derived_sync(tenant=tenant, actor=actor, want=_derived(settings, plan))
        if posting is None or not changed:
            result.unchanged += 1
        elif posting.problem:
            result.problems.append(posting)
        else:
            result.posted.append(posting)
    return result


def _derived(settings: CostLedgerSettings, plan: MonthPlan) -> Derived:
    lines = [LineSpec(account_id=line.account_id, cost_center_id=line.cost_center_id, amount=line.amount,
                      currency=plan.currency, memo="" if line.allocated else "Unallocated cost: no mapping rule claims it")
             for line in plan.lines]
    if lines and plan.total:
        lines.append(LineSpec(account_id=settings.accrual_account_id, amount=-plan.total, currency=plan.currency,
                              memo="Accrued: the provider's invoice"))
    basis = "billed" if settings.basis == Basis.BILLED else "amortised"
    return Derived(kind=POSTING_KIND, key=posting_key(plan.month, plan.currency), month=plan.month,
                   date=month_end(plan.month), entity=settings.entity, lines=tuple(lines),
                   memo=f"Cost data {plan.month:%B %Y} ({plan.currency}), {basis} basis",
                   reference=f"costs:{plan.month:%Y-%m}", source=Source.COSTS, currency=plan.currency)


def ledger_refresh_on_commit(*, tenant_id: int, months: list[date] | None = None) -> None:
    """Queue a refresh of the tenant's cost postings when the current transaction commits.
    A broker outage is logged, never fails what changed: the next change, or the page's
    "Post now", catches up."""
    from .tasks import cost_ledger_refresh_task

    with tenant_context(tenant_id):
        if not CostLedgerSettings.objects.exists():
            return  # the organisation does not post cost data (yet): saving the settings posts it all
    payload = sorted({m.replace(day=1).isoformat() for m in months}) if months is not None else None

    def send():
        try:
            cost_ledger_refresh_task.delay(tenant_id, payload)
        except Exception:  # noqa: BLE001
            log.exception("could not queue the cost postings of organisation %s", tenant_id)

    transaction.on_commit(send, robust=True)
