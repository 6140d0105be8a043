"""The ledger's read API for actuals: what every domain (budgets, reporting, and next costs,
revenue and planning) reads of the books, and the one home of the sign rules.

Signs
    The ledger stores amounts debit-positive. A finance user reads them in the account's
    NATURAL sign: revenue earned, a liability owed and equity held are positive, as are an
    expense incurred and an asset held. `natural_sign` turns one into the other; `natural_sql`
    does it inside a statement. Favourable (`favourable`) follows from the nature too, never
    from the raw sign: for a credit-natured account (revenue) MORE than budget is favourable, for
    a debit-natured one (expense, capital spend) LESS; exactly on budget counts as favourable.

Actuals
    `actuals` reads the period-balance rollup (one row per entity × account × cost center ×
    month, kept by the ledger's triggers), never journal lines: a year of a large ledger costs a
    few thousand rows. Filter by entity, accounts, cost centers and a month range; group by any
    of entity / account / cost center / month; natural or debit sign; in each entity's
    functional currency, or consolidated into one currency at a rate kind (average for flows,
    closing for balances), where a month without a rate is reported, not guessed.

    A report that must stay one statement (budget vs actual, the dashboard) composes
    `ROLLUP_CELLS_SQL` and `natural_sql` into its own SQL instead. `periods_posted` says which
    months hold postings at all, for a page that offers months to pick; `months_posted_from`
    which months from a date on hold any (the dashboard's "dated far ahead").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from django.db import connection
from django.db.models import Sum

from finops.tenancy.context import tenant_context

from .fx import RateBook
from .models import NORMAL_BALANCE_OF, AccountType, Entity, FxRateKind, NormalBalance, PeriodBalance
from .money import as_decimal, round_money, translate

ZERO = Decimal(0)

# The factor that turns a debit-positive amount of each account type into its natural sign.
NATURAL_SIGN: dict[str, int] = {t.value: -1 if NORMAL_BALANCE_OF[t] == NormalBalance.CREDIT else 1
                                for t in AccountType}
CREDIT_NATURED_TYPES: tuple[str, ...] = tuple(t for t, factor in NATURAL_SIGN.items() if factor < 0)


def account_type_of(account_type) -> AccountType:
    try:
        return AccountType(account_type)
    except ValueError:
        choices = ", ".join(t.value for t in AccountType)
        raise ValueError(f"Unknown account type {account_type!r}; expected one of {choices}.") from None


def is_credit_natured(account_type) -> bool:
    return NATURAL_SIGN[account_type_of(account_type)] < 0


def natural_sign(account_type, ledger_amount) -> Decimal:
    """A debit-positive ledger amount in the account's natural sign (revenue earned is positive)."""
    amount = as_decimal(ledger_amount, "ledger_amount")
    return -amount if is_credit_natured(account_type) else amount


def favourable(*, account_type, actual, budget) -> bool:
    """Revenue (credit-natured) at or above budget, expense (debit-natured) at or below budget;
    `actual` and `budget` in natural sign."""
    actual, budget = as_decimal(actual, "actual"), as_decimal(budget, "budget")
    return actual >= budget if is_credit_natured(account_type) else actual <= budget


def natural_sql(type_sql: str, amount_sql: str) -> str:
    """SQL for `amount_sql` (debit positive) in the natural sign of the account type `type_sql`."""
    credit = ", ".join(f"'{t}'" for t in CREDIT_NATURED_TYPES)
    return f"CASE WHEN {type_sql} IN ({credit}) THEN -({amount_sql}) ELSE {amount_sql} END"


# The rollup's cells for statements that compose it: `{filters}` adds conditions on `pb`; the
# cost center key is coalesced to 0 so that a FULL JOIN can use plain equality.
ROLLUP_CELLS_SQL = """
    SELECT pb.entity_id, pb.account_id, coalesce(pb.cost_center_id, 0) AS cc_key, pb.period_id, pb.amount
    FROM ledger_periodbalance pb
    WHERE pb.tenant_id = %(tenant)s{filters}"""


