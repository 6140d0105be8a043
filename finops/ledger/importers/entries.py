"""Entries of a GL file: the lines that share an `entry_ref`, checked as a whole.

An entry needs at least two lines and must balance: in its transaction currency when all lines
share one (the translation's rounding difference then goes to the largest line, exactly as
`services.translate_lines` does), else in the entity's functional currency after translation.

An entry with a bad row is never written, but its balance is still checked when every amount in
it could be read: the user then learns both problems in one pass, instead of fixing the row,
importing again and only then hearing that the entry does not balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from finops import bounds
from finops.imports import RowError

from ..money import minor_units
from .reference import GlReference

MAX_LINES_PER_ENTRY = 32767  # line_no is a smallint
ONE = Decimal(1)  # the rate of a line in the functional currency (compared by identity)


class PendingEntry:
    """An entry while its rows are read. Lines are tuples
    (account_id, cost_center_id, amount, txn_amount, txn_currency, rate, memo, file line);
    `amount` is still the transaction amount. The lines of an entry with a bad row keep only
    what was readable: ids may be None and `rate` is None."""

    __slots__ = ("ref", "line", "entity", "entity_line", "date", "date_line", "memo", "lines", "bad", "foreign",
                 "unreadable", "number", "staged")

    def __init__(self, ref: str, line: int):
        self.ref, self.line = ref, line
        # The first valid date and entity among its lines, and the line that gave them.
        self.entity: tuple[int, str, str] | None = None  # (id, code, functional currency)
        self.entity_line = 0
        self.date: date | None = None
        self.date_line = 0
        self.memo = ""
        self.lines: list = []
        self.bad = False  # some row is wrong: the entry is not written
        self.foreign = False  # some line is not in the entity's functional currency
        self.unreadable = False  # some row's amount or currency could not be read: no balance check
        # While the file is read, its lines are staged (writing.py): the entry's place among the
        # staged entries (0: none yet), and how many of its lines are staged.
        self.number = 0
        self.staged = 0


@dataclass
class GlEntry:
    """A checked entry, ready to write. Lines are tuples
    (account_id, cost_center_id, amount, txn_amount, txn_currency, rate, memo, file line):
    `amount` in the entity's functional currency, `txn_amount` in `txn_currency`, both Decimal."""

    ref: str
    line: int
    entity_id: int
    entity_code: str
    date: date
    memo: str
    key: str
    lines: list[tuple]
    number: int = 0  # PendingEntry.number
    foreign: bool = False  # some line was translated: its `amount` differs from `txn_amount`


def entry_key(entity_code: str, ref: str) -> str:
    """The idempotency key of an imported entry: the same entry_ref of the same entity is the same entry."""
    return f"import:{entity_code}:{ref}"


def check_entries(entries: dict[str, PendingEntry], ref: GlReference, errors: list[RowError]) -> list[GlEntry]:
    """Per entry: at least two lines, balanced; translate foreign lines into the functional
    currency exactly as `services.translate_lines` does (products computed exactly, rounded once:
    `bounds.EXACT`), and the translated amounts within the limit."""
    with localcontext(bounds.EXACT):
        return _check_entries(entries, ref, errors)


