"""Every write to the ledger: posting, reversing, master data and rates.

`journal_post` is the one way an entry enters the ledger, whatever its source (manual form,
import, recognition run, allocation): it checks what a person can fix (accounts, open period,
balance, rates) and says so in words, and PostgreSQL re-checks the invariants underneath.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from . import writer
from .fx import RATE_PLACES, RateBook
from .models import (
    NORMAL_BALANCE_OF,
    Account,
    CostCenter,
    Entity,
    FxRate,
    FxRateKind,
    JournalEntry,
    Source,
)
from .money import active_currency_problem, is_valid_currency, minor_units, round_money, translate
from .periods import period_ensure, periods_lock_open
from .signals import actuals_changed_on_commit


@dataclass(frozen=True)
class LineSpec:
    """One line as its source states it: `amount` signed (debit positive) in `currency`
    (None: the entity's functional currency)."""

    account_id: int
    amount: Decimal
    cost_center_id: int | None = None
    currency: str | None = None
    memo: str = ""


@dataclass
class Translated:
    amount: Decimal  # functional currency
    txn_amount: Decimal
    txn_currency: str
    rate: Decimal


@dataclass
class PostResult:
    entry: JournalEntry
    created: bool
    lines: list[Translated] = field(default_factory=list)


def translate_lines(*, entity: Entity, month: date, lines: Sequence[LineSpec], rates: RateBook) -> list[Translated]:
    """Translate each line into the functional currency, rounded once to its minor unit.

    When all lines share one transaction currency they must balance in it, and the rounding
    difference of the translation goes to the largest line, so the entry balances exactly.
    Mixed-currency entries must balance in the functional currency after translation.
    """
    functional = entity.functional_currency
    out: list[Translated] = []
    for spec in lines:
        currency = (spec.currency or functional).upper()
        txn_amount = round_money(spec.amount, currency)  # already in minor units: `_check_amounts`
        rate = rates.rate(src=currency, dst=functional, month=month)
        if rate is None:
            raise DomainError(
                f"No {currency}→{functional} average rate for {month:%Y-%m}: add it under Ledger → FX rates."
            )
        out.append(Translated(translate(txn_amount, rate, functional), txn_amount, currency, rate))
    currencies = {t.txn_currency for t in out}
    if len(currencies) == 1:
        (currency,) = currencies
        txn_total = sum((t.txn_amount for t in out), Decimal(0))
        if txn_total != 0:
            raise DomainError(_imbalance_message(out, currency, key="txn_amount"))
        difference = sum((t.amount for t in out), Decimal(0))
        if difference:
            largest = max(range(len(out)), key=lambda i: (abs(out[i].amount), -i))
            out[largest].amount -= difference
    elif sum((t.amount for t in out), Decimal(0)) != 0:
        raise DomainError(_imbalance_message(out, functional, key="amount"))
    return out


def _imbalance_message(lines: list[Translated], currency: str, *, key: str) -> str:
    debits = sum((getattr(t, key) for t in lines if getattr(t, key) > 0), Decimal(0))
    credits = -sum((getattr(t, key) for t in lines if getattr(t, key) < 0), Decimal(0))
    return (
        f"The entry does not balance: debits {debits:,.2f} ≠ credits {credits:,.2f} "
        f"(difference {debits - credits:,.2f} {currency})."
    )


def _shown(amount: Decimal) -> str:
    """An amount for a message, as given (a number past any limit stays short)."""
    return f"{amount:,}" if amount.is_finite() and amount.copy_abs() < 10**30 else f"{amount:.6E}"


def _check_amounts(lines: Sequence[LineSpec], functional: str) -> None:
    """Each line's amount fits (`finops.bounds`): finite, within the limit, in its currency's
    minor units — refused, never rounded."""
    for n, spec in enumerate(lines, start=1):
        currency = (spec.currency or functional).upper()
        if not isinstance(spec.amount, Decimal):
            raise DomainError(f"Line {n}: pass the amount as a Decimal, not {type(spec.amount).__name__}.")
        if not is_valid_currency(currency):
            raise DomainError(f"Line {n}: unknown currency {currency!r}.")
        if problem := bounds.amount_problem(spec.amount, places=minor_units(currency), currency=currency):
            raise DomainError(f"Line {n}: the amount {_shown(spec.amount)} {currency} {problem}.")


def _check_translated(lines: Sequence[LineSpec], translated: list[Translated], functional: str) -> None:
    for n, t in enumerate(translated, start=1):
        if t.txn_currency != functional and abs(t.amount) >= bounds.AMOUNT_LIMIT:
            raise DomainError(f"Line {n}: {_shown(t.txn_amount)} {t.txn_currency} is {_shown(t.amount)} {functional}, "
                              f"which {bounds.TOO_LARGE}.")


def _check_texts(*, memo: str, reference: str, lines: Sequence[LineSpec]) -> None:
    """Texts longer than their columns are refused, never cut."""
    for what, text, limit in (("memo", memo, 500), ("reference", reference, 100),
                              *((f"memo of line {n}", spec.memo, 500) for n, spec in enumerate(lines, start=1))):
        if len(text) > limit:
            raise DomainError(f"The {what} has {len(text)} characters; at most {limit} are allowed.")


def _check_references(lines: Sequence[LineSpec]) -> None:
    account_ids = {spec.account_id for spec in lines}
    found = dict(Account.objects.filter(id__in=account_ids).values_list("id", "active"))
    if missing := account_ids - found.keys():
        raise DomainError(f"Unknown account id(s): {sorted(missing)}.")
    if inactive := [i for i, active in found.items() if not active]:
        names = ", ".join(str(a) for a in Account.objects.filter(id__in=inactive))
        raise DomainError(f"Account {names} is inactive.")
    cc_ids = {spec.cost_center_id for spec in lines if spec.cost_center_id}
    if cc_ids:
        found_cc = set(CostCenter.objects.filter(id__in=cc_ids).values_list("id", flat=True))
        if missing := cc_ids - found_cc:
            raise DomainError(f"Unknown cost center id(s): {sorted(missing)}.")


@requires(Action.WRITE)
def journal_post(
    *,
    tenant,
    actor,
    entity: Entity,
    date: date,
    lines: Sequence[LineSpec],
    memo: str = "",
    reference: str = "",
    source: str = Source.MANUAL,
    idempotency_key: str | None = None,
    reverses: JournalEntry | None = None,
    rates: RateBook | None = None,
) -> PostResult:
    """Post one balanced entry. Posting again with the same idempotency key returns the entry
    already posted and changes nothing. A new entry sends `actuals_changed` once it commits.

    The date must lie in the date window and every amount within the limits, in its currency's
    minor units (`finops.bounds`). A reversal mirrors lines already stored, so its amounts are
    not held to the limit: a line stored before the limit existed can still be reversed."""
    with tenant_context(tenant):
        if idempotency_key:
            existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return PostResult(existing, created=False)
        bounds.date_require(date)
        if len(lines) < 2:
            raise DomainError("An entry needs at least two lines.")
        if len(lines) > bounds.MAX_LINES_PER_ENTRY:
            raise DomainError(f"An entry has at most {bounds.MAX_LINES_PER_ENTRY:,} lines; this one has {len(lines):,}.")
        if entity.tenant_id != tenant.pk:
            raise DomainError("Unknown entity.")
        _check_texts(memo=memo, reference=reference, lines=lines)
        if source != Source.REVERSAL:
            _check_amounts(lines, entity.functional_currency)
        _check_references(lines)
        if any(spec.amount == 0 for spec in lines):
            raise DomainError("Lines with a zero amount are not allowed.")
        period = period_ensure(tenant=tenant, d=date)
        periods_lock_open(tenant=tenant, periods=[period])
        translated = translate_lines(
            entity=entity, month=date, lines=lines, rates=rates or RateBook.load(tenant=tenant)
        )
        if source != Source.REVERSAL:
            _check_translated(lines, translated, entity.functional_currency)
        key = idempotency_key or f"{source}:{uuid.uuid4()}"
        try:
            with transaction.atomic():
                (entry_id,) = writer.reserve_entry_ids(1)
                writer.copy_entries([(
                    entry_id, tenant.pk, entity.pk, period.pk, date, memo, reference, source, key,
                    reverses.pk if reverses else None, None, actor.pk if getattr(actor, "pk", None) else None,
                    timezone.now(),
                )])
                writer.copy_lines(
                    (tenant.pk, entry_id, n, entity.pk, period.pk, date, spec.account_id, spec.cost_center_id,
                     t.amount, t.txn_amount, t.txn_currency, t.rate, spec.memo)
                    for n, (spec, t) in enumerate(zip(lines, translated, strict=True), start=1)
                )
        except IntegrityError:
            existing = JournalEntry.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
            return PostResult(existing, created=False)
        entry = JournalEntry.objects.get(pk=entry_id)
        if source in (Source.MANUAL, Source.REVERSAL):
            audit_record(
                tenant=tenant, actor=actor, action=AuditAction.JOURNAL_REVERSE if reverses else AuditAction.JOURNAL_POST, obj=entry,
                after={"date": str(date), "entity": entity.code, "memo": memo,
                       "lines": [[spec.account_id, spec.cost_center_id, str(t.amount)] for spec, t in zip(lines, translated, strict=True)]},
            )
        actuals_changed_on_commit(tenant.pk)  # journal_reverse posts through here: reversals too
        return PostResult(entry, created=True, lines=translated)


@requires(Action.WRITE)
def journal_reverse(*, tenant, actor, entry: JournalEntry, date: date | None = None, memo: str = "") -> PostResult:
    """Post the mirror image of `entry` (same accounts, opposite amounts). An entry is
    reversed at most once; reversing twice returns the first reversal."""
    with tenant_context(tenant):
        entry = JournalEntry.objects.select_related("entity").get(pk=entry.pk)
        already = JournalEntry.objects.filter(reverses=entry).first()
        if already:
            raise DomainError(f"{entry} was already reversed by JE-{already.pk}.")
        specs = [
            LineSpec(account_id=line.account_id, cost_center_id=line.cost_center_id,
                     amount=-line.txn_amount, currency=line.txn_currency, memo=line.memo)
            for line in entry.lines.order_by("line_no")
        ]
        reversal_date = date or entry.date
        if date is None and (problem := bounds.date_problem(entry.date)):
            # An entry stored before the window existed: it can still be reversed, on a date inside it.
            raise DomainError(f"{problem[:-1]}: choose a reversal date inside it.")
        result = journal_post(
            tenant=tenant, actor=actor, entity=entry.entity, date=reversal_date, lines=specs,
            memo=memo or f"Reversal of JE-{entry.pk}: {entry.memo}"[:500], reference=entry.reference,
            source=Source.REVERSAL, idempotency_key=f"reversal-of:{entry.pk}", reverses=entry,
            rates=_RatesOf(entry),
        )
        return result


class _RatesOf(RateBook):
    """A reversal uses the rates of the entry it reverses, so it cancels it to the cent."""

    def __init__(self, entry: JournalEntry):
        self._by_currency = {line.txn_currency: line.rate for line in entry.lines.all()}

    def rate(self, *, src: str, dst: str, month: date) -> Decimal | None:
        return Decimal(1) if src == dst else self._by_currency.get(src)


# --- master data ----------------------------------------------------------------------------

@requires(Action.WRITE)
def entity_create(*, tenant, actor, code: str, name: str, functional_currency: str) -> Entity:
    functional_currency = functional_currency.upper()
    if not is_valid_currency(functional_currency):
        raise DomainError(f"Unknown currency {functional_currency!r}.")
    if problem := active_currency_problem(functional_currency):  # a new entity books in a living currency
        raise DomainError(problem)
    with tenant_context(tenant):
        if Entity.objects.filter(code=code).exists():
            raise DomainError(f"An entity with code {code} exists already.")
        entity = Entity.objects.create(tenant=tenant, code=code, name=name, functional_currency=functional_currency)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.ENTITY_CREATE, obj=entity,
                     after={"code": code, "name": name, "functional_currency": functional_currency})
        return entity