def periods_posted(*, tenant) -> list[tuple[date, bool]]:
    """Every period of `tenant` (its first day, newest first) and whether it holds postings."""
    # The periods with postings are found by skipping along the (tenant, period) index of the
    # rollup, one probe per period that has rows. A per-period EXISTS let the planner pick a
    # sequential scan (it expects to meet a matching row at once; the rows lie in posting order),
    # which read the tenant's whole rollup for every empty period: 0.3 s on a 1M-line ledger.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE used AS (
                (SELECT pb.period_id FROM ledger_periodbalance pb
                  WHERE pb.tenant_id = %(tenant)s ORDER BY pb.period_id LIMIT 1)
                UNION ALL
                SELECT (SELECT pb.period_id FROM ledger_periodbalance pb
                         WHERE pb.tenant_id = %(tenant)s AND pb.period_id > used.period_id
                         ORDER BY pb.period_id LIMIT 1)
                  FROM used WHERE used.period_id IS NOT NULL
            )
            SELECT p.start, p.id IN (SELECT period_id FROM used WHERE period_id IS NOT NULL)
              FROM ledger_period p
             WHERE p.tenant_id = %(tenant)s
             ORDER BY p.start DESC
            """,
            {"tenant": getattr(tenant, "pk", tenant)},
        )
        return cursor.fetchall()


@dataclass(frozen=True)
class MonthPosted:
    month: date  # first day
    lines: int  # journal lines dated in it


def months_posted_from(*, tenant, first: date) -> list[MonthPosted]:
    """The months from `first` on that hold postings which do not net to nothing (an entry and
    its reversal leave a month off the list), oldest first: for "dated far ahead" on the dashboard."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.start, sum(pb.line_count)
              FROM ledger_period p
              JOIN ledger_periodbalance pb ON pb.tenant_id = p.tenant_id AND pb.period_id = p.id
             WHERE p.tenant_id = %(tenant)s AND p.start >= %(first)s
             GROUP BY p.start
            HAVING bool_or(pb.amount <> 0)
             ORDER BY p.start
            """,
            {"tenant": getattr(tenant, "pk", tenant), "first": first},
        )
        return [MonthPosted(start, int(lines)) for start, lines in cursor.fetchall()]


# --- the selector -------------------------------------------------------------------------------

class Sign(StrEnum):
    NATURAL = "natural"
    DEBIT = "debit"  # as stored: debits positive


GROUPINGS = ("entity", "account", "cost_center", "month")
_COLUMN = {"entity": "entity_id", "account": "account_id", "cost_center": "cost_center_id",
           "month": "period__start"}


@dataclass(frozen=True)
class ActualRow:
    """One group of actuals: the keys grouped by (others None), the amount and the line count."""

    entity_id: int | None
    account_id: int | None
    cost_center_id: int | None
    month: date | None
    currency: str
    amount: Decimal  # in `sign`, rounded to `currency`'s minor unit when translated
    lines: int


@dataclass(frozen=True)
class MissingRate:
    """Rates a consolidation needed and did not find: `src` → `dst` of `kind` for these months."""

    src: str
    dst: str
    kind: str
    months: tuple[date, ...]
    entities: tuple[str, ...]

    @property
    def message(self) -> str:
        months = ", ".join(f"{m:%Y-%m}" for m in self.months)
        which = {FxRateKind.AVERAGE: "average", FxRateKind.CLOSING: "closing", FxRateKind.BUDGET: "budget"}[self.kind]
        left_out = {FxRateKind.AVERAGE: "P&L amounts", FxRateKind.CLOSING: "balance-sheet balances",
                    FxRateKind.BUDGET: "budgets"}[self.kind]
        if self.kind == FxRateKind.BUDGET:  # one rate per fiscal year, dated on its first day
            years = ", ".join(f"the fiscal year from {m:%b %Y}" for m in self.months)
            return (f"No {self.src}→{self.dst} budget rate for {years}: the budgets of {', '.join(self.entities)} "
                    f"are left out of the consolidated figures. Add it under FX rates (kind: budget rate).")
        return (
            f"No {self.src}→{self.dst} {which} rate for {months}: the {left_out} of "
            f"{', '.join(self.entities)} for {'that month' if len(self.months) == 1 else 'those months'} "
            f"are left out of the consolidated figures."
        )


@dataclass
class Actuals:
    rows: list[ActualRow]
    missing_rates: list[MissingRate] = field(default_factory=list)


class Translator:
    """(entity, month, amount) → `currency` at the month's rate of a kind, remembering what had no
    rate. With `rates` None every amount is in `currency` already and is only rounded."""

    def __init__(self, *, currency: str, entities: dict[int, Entity], rates: dict[str, RateBook] | None):
        self.currency = currency
        self.entities = entities
        self.rates = rates
        self._missing: dict[tuple[str, str, str], dict] = {}

    def __call__(self, entity_id: int, month: date, amount: Decimal, *, kind: str) -> Decimal | None:
        if self.rates is None:
            return round_money(amount, self.currency)
        entity = self.entities[entity_id]
        src = str(entity.functional_currency)
        rate = self.rates[kind].rate(src=src, dst=self.currency, month=month)
        if rate is None:
            if amount:
                gap = self._missing.setdefault((src, self.currency, kind), {"months": set(), "entities": set()})
                gap["months"].add(month)
                gap["entities"].add(entity.code)
            return None
        return translate(amount, rate, self.currency)

    def missing_rates(self) -> list[MissingRate]:
        return [MissingRate(src, dst, kind, tuple(sorted(gap["months"])), tuple(sorted(gap["entities"])))
                for (src, dst, kind), gap in sorted(self._missing.items())]


def _ids(values: Iterable | None) -> list[int] | None:
    return None if values is None else [getattr(v, "pk", v) for v in values]


def actuals(*, tenant, entity=None, accounts: Iterable | None = None, cost_centers: Iterable | None = None,
            start: date | None = None, end: date | None = None, group_by: Sequence[str] = GROUPINGS,
            sign: Sign = Sign.NATURAL, currency: str | None = None, rate_kind: str = FxRateKind.AVERAGE,
            ) -> Actuals:
    """Actuals from the rollup for the months `start` … `end` (either open; days are ignored),
    grouped by `group_by` (a subset of GROUPINGS). Each account's amounts are signed before they
    are grouped, so a group across account types adds natural figures (revenue and expense both
    positive): group by account, or filter to one kind, where that is not what is meant.

    Without `currency`, rows are in each entity's functional currency (a row per currency, never
    summed across currencies). With it, each entity × month is translated at `rate_kind` and
    summed; months without a rate are left out and listed in `missing_rates`."""
    unknown = set(group_by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"Unknown grouping {sorted(unknown)}; expected some of {', '.join(GROUPINGS)}.")
    with tenant_context(tenant):
        qs = PeriodBalance.objects.all()
        if entity is not None:
            qs = qs.filter(entity_id=getattr(entity, "pk", entity))
        if (ids := _ids(accounts)) is not None:
            qs = qs.filter(account_id__in=ids)
        if (ids := _ids(cost_centers)) is not None:
            qs = qs.filter(cost_center_id__in=ids)
        if start is not None:
            qs = qs.filter(period__start__gte=start.replace(day=1))
        if end is not None:
            qs = qs.filter(period__start__lte=end.replace(day=1))
        # Fetched by entity, account and month whatever the grouping: the sign is the account's,
        # the currency the entity's and the rate the month's. Then grouped here.
        cells = (qs.values_list("entity_id", "account_id", "account__type", "cost_center_id", "period__start")
                 .annotate(amount=Sum("amount"), lines=Sum("line_count")).order_by())
        entities = {e.pk: e for e in Entity.objects.all()}
        rates = None
        if currency is not None and any(str(e.functional_currency) != currency for e in entities.values()):
            rates = {rate_kind: RateBook.load(tenant=tenant, kind=rate_kind)}
        translator = Translator(currency=currency, entities=entities, rates=rates) if currency else None

        groups: dict[tuple, list] = {}
        for entity_id, account_id, account_type, cost_center_id, month, amount, lines in cells:
            if sign == Sign.NATURAL:
                amount = natural_sign(account_type, amount)
            if translator is not None:
                amount = translator(entity_id, month, amount, kind=rate_kind)
                if amount is None:
                    continue
                row_currency = currency
            else:
                row_currency = str(entities[entity_id].functional_currency)
            keys = {"entity": entity_id, "account": account_id, "cost_center": cost_center_id, "month": month}
            key = (*(keys[g] if g in group_by else None for g in GROUPINGS), row_currency)
            total = groups.setdefault(key, [ZERO, 0])
            total[0] += amount
            total[1] += lines
    rows = [ActualRow(*key, amount=amount, lines=lines) for key, (amount, lines) in groups.items()]
    rows.sort(key=lambda r: (r.currency, r.entity_id or 0, r.account_id or 0, r.cost_center_id or 0,
                             r.month or date.min))
    return Actuals(rows, translator.missing_rates() if translator else [])
