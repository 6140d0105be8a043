"""Importing GL actuals (journal lines) from a CSV or XLSX file.

One pipeline (DESIGN §4 "Imports"): read the file → check every row against the tenant's
reference data, loaded once into dictionaries (`gl_parse` is pure: no database) → if any row is
wrong, nothing is written and every bad row is reported with its line number (the file's line,
the header being line 1) → otherwise one transaction writes all entries with COPY.

The file: columns `date, entry_ref, entity, account, cost_center, amount, currency, memo`
(header names in any case and spacing), or `debit` and `credit` instead of `amount`. Amounts are
signed, debit positive. Lines sharing an `entry_ref` form one entry, which must balance, carry
one date and one entity. Codes name the entity, account and cost center; an empty currency is
the entity's functional currency, any other is translated at the month's average rate with the
same rounding as `services.translate_lines` (once per line to the minor unit, remainder on the
largest line).

Twice the same: a file whose SHA-256 matches a succeeded import of the tenant changes nothing;
an entry whose idempotency key `import:<entity code>:<entry_ref>` exists already is skipped and
counted, so overlapping files never post twice.

Speed: the check runs once per row with dictionary lookups (codes, dates, rates are cached) and
no ORM; rows are written with one COPY per table (`writer.py`), so the balance trigger sees
whole entries. Progress goes to the cache (Redis), not to the database: the import's own
transaction is invisible to the page that polls it until it commits.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.imports import (
    FileProblem,
    RowError,
    csv_rows,
    is_xlsx,
    parse_amount,
    xlsx_rows,
)
from finops.tenancy.context import tenant_context

from . import writer
from .fx import RateBook
from .models import Account, CostCenter, Entity, ImportJob, ImportKind, ImportStatus, Source
from .money import is_valid_currency, minor_units

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, phase)
PROGRESS_EVERY = 5000
MAX_LINES_PER_ENTRY = 32767  # line_no is a smallint
ONE = Decimal(1)
_UNSEEN = object()
IMPORT_LOCK_CLASS = 0x676C_696D  # pg_advisory_xact_lock(class, tenant): "glim"

COLUMNS = ("date", "entry_ref", "entity", "account", "cost_center", "amount", "currency", "memo")
REQUIRED = ("date", "entry_ref", "entity", "account")
_KNOWN = {c.replace("_", ""): c for c in (*COLUMNS, "debit", "credit")}
_HEADER_JUNK = re.compile(r"[\s_\-]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- results ----------------------------------------------------------------------------------

@dataclass
class GlImportResult:
    created: int = 0
    skipped: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicate_of: ImportJob | None = None
    job: ImportJob | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.duplicate_of is None

    def summary(self) -> str:
        if self.duplicate_of is not None:
            return duplicate_message(self.duplicate_of)
        if self.errors:
            n = len(self.errors)
            return f"{n:,} problem{'s' if n != 1 else ''} found: nothing was imported."
        return (f"{self.rows:,} row{'s' if self.rows != 1 else ''}: {self.created:,} "
                f"entr{'y' if self.created == 1 else 'ies'} created, {self.skipped:,} already imported (skipped).")


def duplicate_message(previous: ImportJob) -> str:
    when = timezone.localtime(previous.finished_at or previous.created_at)
    return (f"This file was already imported on {when:%Y-%m-%d %H:%M} (import #{previous.pk}, "
            f"{previous.filename}): nothing changed.")


# --- reference data, loaded once per import ------------------------------------------------------

@dataclass
class GlReference:
    """What a row may name, as plain dictionaries: code → (id, …, active)."""

    entities: dict[str, tuple[int, str, bool]]  # code → (id, functional currency, active)
    accounts: dict[str, tuple[int, bool]]
    cost_centers: dict[str, tuple[int, bool]]
    rates: RateBook

    def __post_init__(self):
        # Codes match exactly, else case-insensitively when that is unambiguous.
        self.entities_ci = _case_insensitive(self.entities)
        self.accounts_ci = _case_insensitive(self.accounts)
        self.cost_centers_ci = _case_insensitive(self.cost_centers)


def _case_insensitive(by_code: dict) -> dict:
    folded: dict[str, list] = {}
    for code, value in by_code.items():
        folded.setdefault(code.upper(), []).append((code, value))
    return {key: pairs[0] for key, pairs in folded.items() if len(pairs) == 1}


def gl_reference_load(*, tenant) -> GlReference:
    with tenant_context(tenant):
        return GlReference(
            entities={code: (pk, str(cur), active) for pk, code, cur, active in
                      Entity.objects.values_list("id", "code", "functional_currency", "active")},
            accounts={code: (pk, active) for pk, code, active in Account.objects.values_list("id", "code", "active")},
            cost_centers={code: (pk, active) for pk, code, active in
                          CostCenter.objects.values_list("id", "code", "active")},
            rates=RateBook.load(tenant=tenant),
        )


# --- reading the file -----------------------------------------------------------------------------

def _header(row: list[str]) -> tuple[dict[str, int], int]:
    positions: dict[str, int] = {}
    for index, name in enumerate(row):
        key = _HEADER_JUNK.sub("", str(name).strip().lower())
        if not key:
            continue
        canonical = _KNOWN.get(key)
        if canonical is None:
            continue  # unknown columns are ignored
        if canonical in positions:
            raise FileProblem(f"The column “{canonical}” appears twice in the header.", 1)
        positions[canonical] = index
    width = len(row)
    if len(row) == 1 and any(sep in str(row[0]) for sep in ";\t|"):
        raise FileProblem("The header is a single column: the file seems to be separated by semicolons, tabs or "
                          "bars. Save it as CSV with commas (“CSV UTF-8” in Excel) and import it again.", 1)
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


# --- checking rows (pure) -----------------------------------------------------------------------

class _Entry:
    __slots__ = ("ref", "line", "entity", "entity_line", "date", "date_line", "memo", "lines", "bad", "foreign")

    def __init__(self, ref: str, line: int):
        self.ref, self.line = ref, line
        # The first valid date and entity among its lines, and the line that gave them.
        self.entity: tuple[int, str, str] | None = None  # (id, code, functional currency)
        self.entity_line = 0
        self.date: date | None = None
        self.date_line = 0
        self.memo = ""
        self.lines: list = []  # LineTuple, `amount` still the transaction amount
        self.bad = False
        self.foreign = False  # some line is not in the entity's functional currency


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


@dataclass
class GlParsed:
    entries: list[GlEntry]
    errors: list[RowError]
    rows: int


def gl_parse(data: bytes, filename: str, ref: GlReference, progress: Progress | None = None) -> GlParsed:
    """Check every row of the file; return the entries, or every problem with its line."""
    errors: list[RowError] = []
    try:
        rows, total = xlsx_rows(data) if is_xlsx(data, filename) else csv_rows(data)
        first = next(rows, None)
        if first is None:
            raise FileProblem("The file is empty.")
        if first[0] != 1 or not any(str(c).strip() for c in first[1]):
            raise FileProblem("The first line must be the header: date, entry_ref, entity, account, "
                              "cost_center, amount, currency, memo.", 1)
        columns, header_width = _header(first[1])
        with _no_cyclic_gc():
            entries, count = _check_rows(rows, columns, header_width, ref, errors, progress, max(total - 1, 1))
    except FileProblem as problem:
        return GlParsed([], [*errors, problem.error], 0)
    if count == 0 and not errors:
        return GlParsed([], [RowError(None, "The file has a header but no rows.")], 0)
    with _no_cyclic_gc():
        checked = _check_entries(entries, ref, errors)
    errors.sort(key=lambda e: e.line or 0)
    return GlParsed(checked, errors, count)


@contextmanager
def _no_cyclic_gc():
    """Millions of small tuples would trigger the cyclic collector again and again (a third of
    the checking time at 1M rows); they form no cycles, so it is paused while they are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_rows(rows, columns: dict[str, int], header_width: int, ref: GlReference, errors: list[RowError],
                progress: Progress | None, total: int) -> tuple[dict[str, _Entry], int]:
    """The hot loop: one pass, dictionary lookups, no database."""
    width = max(columns.values()) + 1
    i_date, i_ref, i_entity, i_account = (columns[c] for c in REQUIRED)
    i_cc, i_currency, i_memo = (columns.get(c) for c in ("cost_center", "currency", "memo"))
    i_amount, i_debit, i_credit = (columns.get(c) for c in ("amount", "debit", "credit"))
    entities, entities_ci = ref.entities, ref.entities_ci
    accounts, accounts_ci = ref.accounts, ref.accounts_ci
    ccs, ccs_ci = ref.cost_centers, ref.cost_centers_ci
    dates: dict[str, date | str] = {}
    currencies: dict[str, int | None] = {}
    rates: dict[tuple, Decimal | None] = {}
    amounts_cache: dict[tuple[str, int], Decimal | str | None] = {}
    entries: dict[str, _Entry] = {}
    add_error = errors.append
    count = 0
    countdown = PROGRESS_EVERY

    for line, row in rows:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        ref_text = row[i_ref].strip()
        if not ref_text and not any(c.strip() for c in row):
            continue  # a blank line, or a spreadsheet's row of empty cells
        count += 1
        countdown -= 1
        if countdown == 0:
            countdown = PROGRESS_EVERY
            if progress is not None:
                progress(count, total, "check")
        bad = False
        if len(row) > header_width and any(c.strip() for c in row[header_width:]):
            # The values are shifted: any further message about them would only confuse.
            add_error(RowError(line, f"This line has {len(row)} values but the header has {header_width} columns: "
                                     "quote values that contain commas (e.g. \"1,234.56\")."))
            entry = entries.get(ref_text)
            if entry is None and ref_text:
                entry = entries[ref_text] = _Entry(ref_text, line)
            if entry is not None:
                entry.bad = True
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
                entry = entries[ref_text] = _Entry(ref_text, line)
                entry.memo = memo

        # Date.
        parsed_date = dates.get(date_text)
        if parsed_date is None:
            parsed_date = dates[date_text] = _parse_date(date_text)
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
                continue
            entry.foreign = True
        entry.lines.append((account[0], cc_id, amount, amount, currency, rate, memo, line))

    if progress is not None:
        progress(count, count, "check")
    return entries, count