@requires(Action.WRITE)
def account_save(*, tenant, actor, code: str, name: str, type: str, parent: Account | None = None,
                 is_intercompany: bool = False, active: bool = True, account: Account | None = None) -> Account:
    """Create an account, or update `account` (its type cannot change once it has postings)."""
    with tenant_context(tenant):
        before = None
        if account is None:
            if Account.objects.filter(code=code).exists():
                raise DomainError(f"An account with code {code} exists already.")
            account = Account(tenant=tenant)
        else:
            account = Account.objects.select_for_update().get(pk=account.pk)
            before = _account_state(account)
            if account.type != type and account_has_postings(account):
                raise DomainError(f"Account {account.code} has postings: its type cannot change.")
        if parent is not None and account.pk and _is_descendant(parent, account):
            raise DomainError("An account cannot be its own ancestor.")
        account.code, account.name, account.type = code, name, type
        account.normal_balance = NORMAL_BALANCE_OF[type]
        account.parent, account.is_intercompany, account.active = parent, is_intercompany, active
        account.save()
        audit_record(tenant=tenant, actor=actor, action=AuditAction.ACCOUNT_UPDATE if before else AuditAction.ACCOUNT_CREATE,
                     obj=account, before=before, after=_account_state(account))
        return account


def _account_state(account: Account) -> dict:
    return {"code": account.code, "name": account.name, "type": account.type,
            "parent": account.parent.code if account.parent_id else None,
            "active": account.active, "is_intercompany": account.is_intercompany}