def _check_entries(entries: dict[str, PendingEntry], ref: GlReference, errors: list[RowError]) -> list[GlEntry]:
    checked: list[GlEntry] = []
    quanta: dict[str, Decimal] = {}
    for entry in entries.values():
        if entry.bad or entry.entity is None:
            if not entry.unreadable:
                _check_unwritable(entry, ref, errors)
            continue
        lines = entry.lines
        entity_id, entity_code, functional = entry.entity
        if not _line_count_ok(entry, errors):
            continue
        if not entry.foreign:
            if sum(ln[3] for ln in lines):
                errors.append(RowError(entry.line, _imbalance(entry, [ln[3] for ln in lines], functional)))
                continue
        else:
            q = quanta.get(functional)
            if q is None:
                q = quanta[functional] = Decimal(1).scaleb(-minor_units(functional))
            amounts = [(ln[3] * ln[5]).quantize(q, rounding=ROUND_HALF_UP) if ln[5] is not ONE else ln[3]
                       for ln in lines]
            currencies = {ln[4] for ln in lines}
            if len(currencies) == 1:
                (currency,) = currencies
                if sum(ln[3] for ln in lines):
                    errors.append(RowError(entry.line, _imbalance(entry, [ln[3] for ln in lines], currency)))
                    continue
                difference = sum(amounts)
                if difference:
                    largest = max(range(len(amounts)), key=lambda i: (abs(amounts[i]), -i))
                    amounts[largest] -= difference
            elif sum(amounts):
                errors.append(RowError(entry.line, _imbalance(entry, amounts, functional)))
                continue
            too_large = [RowError(ln[7], f"{ln[3]:,} {ln[4]} is {amount:,} {functional}, which {bounds.TOO_LARGE}.")
                         for ln, amount in zip(lines, amounts, strict=True)
                         if ln[5] is not ONE and abs(amount) >= bounds.AMOUNT_LIMIT]
            if too_large:
                errors.extend(too_large)
                continue
            lines = [(ln[0], ln[1], amount, *ln[3:]) for ln, amount in zip(lines, amounts, strict=True)]
        checked.append(GlEntry(entry.ref, entry.line, entity_id, entity_code, entry.date, entry.memo[:500],
                               entry_key(entity_code, entry.ref), lines, entry.number, entry.foreign))
    return checked


def _line_count_ok(entry: PendingEntry, errors: list[RowError]) -> bool:
    count = len(entry.lines)
    if count < 2:
        errors.append(RowError(entry.line, f"Entry “{entry.ref}” has only one line: an entry needs at "
                                           "least two lines that balance."))
        return False
    if count > MAX_LINES_PER_ENTRY:
        errors.append(RowError(entry.line, f"Entry “{entry.ref}” has {count:,} lines; "
                                           f"at most {MAX_LINES_PER_ENTRY:,} are allowed."))
        return False
    return True


def _check_unwritable(entry: PendingEntry, ref: GlReference, errors: list[RowError]) -> None:
    """The checks of an entry that has a bad row but whose every amount was readable. Lines in
    one currency must balance in it; mixed currencies are compared in the functional currency
    when the entry's entity, date and rates are known, and not judged otherwise."""
    if not _line_count_ok(entry, errors):
        return
    lines = entry.lines
    currencies = {ln[4] for ln in lines}
    if len(currencies) == 1:
        (currency,) = currencies
        amounts = [ln[3] for ln in lines]
    else:
        if entry.entity is None or entry.date is None:
            return
        currency = entry.entity[2]
        q = Decimal(1).scaleb(-minor_units(currency))
        amounts = []
        for ln in lines:
            rate = ONE if ln[4] == currency else ref.rates.rate(src=ln[4], dst=currency, month=entry.date)
            if rate is None:
                return  # reported on its row already
            amounts.append((ln[3] * rate).quantize(q, rounding=ROUND_HALF_UP))
    if sum(amounts):
        errors.append(RowError(entry.line, _imbalance(entry, amounts, currency)))


def _imbalance(entry: PendingEntry, amounts: list[Decimal], currency: str) -> str:
    places = minor_units(currency)
    debits = sum((a for a in amounts if a > 0), Decimal(0))
    credits = -sum((a for a in amounts if a < 0), Decimal(0))
    lines = ", ".join(str(ln[7]) for ln in entry.lines[:10]) + (", …" if len(entry.lines) > 10 else "")
    return (f"Entry “{entry.ref}” (lines {lines}) does not balance: debits {debits:,.{places}f} ≠ credits "
            f"{credits:,.{places}f} (difference {debits - credits:,.{places}f} {currency}).")
