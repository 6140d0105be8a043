"""Synthetic volume for load and benchmarks (apart from the demo organisations).

`scale_lines()` adds N synthetic lines to an organisation (millions are fine: rows stream from
generators into COPY in chunks of whole entries, one transaction per chunk), and
`wide_org_create()` makes an organisation with a wide chart (e.g. 300 accounts × 60 cost
centers) for the benchmark. `gl_csv_rows()` yields the same kind of entries as GL-import CSV rows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from finops.db import analyze_if_stale
from finops.ledger import services as ledger
from finops.ledger import writer
from finops.ledger.models import (
    Account,
    AccountType,
    CostCenter,
    Entity,
    JournalEntry,
    JournalLine,
    Period,
    PeriodBalance,
    Source,
)
from finops.ledger.periods import month_end, month_start, periods_ensure
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Organization

from .orgs import CHUNK_LINES, DEFAULT_MONTHS, DEFAULT_SEED, chart_ensure, window

A, L, E, R, X = AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY, AccountType.REVENUE, AccountType.EXPENSE


@dataclass
class ScaleResult:
    lines: int = 0
    entries: int = 0
    skipped_chunks: int = 0
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def wide_org_create(*, slug: str, name: str = "", accounts: int = 300, cost_centers: int = 60,
                    currency: str = "USD", entity_codes: tuple[str, ...] = ("HQ",)) -> Organization:
    """An organisation with a wide chart for load tests: `accounts` accounts (a tenth balance
    sheet, the rest revenue and expense) and `cost_centers` cost centers under divisions of ten."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = tenancy.organization_create(slug=slug, name=name or slug, currency=currency)
    mix = [(A, 1000, 0.06), (L, 2000, 0.04), (E, 3000, 0.01), (R, 4000, 0.09)]
    chart, start = [], 0
    for kind, base, share in mix:
        n = max(1, round(accounts * share))
        chart += [(str(base + i * 10), f"{kind.label} account {i + 1:03d}", kind, None, False) for i in range(n)]
        start += n
    chart += [(str(5000 + i), f"Expense account {i + 1:03d}", X, None, False) for i in range(max(1, accounts - start))]
    divisions = max(1, -(-cost_centers // 10))  # summary cost centers above the `cost_centers` teams
    centers = [(f"D{d + 1:02d}", f"Division {d + 1}", None, False) for d in range(divisions)]
    centers += [(f"CC{i + 1:03d}", f"Team {i + 1:03d}", f"D{i % divisions + 1:02d}", False) for i in range(cost_centers)]
    chart_ensure(org=org, chart=chart, cost_centers=centers)
    with tenant_context(org):
        have = set(Entity.objects.values_list("code", flat=True))
    for code in entity_codes:
        if code not in have:
            ledger.entity_create(tenant=org, actor=None, code=code, name=f"{org.name} {code}", functional_currency=currency)
    return org


@dataclass
class _Shape:
    """What synthetic lines may use: leaf accounts split by role, leaf cost centers, entities."""

    entities: list[tuple]  # (pk or code, currency)
    pl_accounts: list  # (pk or code, is_revenue)
    bs_accounts: list
    centers: list

    @classmethod
    def load(cls, org: Organization, *, codes: bool = False) -> _Shape:
        with tenant_context(org):
            field_name = "code" if codes else "id"
            parents = set(Account.objects.exclude(parent=None).values_list("parent_id", flat=True))
            leaf = [(getattr(a, field_name), a.type) for a in Account.objects.filter(active=True) if a.pk not in parents]
            cc_parents = set(CostCenter.objects.exclude(parent=None).values_list("parent_id", flat=True))
            centers = [getattr(c, field_name) for c in CostCenter.objects.filter(active=True) if c.pk not in cc_parents]
            entities = [(getattr(e, field_name), e.functional_currency) for e in Entity.objects.filter(active=True)]
        pl = [(key, kind == R) for key, kind in leaf if kind in (R, X)]
        bs = [key for key, kind in leaf if kind in (A, L)]
        if not (entities and pl and bs):
            raise ValueError(f"{org.slug} needs an entity, a revenue or expense account and a balance-sheet account.")
        return cls(entities, pl, bs, centers or [None])


def _synthetic_entries(rng: random.Random, shape: _Shape, months: list[date], today: date,
                       lines: int) -> Iterator[tuple[int, date, list[tuple]]]:
    """Yield (entity index, date, [(account, cost center, minor units)]) summing to `lines` lines.
    Amounts are integers in minor units; the last line of each entry balances it."""
    remaining = lines
    n_entities, n_months = len(shape.entities), len(months)
    pl, bs, centers = shape.pl_accounts, shape.bs_accounts, shape.centers
    randrange, choice = rng.randrange, rng.choice
    while remaining > 0:
        n = min(randrange(2, 7), remaining)
        if remaining - n == 1:
            n += 1
        remaining -= n
        month = months[randrange(n_months)]
        last_day = today.day if month == month_start(today) else month_end(month).day
        d = month.replace(day=randrange(1, last_day + 1))
        body, total = [], 0
        for _ in range(n - 1):
            account, is_revenue = pl[randrange(len(pl))]
            cents = randrange(1_000, 2_500_000)
            cents = -cents if is_revenue else cents
            total += cents
            body.append((account, choice(centers), cents))
        if total == 0:  # cannot happen with one line's magnitude ≥ 1,000, but never write a zero line
            body[0] = (body[0][0], body[0][1], body[0][2] + 1)
            total += 1
        body.append((choice(bs), None, -total))
        yield randrange(n_entities), d, body


def scale_lines(*, org: Organization, lines: int, seed: int = DEFAULT_SEED, months: int = DEFAULT_MONTHS,
                today: date | None = None, chunk_lines: int = CHUNK_LINES,
                progress: Callable[[ScaleResult], None] | None = None) -> ScaleResult:
    """Add `lines` synthetic lines to `org`, spread over the months, accounts and cost centers.

    Each chunk of about `chunk_lines` lines (whole entries) is its own transaction: one COPY of
    entries, one of lines. Keys `demo:scale:<seed>:<lines>:<chunk>:<n>` make the same command,
    run again, skip the chunks it wrote already (and resume after an interruption)."""
    if lines < 2:
        raise ValueError("An entry needs at least two lines: ask for 2 or more.")
    today = today or timezone.localdate()
    span = window(today=today, months=months)
    shape = _Shape.load(org)
    periods = periods_ensure(tenant=org, dates=span)
    result = ScaleResult()
    started = time.perf_counter()
    chunks = [min(chunk_lines, lines - i) for i in range(0, lines, chunk_lines)]
    if len(chunks) > 1 and chunks[-1] < 2:
        chunks[-2] += chunks.pop()
    for number, size in enumerate(chunks):
        prefix = f"demo:scale:{seed}:{lines}:{number}:"
        with tenant_context(org):
            if JournalEntry.objects.filter(idempotency_key=f"{prefix}0").exists():
                result.skipped_chunks += 1
                continue
        rng = random.Random(f"{seed}:{org.slug}:scale:{lines}:{number}")
        skeleton = list(_synthetic_entries(rng, shape, span, today, size))
        with tenant_context(org):
            ids = writer.reserve_entry_ids(len(skeleton))
            posted_at = timezone.now()
            writer.copy_entries(
                (entry_id, org.pk, shape.entities[e][0], periods[month_start(d)].pk, d, "Synthetic activity", "",
                 Source.SYSTEM, f"{prefix}{i}", None, None, None, posted_at)
                for i, (entry_id, (e, d, _)) in enumerate(zip(ids, skeleton, strict=True))
            )
            written = writer.copy_lines(_scale_line_rows(org.pk, ids, skeleton, shape, periods))
        result.entries += len(skeleton)
        result.lines += written
        result.seconds = time.perf_counter() - started
        if progress:
            progress(result)
    analyze_if_stale(JournalEntry, JournalLine, PeriodBalance, Period, rows=result.lines)
    result.seconds = time.perf_counter() - started
    return result


def _scale_line_rows(tenant_id: int, ids: list[int], skeleton, shape: _Shape, periods) -> Iterator[tuple]:
    one = Decimal(1)
    entities = shape.entities
    period_of = {}
    for entry_id, (e, d, body) in zip(ids, skeleton, strict=True):
        entity_id, currency = entities[e]
        month = d.replace(day=1)
        period_id = period_of.get(month) or period_of.setdefault(month, periods[month].pk)
        for n, (account, center, cents) in enumerate(body, start=1):
            amount = Decimal(cents).scaleb(-2)
            yield (tenant_id, entry_id, n, entity_id, period_id, d, account, center, amount, amount, currency, one, "")


def gl_csv_rows(*, org: Organization, lines: int, seed: int = DEFAULT_SEED, months: int = DEFAULT_MONTHS,
                today: date | None = None) -> Iterator[list[str]]:
    """The same synthetic activity as GL-import CSV rows (header first):
    date, entry_ref, entity, account, cost_center, amount, currency, memo."""
    today = today or timezone.localdate()
    shape = _Shape.load(org, codes=True)
    rng = random.Random(f"{seed}:{org.slug}:gl:{lines}")
    yield ["date", "entry_ref", "entity", "account", "cost_center", "amount", "currency", "memo"]
    for n, (e, d, body) in enumerate(_synthetic_entries(rng, shape, window(today=today, months=months), today, lines)):
        entity, _ = shape.entities[e]
        ref, day = f"GL-{n:08d}", d.isoformat()
        for account, center, cents in body:
            sign = "-" if cents < 0 else ""
            cents = abs(cents)
            yield [day, ref, entity, account, center or "", f"{sign}{cents // 100}.{cents % 100:02d}", "", "Synthetic activity"]


def database_size() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]