def account_has_postings(account: Account) -> bool:
    from .models import PeriodBalance

    return PeriodBalance.objects.filter(account=account).exists()


def _is_descendant(node, ancestor) -> bool:
    seen = set()
    while node is not None and node.pk not in seen:
        if node.pk == ancestor.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


@requires(Action.WRITE)
def cost_center_save(*, tenant, actor, code: str, name: str, parent: CostCenter | None = None,
                     owner=None, active: bool = True, cost_center: CostCenter | None = None) -> CostCenter:
    with tenant_context(tenant):
        before = None
        if cost_center is None:
            if CostCenter.objects.filter(code=code).exists():
                raise DomainError(f"A cost center with code {code} exists already.")
            cost_center = CostCenter(tenant=tenant)
        else:
            cost_center = CostCenter.objects.select_for_update().get(pk=cost_center.pk)
            before = _cost_center_state(cost_center)
        if parent is not None and cost_center.pk and _is_descendant(parent, cost_center):
            raise DomainError("A cost center cannot be its own ancestor.")
        cost_center.code, cost_center.name, cost_center.parent = code, name, parent
        cost_center.owner, cost_center.active = owner, active
        cost_center.save()
        audit_record(tenant=tenant, actor=actor, action=AuditAction.COSTCENTER_UPDATE if before else AuditAction.COSTCENTER_CREATE,
                     obj=cost_center, before=before, after=_cost_center_state(cost_center))
        return cost_center