def _parse_date(text: str) -> date | str:
    if not text:
        return "date is empty."
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
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


def _check_entries(entries: dict[str, _Entry], ref: GlReference, errors: list[RowError]) -> list[GlEntry]:
    """Per entry: at least two lines, balanced; translate foreign lines into the functional
    currency exactly as `services.translate_lines` does."""
    checked: list[GlEntry] = []
    quanta: dict[str, Decimal] = {}
    for entry in entries.values():
        if entry.bad or entry.entity is None:
            continue
        lines = entry.lines
        entity_id, entity_code, functional = entry.entity
        if len(lines) < 2:
            errors.append(RowError(entry.line, f"Entry “{entry.ref}” has only one line: an entry needs at "
                                               "least two lines that balance."))
            continue
        if len(lines) > MAX_LINES_PER_ENTRY:
            errors.append(RowError(entry.line, f"Entry “{entry.ref}” has {len(lines):,} lines; "
                                               f"at most {MAX_LINES_PER_ENTRY:,} are allowed."))
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
            lines = [(ln[0], ln[1], amount, *ln[3:]) for ln, amount in zip(lines, amounts, strict=True)]
        checked.append(GlEntry(entry.ref, entry.line, entity_id, entity_code, entry.date, entry.memo[:500],
                               f"import:{entity_code}:{entry.ref}", lines))
    return checked


