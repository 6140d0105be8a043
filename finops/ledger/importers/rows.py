"""Reading the rows of a GL file: the header, then every row checked in one pass.

The check is pure (no database): codes, dates, currencies and rates are looked up in the
`GlReference` dictionaries and cached per distinct value, so a million rows cost a million
dictionary lookups, not queries. Every problem is collected with the file's line number (the
header being line 1); the rows are grouped into `PendingEntry`s by `entry_ref`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from finops import bounds
from finops.imports import FileProblem, RowError, header_read, parse_amount
from finops.jobs import progress as _progress
from finops.jobs.progress import Progress

from ..money import is_valid_currency, minor_units
from .entries import ONE, PendingEntry
from .reference import GlReference

_UNSEEN = object()

COLUMNS = ("date", "entry_ref", "entity", "account", "cost_center", "amount", "currency", "memo")
REQUIRED = ("date", "entry_ref", "entity", "account")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def header_columns(row: list[str]) -> tuple[dict[str, int], int]:
    """({canonical column: position}, header width) of the header row, or a FileProblem."""
    positions = header_read(row, known=(*COLUMNS, "debit", "credit"))
    width = len(row)
    missing = [c for c in REQUIRED if c not in positions]
    has_amount, has_debit, has_credit = "amount" in positions, "debit" in positions, "credit" in positions
    if has_amount and (has_debit or has_credit):
        raise FileProblem("Use either an amount column or debit and credit columns, not both.", 1)
    if not has_amount:
        if has_debit or has_credit:
            missing += [c for c in ("debit", "credit") if c not in positions]
        else:
            missing.append("amount")
    if missing:
        raise FileProblem(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            "The header must name date, entry_ref, entity, account, cost_center, amount, currency, memo "
            "(or debit and credit instead of amount).", 1)
    return positions, width


def check_rows(rows, columns: dict[str, int], header_width: int, ref: GlReference, errors: list[RowError],
               progress: Progress | None, total: int, sink=None) -> tuple[dict[str, PendingEntry], int]:
    """The hot loop: one pass, dictionary lookups, no database. `sink(entry)`, if given, is
    called after each good line is added to its entry (`entry.lines[-1]`) as long as no row was
    wrong, so the lines can be staged while the file is still being read (writing.py)."""
    width = max(columns.values()) + 1
    i_date, i_ref, i_entity, i_account = (columns[c] for c in REQUIRED)
    i_cc, i_currency, i_memo = (columns.get(c) for c in ("cost_center", "currency", "memo"))
    i_amount, i_debit, i_credit = (columns.get(c) for c in ("amount", "debit", "credit"))
    entities, entities_ci = ref.entities, ref.entities_ci
    accounts, accounts_ci = ref.accounts, ref.accounts_ci
    ccs, ccs_ci = ref.cost_centers, ref.cost_centers_ci
    dates: dict[str, date | str] = {}
    window = bounds.date_window()
    currencies: dict[str, int | None] = {}
    rates: dict[tuple, Decimal | None] = {}
    amounts_cache: dict[tuple[str, int], Decimal | str | None] = {}
    entries: dict[str, PendingEntry] = {}
    add_error = errors.append
    count = 0
    every = countdown = _progress.PROGRESS_EVERY

    for line, row in rows:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        ref_text = row[i_ref].strip()
        if not ref_text and not any(c.strip() for c in row):
            continue  # a blank line, or a spreadsheet's row of empty cells
        count += 1
        countdown -= 1
        if countdown == 0:
            countdown = every
            if progress is not None:
                progress(count, total, "check")
        bad = False
        if len(row) > header_width and any(c.strip() for c in row[header_width:]):
            # The values are shifted: any further message about them would only confuse.
            add_error(RowError(line, f"This line has {len(row)} values but the header has {header_width} columns: "
                                     "quote values that contain commas (e.g. \"1,234.56\")."))
            entry = entries.get(ref_text)
            if entry is None and ref_text:
                entry = entries[ref_text] = PendingEntry(ref_text, line)
            if entry is not None:
                entry.bad = entry.unreadable = True
            continue

        date_text = row[i_date].strip()
        entity_text = row[i_entity].strip()
        account_text = row[i_account].strip()
        memo = row[i_memo].strip() if i_memo is not None else ""

        if not ref_text:
            add_error(RowError(line, "entry_ref is empty."))
            entry = None
            bad = True
        else:
            entry = entries.get(ref_text)
            if entry is None:
                if len(ref_text) > 100:
                    add_error(RowError(line, "entry_ref is longer than 100 characters."))
                    bad = True
                entry = entries[ref_text] = PendingEntry(ref_text, line)
                entry.memo = memo

        # Date.
        parsed_date = dates.get(date_text)
        if parsed_date is None:
            parsed_date = dates[date_text] = _parse_date(date_text, window)
        if parsed_date.__class__ is str:
            add_error(RowError(line, parsed_date))
            bad = True
            parsed_date = None

        # Entity.
        entity = entities.get(entity_text)
        if entity is None:
            hit = entities_ci.get(entity_text.upper())
            entity = hit[1] if hit else None
            entity_code = hit[0] if hit else None
        else:
            entity_code = entity_text
        if entity is None:
            add_error(RowError(line, "entity is empty." if not entity_text else f"Unknown entity “{entity_text}”."))
            bad = True
        elif not entity[2]:
            add_error(RowError(line, f"Entity {entity_code} is inactive."))
            bad = True

        # One date and one entity for all lines of an entry (compared once both are valid).
        if entry is not None:
            if parsed_date is not None:
                if entry.date is None:
                    entry.date, entry.date_line = parsed_date, line
                elif parsed_date != entry.date:
                    add_error(RowError(line, f"Entry “{ref_text}” is dated {entry.date} on line {entry.date_line}: "
                                             "all lines of an entry share one date."))
                    bad = True
            if entity is not None:
                if entry.entity is None:
                    entry.entity, entry.entity_line = (entity[0], entity_code, entity[1]), line
                elif entity[0] != entry.entity[0]:
                    add_error(RowError(line, f"Entry “{ref_text}” is for entity {entry.entity[1]} on line "
                                             f"{entry.entity_line}: all lines of an entry share one entity."))
                    bad = True
                    entry.unreadable = True  # its amount may be in another entity's currency

        # Account and cost center.
        account = accounts.get(account_text)
        if account is None:
            hit = accounts_ci.get(account_text.upper())
            account = hit[1] if hit else None
            if account is None:
                add_error(RowError(line, "account is empty." if not account_text
                                   else f"Unknown account “{account_text}”."))
                bad = True
        if account is not None and not account[1]:
            add_error(RowError(line, f"Account {account_text} is inactive."))
            bad = True
        cc_id = None
        if i_cc is not None:
            cc_text = row[i_cc].strip()
            if cc_text:
                cc = ccs.get(cc_text)
                if cc is None:
                    hit = ccs_ci.get(cc_text.upper())
                    cc = hit[1] if hit else None
                if cc is None:
                    add_error(RowError(line, f"Unknown cost center “{cc_text}”."))
                    bad = True
                elif not cc[1]:
                    add_error(RowError(line, f"Cost center {cc_text} is inactive."))
                    bad = True
                else:
                    cc_id = cc[0]

        # Currency and amount.
        currency = row[i_currency].strip().upper() if i_currency is not None else ""
        if not currency:
            currency = entity[1] if entity is not None else ""
        places = None
        if currency:
            places = currencies.get(currency, -1)
            if places == -1:
                places = currencies[currency] = minor_units(currency) if is_valid_currency(currency) else None
        if currency and places is None:
            add_error(RowError(line, f"Unknown currency “{row[i_currency].strip()}”."))
            bad = True
        amount = _row_amount(row, i_amount, i_debit, i_credit, places, currency, line, add_error, amounts_cache)
        if amount is None:
            bad = True

        if len(memo) > 500:
            add_error(RowError(line, f"memo is {len(memo)} characters long; the limit is 500."))
            bad = True

        if entry is None:
            continue
        if bad:
            entry.bad = True
            # Keep what is readable: the entry's balance is still checked (entries.py).
            if amount is None or places is None or not currency:
                entry.unreadable = True
            else:
                entry.lines.append((None, None, amount, amount, currency, None, memo, line))
            continue
        rate = ONE
        if currency != entity[1]:
            rate_key = (currency, entity[1], parsed_date.year, parsed_date.month)
            rate = rates.get(rate_key, _UNSEEN)
            if rate is _UNSEEN:
                rate = rates[rate_key] = ref.rates.rate(src=currency, dst=entity[1], month=parsed_date)
            if rate is None:
                add_error(RowError(line, f"No {currency}→{entity[1]} average rate for {parsed_date:%Y-%m}: "
                                         "add it under Ledger → FX rates."))
                entry.bad = True
                entry.lines.append((account[0], cc_id, amount, amount, currency, None, memo, line))
                continue
            entry.foreign = True
        entry.lines.append((account[0], cc_id, amount, amount, currency, rate, memo, line))
        if sink is not None and not errors:  # once a row is wrong nothing will be written: stop staging
            sink(entry)

    if progress is not None:
        progress(count, count, "check")
    return entries, count


def _parse_date(text: str, window: bounds.DateWindow) -> date | str:
    if not text:
        return "date is empty."
    if _ISO_DATE.fullmatch(text):
        try:
            value = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return value if value in window else bounds.outside_window(f"“{text}”")
    return f"date “{text}” is not a date in the form YYYY-MM-DD."


def _row_amount(row, i_amount, i_debit, i_credit, places, currency, line, add_error, cache_) -> Decimal | None:
    if places is None:
        places = 4  # unknown currency, reported already: still check the number's form
    if i_amount is not None:
        text = row[i_amount].strip()
        if not text:
            add_error(RowError(line, "amount is empty."))
            return None
        value = _cached_amount(text, places, cache_)
        if value.__class__ is not Decimal:
            add_error(RowError(line, _amount_message("amount", text, value, currency, places)))
            return None
        if not value:
            add_error(RowError(line, "amount is zero: a line needs an amount."))
            return None
        return value
    debit_text, credit_text = row[i_debit].strip(), row[i_credit].strip()
    values = {}
    for name, text in (("debit", debit_text), ("credit", credit_text)):
        if not text:
            values[name] = None
            continue
        value = _cached_amount(text, places, cache_)
        if value.__class__ is not Decimal:
            add_error(RowError(line, _amount_message(name, text, value, currency, places)))
            return None
        if value < 0:
            add_error(RowError(line, f"{name} “{text}” is negative: put credits in the credit column "
                                     "and debits in the debit column, both as positive numbers."))
            return None
        values[name] = value or None
    debit, credit = values["debit"], values["credit"]
    if debit is not None and credit is not None:
        add_error(RowError(line, "A line has either a debit or a credit, not both."))
        return None
    if debit is None and credit is None:
        add_error(RowError(line, "debit and credit are both empty (or zero): a line needs one of them."))
        return None
    return debit if debit is not None else -credit


def _cached_amount(text: str, places: int, cache_: dict) -> Decimal | str | None:
    key = (text, places)
    value = cache_.get(key, False)
    if value is False:
        value = parse_amount(text, places)
        if len(cache_) < 100_000:
            cache_[key] = value
    return value


def _amount_message(name: str, text: str, reason: str | None, currency: str, places: int) -> str:
    if reason is None:
        return (f"{name} “{text}” has more decimals than {currency} allows ({places}).")
    return f"{name} “{text}” {reason}."
