"""The director's dashboard: month-to-date and year-to-date results, balances and a trend.

Which month. The dashboard opens on the last complete month (on 2 December: November), or on
the latest earlier month with postings when the ledger stops before it; on the current month
only when nothing complete has postings yet. The current month can be chosen and is then
labelled "month to date" (with the days gone), its change compared with the month before
pro rata to the same share of days. A month after the current one is never shown: postings
dated far ahead (`finops.bounds.far_ahead_from`, a typo of the year, often) are listed with a
link to their journal lines instead, so one entry dated 2030 cannot move everyone's dashboard.

Everything here reads the ledger's rollup through its read API (`finops.ledger.actuals`: the
periods with postings, and `ROLLUP_CELLS_SQL` composed into one aggregate), never journal lines,
in three or four queries whatever the size of the ledger: the periods, the entities, the FX rates
(only when a consolidated view needs them) and one aggregate over the period balances.

Signs. The ledger stores debit-positive amounts; the dashboard shows natural signs: revenue,
liabilities and equity are the negated sums, expenses and assets the sums as stored, and net
income is revenue − expenses.

Consolidation. "Consolidated" shows every entity in the organisation's reporting currency.
Each entity's monthly P&L amounts are translated at that month's average rate and its
balance-sheet balances at the closing rate of the selected month (the usual current-rate
method; the translation difference is not computed here). A missing rate is never taken as 1:
the amounts it would translate are left out and the dashboard names the pair and the months.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from finops import bounds
from finops.errors import DomainError
from finops.ledger.actuals import (
    NATURAL_SIGN,
    ROLLUP_CELLS_SQL,
    MissingRate,
    MonthPosted,
    Translator,
    months_posted_from,
    periods_posted,
)
from finops.ledger.fx import RateBook
from finops.ledger.models import AccountType, Entity, FxRate, FxRateKind
from finops.ledger.money import round_money
from finops.ledger.periods import add_months, fiscal_year_label, fiscal_year_start, month_end, month_start

SPANS = {"12m": "Last 12 months", "fy": "Fiscal year"}
BALANCE_SHEET_TYPES = (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)
TOP_ACCOUNTS = 6
ZERO = Decimal(0)


@dataclass
class Results:
    """Natural-sign P&L figures for a span of months, in one currency."""

    revenue: Decimal = ZERO
    expenses: Decimal = ZERO

    @property
    def net_income(self) -> Decimal:
        return self.revenue - self.expenses

    @property
    def margin(self) -> Decimal | None:
        """Net income as a percentage of revenue (None without revenue)."""
        return (self.net_income / self.revenue * 100) if self.revenue else None


@dataclass
class Balances:
    """Natural-sign balance-sheet figures at a month's end, in one currency."""

    assets: Decimal = ZERO
    liabilities: Decimal = ZERO
    equity: Decimal = ZERO

    @property
    def net_assets(self) -> Decimal:
        return self.assets - self.liabilities

    @property
    def unclosed_earnings(self) -> Decimal:
        """What balances the sheet: results not yet closed into equity (and, consolidated,
        translation differences)."""
        return self.assets - self.liabilities - self.equity

    def share(self, amount: Decimal) -> Decimal:
        """`amount` as a percentage of the assets (0 without assets)."""
        return amount / self.assets * 100 if self.assets > 0 else ZERO

    @property
    def funding(self) -> list[tuple[str, str, Decimal, Decimal]]:
        """How the assets are funded: (key, label, amount, percentage of assets)."""
        return [
            ("liabilities", "Liabilities", self.liabilities, self.share(self.liabilities)),
            ("equity", "Equity", self.equity, self.share(self.equity)),
            ("earnings", "Earnings to date", self.unclosed_earnings, self.share(self.unclosed_earnings)),
        ]


@dataclass(frozen=True)
class Kpi:
    """One headline figure: the month, the fiscal year to date and the change on the month before."""

    key: str
    label: str
    value: Decimal
    ytd: Decimal
    prior: Decimal
    higher_is_better: bool

    @property
    def change(self) -> Decimal | None:
        """Percentage change on the month before (None when that month was zero)."""
        return (self.value - self.prior) / abs(self.prior) * 100 if self.prior else None

    @property
    def favourable(self) -> bool | None:
        if self.value == self.prior:
            return None
        return (self.value > self.prior) == self.higher_is_better