def _imbalance(entry: _Entry, amounts: list[Decimal], currency: str) -> str:
    places = minor_units(currency)
    debits = sum((a for a in amounts if a > 0), Decimal(0))
    credits = -sum((a for a in amounts if a < 0), Decimal(0))
    lines = ", ".join(str(ln[7]) for ln in entry.lines[:10]) + (", …" if len(entry.lines) > 10 else "")
    return (f"Entry “{entry.ref}” (lines {lines}) does not balance: debits {debits:,.{places}f} ≠ credits "
            f"{credits:,.{places}f} (difference {debits - credits:,.{places}f} {currency}).")


# --- the import -----------------------------------------------------------------------------------

def _lock_tenant_imports(tenant_id: int) -> None:
    """Imports into one tenant run one at a time: the duplicate and idempotency checks then
    see every earlier import committed. (The lock ends with the transaction.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_CLASS, tenant_id])


def _existing_keys(tenant_id: int, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT idempotency_key FROM ledger_journalentry WHERE tenant_id = %s AND idempotency_key = ANY(%s)",
            [tenant_id, keys],
        )
        return {row[0] for row in cursor.fetchall()}


def _lock_periods(tenant, months: set[date]) -> tuple[dict[date, int], set[date]]:
    """Create missing periods, share-lock them (closing one waits for us), return
    ({month: period id}, closed months)."""
    from .periods import periods_ensure

    periods = periods_ensure(tenant=tenant, dates=months)
    with connection.cursor() as cursor:
        cursor.execute("SELECT start, status FROM ledger_period WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                       [sorted(p.pk for p in periods.values())])
        closed = {start for start, status in cursor.fetchall() if status != "open"}
    return {month: p.pk for month, p in periods.items()}, closed


def gl_import(*, tenant, actor, data: bytes, filename: str, job: ImportJob | None = None,
              progress: Progress | None = None) -> GlImportResult:
    """Import GL actuals from `data` (CSV or XLSX), all or nothing.

    Row problems do not raise: they are in `result.errors`, and then nothing is written. With a
    `job`, its status and counters are recorded in the same transaction as the entries; without
    one, a succeeded import is recorded as a job too, so the same file is recognised next time.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    if progress is None and job is not None:
        progress = job_progress_reporter(job.pk)
    with tenant_context(tenant) as tenant_id:
        _lock_tenant_imports(tenant_id)
        if job is not None:
            job = ImportJob.objects.select_for_update().defer("content").get(pk=job.pk)
            if job.is_finished:
                return _result_of(job)
        previous = (ImportJob.objects.filter(kind=ImportKind.GL, sha256=sha256, status=ImportStatus.SUCCEEDED)
                    .defer("content").first())
        if previous is not None:
            if job is not None:
                _finish(job, status=ImportStatus.DUPLICATE, duplicate_of=previous, message=duplicate_message(previous))
            return GlImportResult(duplicate_of=previous, job=job)

        parsed = gl_parse(data, filename, gl_reference_load(tenant=tenant), progress)
        errors, created, skipped = parsed.errors, 0, 0
        existing = _existing_keys(tenant_id, [e.key for e in parsed.entries])
        new = [e for e in parsed.entries if e.key not in existing]
        skipped = len(parsed.entries) - len(new)
        with transaction.atomic():
            periods, closed = _lock_periods(tenant, {e.date.replace(day=1) for e in new}) if new else ({}, set())
            if closed:
                errors = sorted(
                    [*errors, *(RowError(e.line, f"Period {e.date:%Y-%m} is closed: reopen it or post into an "
                                                 "open period.") for e in new if e.date.replace(day=1) in closed)],
                    key=lambda e: e.line or 0)
            if errors:
                transaction.set_rollback(True)  # the periods just created go too
            else:
                if job is None:
                    # Only the fingerprint is kept (the caller has the file): the row makes the
                    # same content recognisable next time without storing it twice.
                    job = ImportJob.objects.create(
                        tenant_id=tenant_id, kind=ImportKind.GL, filename=filename[:255], content=b"",
                        size=len(data), sha256=sha256, status=ImportStatus.RUNNING, started_at=timezone.now(),
                        created_by=actor if getattr(actor, "pk", None) else None)
                with _no_cyclic_gc():
                    created = _write(tenant_id=tenant_id, actor=actor, job_id=job.pk, entries=new,
                                     periods=periods, progress=progress)
        result = GlImportResult(created=created, skipped=skipped if not errors else 0, rows=parsed.rows,
                                errors=errors, job=job)
        if job is not None:
            if errors:
                _finish(job, status=ImportStatus.FAILED, rows=parsed.rows, errors=errors, message=result.summary())
            else:
                _finish(job, status=ImportStatus.SUCCEEDED, rows=parsed.rows, created=created, skipped=skipped,
                        message=result.summary())
                audit_record(tenant=tenant, actor=actor, action="journal.import", obj=job,
                             after={"filename": job.filename, "sha256": sha256, "rows": parsed.rows,
                                    "entries_created": created, "entries_skipped": skipped})
                transaction.on_commit(lambda: __import__("budgets.tasks", fromlist=["_"]).variance_alerts_after_import(tenant_id))  # noqa: E501  variance alerts see the new actuals
        return result