def _cost_center_state(cc: CostCenter) -> dict:
    return {"code": cc.code, "name": cc.name, "parent": cc.parent.code if cc.parent_id else None,
            "owner": cc.owner.email if cc.owner_id else None, "active": cc.active}


@requires(Action.WRITE)
def fx_rate_set(*, tenant, actor, date: date, from_currency: str, to_currency: str, rate: Decimal,
                kind: str = FxRateKind.AVERAGE) -> FxRate:
    """Record a rate (average rates are dated on the 1st of their month, closing on the last,
    budget rates on the first day of their fiscal year)."""
    from .periods import fiscal_year_start, month_end, month_start

    if kind not in FxRateKind.values:
        raise DomainError(f"Unknown kind of rate {kind!r}; choose among {', '.join(FxRateKind.values)}.")
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    for code in (from_currency, to_currency):
        if not is_valid_currency(code):
            raise DomainError(f"Unknown currency {code!r}.")
    if from_currency == to_currency:
        raise DomainError("A rate needs two different currencies.")
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise DomainError("A rate must be a positive number.")
    if rate >= 10**14:
        raise DomainError(f"The rate {rate} is too large (at most 14 digits before the decimal point).")
    if rate != rate.quantize(RATE_PLACES):  # numeric(24, 10) would round it
        raise DomainError(f"The rate {rate} has more than 10 decimals.")
    bounds.date_require(date)
    date = {FxRateKind.AVERAGE: month_start, FxRateKind.CLOSING: month_end,
            FxRateKind.BUDGET: lambda d: fiscal_year_start(start_month=tenant.fiscal_year_start_month, d=d)}[kind](date)
    with tenant_context(tenant):
        existing = FxRate.objects.filter(date=date, from_currency=from_currency, to_currency=to_currency, kind=kind).first()
        before = {"rate": str(existing.rate)} if existing else None
        fx, _ = FxRate.objects.update_or_create(
            tenant=tenant, date=date, from_currency=from_currency, to_currency=to_currency, kind=kind,
            defaults={"rate": rate},
        )
        audit_record(tenant=tenant, actor=actor, action=AuditAction.FXRATE_SET, obj=fx, before=before, after={"rate": str(rate)})
        return fx