@dataclass(frozen=True)
class TrendPoint:
    month: date
    revenue: Decimal | None  # None: a month after the selected one (the chart leaves a gap)
    expenses: Decimal | None

    @property
    def net(self) -> Decimal | None:
        return None if self.revenue is None else self.revenue - self.expenses


@dataclass(frozen=True)
class AccountAmount:
    code: str
    name: str
    amount: Decimal  # natural sign, in the dashboard's currency
    share: Decimal  # percentage of the type's total for the month


@dataclass
class Dashboard:
    month: date
    span: str  # a key of SPANS: what the trend chart covers
    currency: str
    entity: Entity | None  # None: consolidated
    entities: list[Entity]
    months: list[date]  # the months one can pick, newest first
    fiscal_year: int
    fiscal_year_start: date
    mtd: Results
    prior_month: Results  # the month before, for the change shown next to each figure
    ytd: Results
    balances: Balances
    trend: list[TrendPoint]
    top_expenses: list[AccountAmount]
    top_revenue: list[AccountAmount]
    missing_rates: list[MissingRate] = field(default_factory=list)
    has_postings: bool = False
    today: date | None = None
    far_ahead: list[MonthPosted] = field(default_factory=list)  # months after today's with postings

    @property
    def in_progress(self) -> bool:
        """The month is the current one: its figures are month to date."""
        return self.today is not None and month_start(self.today) == self.month

    @property
    def days(self) -> tuple[int, int]:
        """(days gone, days in the month), today included."""
        last = month_end(self.month)
        gone = min(max((self.today - self.month).days + 1, 0), last.day) if self.today else last.day
        return gone, last.day

    @property
    def period_words(self) -> str:
        """"month to date, through 2 December (2 of 31 days)", or "" for a complete month."""
        if not self.in_progress:
            return ""
        gone, days = self.days
        return f"month to date, through {self.today.day} {self.today:%B} ({gone} of {days} days)"

    @property
    def compared_words(self) -> str:
        """What each change figure is compared with, in words."""
        previous = f"{self.previous_month:%B %Y}"
        if self.in_progress:
            gone, days = self.days
            return f"on {previous}, pro rata to {gone} of {days} days"
        return f"on {previous}"

    @property
    def as_at(self) -> date:
        """The day the balances stand at: the month's end, or today while the month runs."""
        return self.today if self.in_progress else self.month_end

    @property
    def is_current(self) -> bool:
        """No month after this one can be shown."""
        return self.today is None or self.month >= month_start(self.today)

    @property
    def month_end(self) -> date:
        return month_end(self.month)

    @property
    def previous_month(self) -> date:
        return add_months(self.month, -1)

    @property
    def next_month(self) -> date:
        return add_months(self.month, 1)

    @property
    def kpis(self) -> list[Kpi]:
        mtd, ytd, prior = self.mtd, self.ytd, self.prior_month
        return [
            Kpi("revenue", "Revenue", mtd.revenue, ytd.revenue, prior.revenue, True),
            Kpi("expenses", "Expenses", mtd.expenses, ytd.expenses, prior.expenses, False),
            Kpi("net", "Net income", mtd.net_income, ytd.net_income, prior.net_income, True),
        ]

    def chart_data(self) -> dict:
        """What the trend chart draws; amounts as strings so no float ever touches money here."""
        def text(value):
            return None if value is None else str(round_money(value, self.currency))

        return {
            "currency": self.currency,
            "labels": [f"{p.month:%b %Y}" + (" (to date)" if self.in_progress and p.month == self.month else "")
                       for p in self.trend],
            "revenue": [text(p.revenue) for p in self.trend],
            "expenses": [text(p.expenses) for p in self.trend],
            "net": [text(p.net) for p in self.trend],
        }


@dataclass(frozen=True)
class Months:
    choices: list[date]  # every period up to the current month, newest first
    opens_on: date  # see the module docstring
    has_postings: bool
    posted_far_ahead: bool  # some period dated far ahead holds postings