def _write(*, tenant_id: int, actor, job_id: int, entries: list[GlEntry], periods: dict[date, int],
           progress: Progress | None) -> int:
    if not entries:
        return 0
    ids = writer.reserve_entry_ids(len(entries))
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    now = timezone.now()
    source = Source.IMPORT
    period_of = {e.date: periods[e.date.replace(day=1)] for e in entries}
    total = sum(len(e.lines) for e in entries)
    # The lines' COPY text is formatted in a second thread while the database inserts the entries
    # (the thread is pure Python; psycopg releases the GIL while it waits for the server).
    with ThreadPoolExecutor(max_workers=1) as pool:
        blocks = pool.submit(_line_blocks, tenant_id, ids, entries, period_of)
        writer.copy_entries(
            (entry_id, tenant_id, e.entity_id, period_of[e.date], e.date, e.memo, e.ref, source, e.key, None,
             job_id, actor_id, now)
            for entry_id, e in zip(ids, entries, strict=True)
        )
        blocks = blocks.result()

    def sent():
        done = 0
        for block, count in blocks:
            yield block
            done += count
            if progress is not None:
                progress(done, total, "write")
        if progress is not None:
            progress(total, total, "post")

    writer.copy_lines(writer.TextBlocks(sent()))
    return len(entries)


