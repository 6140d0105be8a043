"""Checking a cost file row by row, and turning each good row into a line of the staging table.

One pass over the file's rows as they are read (`finops.imports.file_rows`: CSV or XLSX, never a
list of the whole file): the header is read once (`header_read`: names in any case), then each
row's cells are read by their column's reader (`cells.py`); every problem is collected with its
line, column and reason, the first `Job.MAX_STORED_ERRORS` kept and all counted. As long as no
row was wrong, good rows are handed on in blocks of COPY text (`sink`), so the writer stages them
while the file is still being read; after the first bad row nothing more is staged (nothing will
be written), but the check goes on so that the user sees every bad row at once.

Each staged row carries its fingerprint (`row_hash`): a 128-bit BLAKE2b of the row's values as
stored (format, dates, numbers in one canonical form, tags with sorted keys), so the same charge
written differently ("1.50" or "1.5", 4/1/25 or 2025-04-01) is the same row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from finops import bounds
from finops.imports import FileProblem, RowError, file_rows, header_read
from finops.jobs import progress as _progress
from finops.jobs.models import Job
from finops.jobs.progress import Progress
from finops.ledger.writer import NULL_TEXT, text_field

from ..models import CostItem
from . import cells
from .cells import Problem, is_null
from .formats import (
    CATEGORY,
    CLASS,
    COST,
    CURRENCY,
    DATE,
    DISCOUNT_CATEGORY,
    LOOSE_TAGS,
    STATUS,
    TAGS,
    TEXT,
    CostFormat,
    generic_complete,
)

STAGE_BLOCK_ROWS = 20_000  # rows per COPY while the file is read
MAX_KEPT_ERRORS = Job.MAX_STORED_ERRORS
_NOT_STAGED = {"id", "tenant_id", "import_job_id", "source_format", "occurrence", "line", "row_hash"}
# The staging table's columns after (line, row_hash): every value a row gives, in the model's order.
VALUE_FIELDS = tuple(f.attname for f in CostItem._meta.concrete_fields if f.attname not in _NOT_STAGED)
STAGE_FIELDS = ("line", "row_hash", *VALUE_FIELDS)
_FIELDS = {f.attname: f for f in CostItem._meta.concrete_fields}
TEXT_LIMIT = 10_000  # characters of a TextField cell (a description, a resource id)

Sink = Callable[[bytes, int], None]  # (COPY text of `count` rows, count)


@dataclass
class Checked:
    format: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    error_count: int = 0
    currency_assumed: str = ""  # the file has no currency column: its costs are in this one
    staged: int = 0


def _shown(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:57]}…"


def _field_format(name: str):
    """How a value of CostItem.`name` is written as a COPY text field."""
    model_field = _FIELDS[name]
    kind = model_field.get_internal_type()
    null = NULL_TEXT if model_field.null else ""
    if kind == "DecimalField":
        return lambda v: null if v is None else cells.number_text(v)
    if kind == "DateField":
        return lambda v: null if v is None else v.isoformat()
    if kind == "JSONField":
        return lambda v: text_field(cells.tags_text(v or {}))
    return lambda v: null if v is None else text_field(v)


_FORMATTERS = tuple(_field_format(name) for name in VALUE_FIELDS)


def _reader(kind: str, window: bounds.DateWindow):
    """The function reading a non-empty cell of `kind`: value or Problem."""
    if kind == DATE:
        seen: dict[str, date | Problem] = {}

        def read_date(text: str):
            value = seen.get(text)
            if value is None:
                value = cells.read_date(text, window)
                if len(seen) < 100_000:
                    seen[text] = value
            return value

        return read_date
    if kind == CURRENCY:
        seen_currency: dict[str, str | Problem] = {}

        def read_currency(text: str):
            value = seen_currency.get(text)
            if value is None:
                value = seen_currency[text] = cells.read_currency(text)
            return value

        return read_currency
    return {
        COST: cells.read_cost, CATEGORY: cells.read_charge_category, CLASS: cells.read_charge_class,
        STATUS: cells.read_discount_status, DISCOUNT_CATEGORY: cells.read_discount_category,
        TAGS: cells.read_tags, LOOSE_TAGS: cells.read_loose_tags,
    }[kind]


def check_rows(data: bytes, filename: str, fmt: CostFormat, *, default_currency: str, sink: Sink,
               progress: Progress | None = None) -> Checked:
    """Check every row of the file; hand good rows to `sink` while none was wrong."""
    checked = Checked(format=fmt.name)
    try:
        _check(data, filename, fmt, default_currency, sink, progress, checked)
    except FileProblem as problem:
        checked.error_count += 1
        checked.errors.append(problem.error)
    if not checked.error_count and checked.rows == 0:
        checked.errors.append(RowError(None, "The file has a header but no rows."))
        checked.error_count = 1
    checked.errors.sort(key=lambda e: e.line or 0)
    return checked


def _check(data, filename, fmt: CostFormat, default_currency: str, sink: Sink, progress, checked: Checked) -> None:
    rows, total = file_rows(data, filename)
    first = next(rows, None)
    if first is None or first[0] != 1 or not any(str(c).strip() for c in first[1]):
        raise FileProblem(f"The first line must be the header. {fmt.hint}", 1)
    header = [str(c).strip() for c in first[1]]
    positions = header_read(header, known=[c.name for c in fmt.columns], required=fmt.required, hint=fmt.hint)
    x_columns, other_columns = _extra_columns(header, set(positions.values()))
    window = bounds.date_window()
    plan = []
    for column in fmt.columns:
        if column.name in positions:
            limit = _FIELDS[column.field].max_length or TEXT_LIMIT
            plan.append((column, positions[column.name], None if column.kind == TEXT else _reader(column.kind, window),
                         limit))
    plan.sort(key=lambda step: step[1])  # a row's problems in the order of its cells
    has_currency = any(c.field == "billing_currency" for c, *_ in plan)
    if not has_currency and fmt.name == "focus":
        checked.currency_assumed = default_currency
    width = len(header)
    total = max(total - 1, 1)
    generic = fmt.name == "csv"
    fmt_key = f"{fmt.name}\t"
    block: list[str] = []
    every = countdown = _progress.PROGRESS_EVERY
    errors = checked.errors

    def problem(line: int, message: str) -> None:
        checked.error_count += 1
        if len(errors) < MAX_KEPT_ERRORS:
            errors.append(RowError(line, message))

    for line, row in rows:
        if not any(c.strip() for c in row):
            continue  # a blank line, or a spreadsheet's row of empty cells
        checked.rows += 1
        countdown -= 1
        if countdown == 0:
            countdown = every
            if progress is not None:
                progress(checked.rows, total, "check")
        if len(row) > width:
            if any(c.strip() for c in row[width:]):
                problem(line, f"This line has {len(row)} values but the header has {width} columns: quote values "
                              "that contain commas (e.g. \"1,234.56\").")
                continue
        elif len(row) < width:
            row = row + [""] * (width - len(row))
        bad = checked.error_count
        values: dict[str, object] = {}
        for column, index, read, limit in plan:
            text = row[index].strip()
            if is_null(text):
                if column.required:
                    problem(line, f"{column.name} is empty.")
                continue
            if read is None:
                if len(text) > limit:
                    problem(line, f"{column.name} is {len(text):,} characters long; the limit is {limit:,}.")
                    continue
                values[column.field] = text
                continue
            value = read(text)
            if value.__class__ is Problem:
                problem(line, f"{column.name} “{_shown(text)}” {value}.")
                continue
            values[column.field] = value
        if checked.error_count > bad:
            continue
        if generic:
            generic_complete(values)
        if "billing_currency" not in values:
            if has_currency and not generic:
                problem(line, "BillingCurrency is empty.")
                continue
            values["billing_currency"] = default_currency
        start, end = values["charge_period_start"], values.get("charge_period_end")
        if end is not None and end < start:
            problem(line, f"ChargePeriodEnd {end} is before ChargePeriodStart {start}.")
            continue
        values["month"] = start.replace(day=1)
        if x_columns:
            values["x_columns"] = {name: text for i, name in x_columns if not is_null(text := row[i].strip())}
        if other_columns:
            values["other_columns"] = {name: text for i, name in other_columns if not is_null(text := row[i].strip())}
        if checked.error_count:
            continue  # nothing will be written: no need to stage
        staged = "\t".join([fmt(values.get(name)) for name, fmt in zip(VALUE_FIELDS, _FORMATTERS, strict=True)])
        fingerprint = hashlib.blake2b((fmt_key + staged).encode(), digest_size=16).hexdigest()
        block.append(f"{line}\t{fingerprint}\t{staged}\n")
        if len(block) >= STAGE_BLOCK_ROWS:
            _deliver(block, sink, checked)
            block = []
    if block and not checked.error_count:
        _deliver(block, sink, checked)
    if progress is not None:
        progress(checked.rows, checked.rows, "check")


def _deliver(block: list[str], sink: Sink, checked: Checked) -> None:
    sink("".join(block).encode(), len(block))
    checked.staged += len(block)


def _extra_columns(header: list[str], known: set[int]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The header's `x_` columns and its other unknown columns, as (position, name as written)."""
    x_columns, others, seen = [], [], set()
    for index, name in enumerate(header):
        if index in known or not name:
            continue
        if name.lower() in seen:
            raise FileProblem(f"The column “{name}” appears twice in the header.", 1)
        seen.add(name.lower())
        (x_columns if name.lower().startswith("x_") else others).append((index, name))
    return x_columns, others