def dashboard_months(*, tenant, today: date | None = None) -> Months:
    """The months the dashboard offers and opens on, in one query."""
    today = today or timezone.localdate()
    current = month_start(today)
    rows = periods_posted(tenant=tenant)
    far_from = bounds.far_ahead_from(today=today)
    posted_far_ahead = any(has and start >= far_from for start, has in rows)
    # Only months inside the date window: a period stored before the window existed (a typo of
    # 9999-12-31) is neither offered nor the default, so no month arithmetic leaves the calendar.
    window = bounds.date_window()
    rows = [(start, posted) for start, posted in rows
            if start <= current and window.overlaps(start, month_end(start))]
    posted = [start for start, has in rows if has]
    last_complete = add_months(current, -1)
    complete = [m for m in posted if m <= last_complete]
    opens_on = complete[0] if complete else (current if posted else last_complete)
    return Months([start for start, _ in rows], opens_on, bool(posted), posted_far_ahead)


def dashboard_default_month(*, tenant, today: date | None = None) -> date:
    return dashboard_months(tenant=tenant, today=today).opens_on


# One statement, two index-friendly halves over the rollup:
# - P&L accounts per (entity, month) inside the window, through the (tenant, period) index,
#   split by account in the selected month (for the largest expenses and revenue streams);
# - balance-sheet accounts per entity, summed over every month up to the selected one, reached
#   through the (tenant, entity, account, ...) key: these accounts are few, so a ledger with
#   years of expense rows is not scanned for them. Always for every entity (a handful of rows):
#   a filter on one entity would lead PostgreSQL to scan the whole rollup instead.
_BALANCES_SQL = """
SELECT pb.entity_id,
       a.type,
       p.start AS month,
       CASE WHEN p.start = %(month)s THEN a.code END AS code,
       CASE WHEN p.start = %(month)s THEN a.name END AS name,
       SUM(pb.amount)
  FROM ledger_period p
  JOIN ({rollup}) pb ON pb.period_id = p.id
  JOIN ledger_account a ON a.id = pb.account_id AND a.tenant_id = p.tenant_id
 WHERE p.tenant_id = %(tenant)s
   AND p.start BETWEEN %(window_start)s AND %(month)s
   AND a.type IN ('revenue', 'expense')
   {entity_filter}
 GROUP BY 1, 2, 3, 4, 5
UNION ALL
SELECT pb.entity_id, a.type, NULL, NULL, NULL, SUM(pb.amount)
  FROM ledger_entity e
  JOIN ledger_account a ON a.tenant_id = e.tenant_id AND a.type IN ('asset', 'liability', 'equity')
  JOIN ({rollup}) pb ON pb.entity_id = e.id AND pb.account_id = a.id
  JOIN ledger_period p ON p.id = pb.period_id AND p.tenant_id = e.tenant_id
 WHERE e.tenant_id = %(tenant)s
   AND p.start <= %(month)s
 GROUP BY 1, 2
"""


def _balance_rows(*, tenant, month: date, window_start: date, entity_id: int | None) -> list[tuple]:
    params = {"tenant": tenant.pk, "month": month, "window_start": window_start}
    entity_filter = ""
    if entity_id is not None:
        entity_filter = "AND pb.entity_id = %(entity)s"
        params["entity"] = entity_id
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_SQL.format(rollup=ROLLUP_CELLS_SQL.format(filters=""), entity_filter=entity_filter),
                       params)
        return cursor.fetchall()


def _rates(*, window_start: date, month: date) -> dict[str, RateBook]:
    rows = FxRate.objects.filter(date__gte=window_start, date__lte=month_end(month)).values_list(
        "kind", "date", "from_currency", "to_currency", "rate"
    )
    average, closing = [], []
    for kind, d, src, dst, rate in rows:
        (average if kind == FxRateKind.AVERAGE else closing).append((d, src, dst, rate))
    return {FxRateKind.AVERAGE: RateBook(average), FxRateKind.CLOSING: RateBook(closing)}


def _top(amounts: dict[tuple[str, str], Decimal], total: Decimal) -> list[AccountAmount]:
    ranked = sorted(amounts.items(), key=lambda item: (-item[1], item[0][0]))[:TOP_ACCOUNTS]
    return [
        AccountAmount(code, name, amount, (amount / total * 100) if total > 0 else ZERO)
        for (code, name), amount in ranked
        if amount
    ]