def _line_blocks(tenant_id: int, ids: list[int], entries: list[GlEntry],
                 period_of: dict[date, int]) -> list[tuple[bytes, int]]:
    """The entries' lines in COPY text format (writer.LINE_COLUMNS), as (block, lines in it)."""
    null, field = writer.NULL_TEXT, writer.text_field
    memos: dict[str, str] = {}
    blocks: list[tuple[bytes, int]] = []
    rows: list[str] = []
    append = rows.append
    for entry_id, e in zip(ids, entries, strict=True):
        head = f"{tenant_id}\t{entry_id}\t"
        middle = f"\t{e.entity_id}\t{period_of[e.date]}\t{e.date.isoformat()}\t"
        for n, (account_id, cc_id, amount, txn_amount, currency, rate, memo, _) in enumerate(e.lines, start=1):
            text = memos.get(memo)
            if text is None:
                text = field(memo)
                if len(memos) < 10_000:
                    memos[memo] = text
            append(f"{head}{n}{middle}{account_id}\t{null if cc_id is None else cc_id}\t{amount}\t{txn_amount}\t"
                   f"{currency}\t{rate}\t{text}\n")
        if len(rows) >= PROGRESS_EVERY:
            blocks.append(("".join(rows).encode(), len(rows)))
            rows.clear()
    if rows:
        blocks.append(("".join(rows).encode(), len(rows)))
    return blocks


def _finish(job: ImportJob, *, status: str, rows: int = 0, created: int = 0, skipped: int = 0,
            errors: list[RowError] = (), message: str = "", duplicate_of: ImportJob | None = None) -> None:
    job.status = status
    job.rows, job.entries_created, job.entries_skipped = rows, created, skipped
    job.errors = [{"line": e.line, "message": e.message} for e in errors[:ImportJob.MAX_STORED_ERRORS]]
    job.error_count = len(errors)
    job.message = message[:500]
    job.duplicate_of = duplicate_of
    job.started_at = job.started_at or timezone.now()
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows", "entries_created", "entries_skipped", "errors", "error_count",
                            "message", "duplicate_of", "started_at", "finished_at"])


def _result_of(job: ImportJob) -> GlImportResult:
    return GlImportResult(
        created=job.entries_created, skipped=job.entries_skipped, rows=job.rows, job=job,
        errors=[RowError(e["line"], e["message"]) for e in job.errors], duplicate_of=job.duplicate_of,
    )


# --- jobs: upload now, import in a worker ------------------------------------------------------------

def _progress_key(job_id: int) -> str:
    return f"ledger:import-progress:{job_id}"


def job_progress_reporter(job_id: int) -> Progress:
    key = _progress_key(job_id)

    def report(done: int, total: int, phase: str) -> None:
        cache.set(key, {"done": done, "total": total, "phase": phase}, timeout=24 * 3600)

    return report


PHASES = {"check": "Checking rows", "write": "Writing lines", "post": "Posting to the ledger"}


def import_progress_get(*, job_id: int) -> dict | None:
    """{"done", "total", "phase", "label", "percent"} from the cache, or None before the first report."""
    state = cache.get(_progress_key(job_id))
    if not state:
        return None
    total = max(int(state.get("total") or 0), 1)
    done = min(int(state.get("done") or 0), total)
    return {**state, "label": PHASES.get(state.get("phase"), "Working"), "percent": int(100 * done / total)}


def import_job_create(*, tenant, actor, filename: str, data: bytes, enqueue: bool = True) -> ImportJob:
    """Record an uploaded file as a job and, after commit, hand it to a worker. A file that a
    succeeded import already brought in becomes a `duplicate` job at once."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise DomainError(f"The file is {len(data) / 1e6:,.1f} MB; the limit is "
                          f"{settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB. Split it into several files.")
    sha256 = hashlib.sha256(data).hexdigest()
    with tenant_context(tenant) as tenant_id:
        job = ImportJob(tenant_id=tenant_id, kind=ImportKind.GL, filename=(filename or "upload")[:255],
                        content=data, size=len(data), sha256=sha256,
                        created_by=actor if getattr(actor, "pk", None) else None)
        previous = (ImportJob.objects.filter(kind=ImportKind.GL, sha256=sha256, status=ImportStatus.SUCCEEDED)
                    .defer("content").first())
        if previous is not None:
            job.status, job.duplicate_of, job.message = ImportStatus.DUPLICATE, previous, duplicate_message(previous)
            job.started_at = job.finished_at = timezone.now()
            job.save()
            return job
        job.save()
        if enqueue:
            from .tasks import gl_import_run

            # robust: if the broker is down the upload is still saved, and the job waits as queued.
            transaction.on_commit(lambda: gl_import_run.delay(tenant_id, job.pk), robust=True)
        return job


def import_job_run(*, tenant, job_id: int) -> ImportJob | None:
    """Run a queued job (what the worker and the command do). Safe to run twice: a finished job
    is left alone, and two runs of one job serialise on its row lock."""
    with tenant_context(tenant):
        job = ImportJob.objects.select_for_update().defer("content").filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        job.status, job.started_at = ImportStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    try:
        with tenant_context(tenant):
            data = bytes(ImportJob.objects.values_list("content", flat=True).get(pk=job_id))
        gl_import(tenant=tenant, actor=job.created_by, data=data, filename=job.filename, job=job)
    except Exception as exc:
        log.exception("GL import job %s failed", job_id)
        with tenant_context(tenant):
            job = ImportJob.objects.select_for_update().defer("content").get(pk=job_id)
            if not job.is_finished:
                _finish(job, status=ImportStatus.FAILED, message=(
                    f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                    "Try again; if it fails again, tell your administrator."))
    with tenant_context(tenant):
        return ImportJob.objects.defer("content").select_related("duplicate_of").get(pk=job_id)