def dashboard_get(*, tenant, month: date | None = None, entity_id: int | None = None, span: str = "12m",
                  today: date | None = None) -> Dashboard:
    """The dashboard of `tenant` for `month` (default: see the module docstring; a month after
    the current one is refused), for one entity (`entity_id`, in its functional currency) or
    consolidated (None, in the reporting currency). An unknown entity id gives the consolidated view."""
    today = today or timezone.localdate()
    months = dashboard_months(tenant=tenant, today=today)
    month = month_start(month or months.opens_on)
    if month > month_start(today):
        raise DomainError(future_month_message(month, today=today))
    span = span if span in SPANS else "12m"
    entities = list(Entity.objects.order_by("code"))
    by_id = {e.pk: e for e in entities}
    entity = by_id.get(entity_id)
    currency = str(entity.functional_currency if entity else tenant.reporting_currency)

    fy_start = fiscal_year_start(start_month=tenant.fiscal_year_start_month, d=month)
    last12_start = add_months(month, -11)
    window_start = min(fy_start, last12_start)
    needs_rates = entity is None and any(str(e.functional_currency) != currency for e in entities)
    rates = _rates(window_start=window_start, month=month) if needs_rates else None
    translate = Translator(currency=currency, entities=by_id, rates=rates)

    rows = _balance_rows(tenant=tenant, month=month, window_start=window_start,
                         entity_id=entity.pk if entity else None)
    monthly: dict[date, Results] = defaultdict(Results)
    balances = Balances()
    accounts: dict[str, dict[tuple[str, str], Decimal]] = {AccountType.REVENUE: defaultdict(Decimal),
                                                          AccountType.EXPENSE: defaultdict(Decimal)}
    for entity_pk, account_type, row_month, code, name, total in rows:
        if entity is not None and entity_pk != entity.pk:
            continue  # balance-sheet rows come for every entity
        natural = total * NATURAL_SIGN[account_type]
        if account_type in BALANCE_SHEET_TYPES:
            value = translate(entity_pk, month, natural, kind=FxRateKind.CLOSING)
            if value is not None:
                name_of = {AccountType.ASSET: "assets", AccountType.LIABILITY: "liabilities",
                           AccountType.EQUITY: "equity"}[account_type]
                setattr(balances, name_of, getattr(balances, name_of) + value)
            continue
        value = translate(entity_pk, row_month, natural, kind=FxRateKind.AVERAGE)
        if value is None:
            continue
        results = monthly[row_month]
        if account_type == AccountType.REVENUE:
            results.revenue += value
        else:
            results.expenses += value
        if code is not None:
            accounts[account_type][(code, name)] += value

    mtd = monthly.get(month, Results())
    prior = monthly.get(add_months(month, -1), Results())
    if month == month_start(today):  # month to date: the month before, pro rata to the days gone
        share = Decimal(today.day) / month_end(month).day
        prior = Results(revenue=prior.revenue * share, expenses=prior.expenses * share)
    ytd = Results()
    for m, results in monthly.items():
        if m >= fy_start:
            ytd.revenue += results.revenue
            ytd.expenses += results.expenses
    chart_start = fy_start if span == "fy" else last12_start
    trend = []
    for i in range(12):
        m = add_months(chart_start, i)
        results = monthly.get(m, Results())
        trend.append(TrendPoint(m, results.revenue if m <= month else None, results.expenses if m <= month else None))

    return Dashboard(
        month=month, span=span, currency=currency, entity=entity, entities=entities, months=months.choices,
        fiscal_year=fiscal_year_label(start_month=tenant.fiscal_year_start_month, d=month),
        fiscal_year_start=fy_start, mtd=mtd, prior_month=prior,
        ytd=ytd, balances=balances, trend=trend,
        top_expenses=_top(accounts[AccountType.EXPENSE], mtd.expenses),
        top_revenue=_top(accounts[AccountType.REVENUE], mtd.revenue),
        missing_rates=translate.missing_rates(), has_postings=months.has_postings, today=today,
        # Read only when a period far ahead has postings: no query on a ledger without any.
        far_ahead=months_posted_from(tenant=tenant, first=bounds.far_ahead_from(today=today))
        if months.posted_far_ahead else [],
    )


def future_month_message(month: date, *, today: date) -> str:
    return (f"{month:%B %Y} has not begun: the dashboard shows months up to {today:%B %Y}; "
            "postings dated later are listed on it.")
