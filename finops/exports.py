"""CSV and XLSX exports that are safe to open in a spreadsheet, and ready to hand on.

A text cell that starts with = + - @ (or a tab or carriage return) would be read as a formula
by Excel, LibreOffice and Google Sheets (CSV injection). Such cells are prefixed with an
apostrophe; numbers and dates are written as numbers and dates and left alone.

A report (`Sheet`: its title, what it covers, typed `Column`s, rows and a totals row) exports
with `sheet_response`: the XLSX has a title row (report, organisation, basis, range), human
column titles, number formats (thousands, the currency's decimals, negatives in parentheses,
percentages as percentages), a bold totals row, frozen header, autofilter and column widths; the
CSV writes amounts in the currency's decimals ("1858.64", not "1858.6400"). A table whose rows
are in several currencies (a journal of several entities) gives a MONEY column `currency_from`,
the column holding each row's currency: each cell then takes that currency's decimals, and the
caller gives one totals row per currency. Every domain's tables export through it. `export_response` (a header and rows of plain values) remains for
machine-facing files (templates, problem lists).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import chain

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (Decimal, int, float, date, datetime)):
        return value
    return neutralise(str(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow([neutralise(h) for h in header])
    for row in rows:
        out.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")  # BOM: Excel then reads UTF-8 correctly


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Export") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append([neutralise(h) for h in header])
    for row in rows:
        worksheet.append([_cell(v) if not isinstance(v, datetime) else v.replace(tzinfo=None) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """`fmt` is "csv" or "xlsx"; `filename` has no extension."""
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = xlsx_bytes(header, rows)
    else:
        fmt, content_type, body = "csv", "text/csv; charset=utf-8", csv_bytes(header, rows)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


# --- reports ------------------------------------------------------------------------------------

TEXT, MONEY, PCT, DATE, MONTH, COUNT = "text", "money", "pct", "date", "month", "count"
DATETIME = "datetime"  # to the second; an aware value in the project's time zone (say which in the title)
NUMBER = "number"  # a plain number (an exchange rate, a quantity): the decimals it has, trailing zeros dropped


@dataclass(frozen=True)
class Column:
    title: str  # as a person reads it: "Variance %", not "variance_pct"
    kind: str = TEXT  # TEXT, MONEY, PCT (a percentage: 37.5 is 37.5 %), DATE, DATETIME, MONTH, COUNT, NUMBER
    width: int | None = None  # characters; None: fitted to the content
    # MONEY: the title of the column holding each row's currency code, for a table whose rows are in
    # several currencies (a journal of several entities); None: the sheet's currency.
    currency_from: str | None = None


@dataclass(frozen=True)
class Row:
    """A data row with emphasis: a group's subtotal in bold, a member indented under its group
    (`indent` levels, in the column `indent_at`). Plain sequences are rows without emphasis."""

    values: Sequence
    bold: bool = False
    indent: int = 0
    indent_at: int = 0


def _parts(row) -> tuple[Sequence, bool, int, int]:
    if isinstance(row, Row):
        return row.values, row.bold, row.indent, row.indent_at
    return row, False, 0, 0


@dataclass
class Sheet:
    title: str  # the report: the sheet's name and the first line
    columns: list[Column]
    rows: Iterable[Sequence]
    currency: str = ""  # of the money columns without a `currency_from`: their decimals
    about: list[str] = field(default_factory=list)  # organisation, basis, range: the second line
    totals: list[Sequence] = field(default_factory=list)  # bold rows after the data, as the report computed them
    filename: str = "export"  # without extension: `export_filename` makes one

    @property
    def header(self) -> list[str]:
        return [c.title for c in self.columns]

    def currencies(self, values: Sequence) -> list[str]:
        """The currency of each cell of a row: its MONEY column's `currency_from` cell, or the sheet's."""
        titles = self.header
        where = [titles.index(c.currency_from) if c.currency_from else None for c in self.columns]
        return [str(values[i] or self.currency) if i is not None else self.currency for i in where]


def export_filename(*parts) -> str:
    """`budget-vs-actual_acme_DE_fy2026_ytd-2026-11`: parts slugified, no spaces, joined by "_"."""
    return "_".join(re.sub(r"[^A-Za-z0-9.]+", "-", str(p)).strip("-") or "x" for p in parts if p not in (None, ""))


def _money_format(places: int) -> str:
    number = "#,##0" + ("." + "0" * places if places else "")
    return f"{number};({number});{number}"


def _text_value(column: Column, value, currency: str):
    """A CSV cell: money in the currency's decimals, percentages as numbers, the rest as `_cell`."""
    from finops.ledger.money import round_money

    if value is None:
        return ""
    if column.kind == MONEY and isinstance(value, (Decimal, int)):
        return f"{round_money(Decimal(value), currency):f}"
    if column.kind == PCT and isinstance(value, (Decimal, int)):
        return f"{Decimal(value):f}"
    if column.kind == NUMBER and isinstance(value, (Decimal, int)):
        return _plain(Decimal(value))
    if column.kind == MONTH and isinstance(value, date):
        return f"{value:%Y-%m}"
    if column.kind == DATETIME and isinstance(value, datetime):
        return f"{_local(value):%Y-%m-%d %H:%M:%S}"
    return _cell(value)


def _plain(value: Decimal) -> str:
    """1.0850000000 → "1.085", 100.0000000000 → "100": no exponent, no trailing zeros."""
    return f"{value.normalize():f}"


def _local(value: datetime) -> datetime:
    """A moment as a spreadsheet holds it: naive, in the project's time zone, to the second."""
    from django.utils import timezone

    if timezone.is_aware(value):
        value = timezone.localtime(value).replace(tzinfo=None)
    return value.replace(microsecond=0)


def sheet_csv(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow([neutralise(h) for h in sheet.header])
    for row in chain((_parts(r)[0] for r in sheet.rows), sheet.totals):
        out.writerow([_text_value(c, v, currency)
                      for c, v, currency in zip(sheet.columns, row, sheet.currencies(row), strict=True)])
    return buffer.getvalue().encode("utf-8-sig")


def sheet_xlsx(sheet: Sheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from finops.ledger.money import minor_units

    formats = {MONEY: None, PCT: "0.00%;(0.00%);0.00%", DATE: "yyyy-mm-dd", DATETIME: "yyyy-mm-dd hh:mm:ss",
               MONTH: "mmm yyyy", COUNT: "#,##0", NUMBER: "General"}  # MONEY: the cell's currency's decimals
    workbook = Workbook()
    ws = workbook.active
    ws.title = "".join(ch for ch in sheet.title if ch not in "[]:*?/\\")[:31] or "Export"
    ws.append([neutralise(sheet.title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([neutralise(" · ".join(sheet.about))] if sheet.about else [])
    ws["A2"].font = Font(color="667085")
    ws.append([])
    header_row = 4
    ws.append([neutralise(h) for h in sheet.header])
    fill = PatternFill("solid", fgColor="F2F4F7")
    for index, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=header_row, column=index)
        cell.font, cell.fill = Font(bold=True), fill
        if column.kind in formats:
            cell.alignment = Alignment(horizontal="right")
    widths = [len(c.title) for c in sheet.columns]

    def put(values, *, bold=False, indent=0, indent_at=0):
        ws.append([_xlsx_value(c, v) for c, v in zip(sheet.columns, values, strict=True)])
        r = ws.max_row
        cells = zip(sheet.columns, values, sheet.currencies(values), strict=True)
        for index, (column, value, currency) in enumerate(cells, start=1):
            cell = ws.cell(row=r, column=index)
            if column.kind == MONEY:
                cell.number_format = _money_format(minor_units(currency))
            elif column.kind in formats:
                cell.number_format = formats[column.kind]
            if bold:
                cell.font = Font(bold=True)
            if indent and index - 1 == indent_at:
                cell.alignment = Alignment(indent=indent)
            widths[index - 1] = max(widths[index - 1], len(str(_text_value(column, value, currency))) + 2
                                    + (2 * indent if index - 1 == indent_at else 0))

    for row in sheet.rows:
        values, bold, indent, indent_at = _parts(row)
        put(values, bold=bold, indent=indent, indent_at=indent_at)
    last_data = ws.max_row
    for total in sheet.totals:
        put(total, bold=True)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(sheet.columns))}{max(last_data, header_row)}"
    for index, column in enumerate(sheet.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width or min(max(widths[index - 1], 8), 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(column: Column, value):
    if value is None:
        return None
    if column.kind == PCT and isinstance(value, (Decimal, int)):
        return Decimal(value) / 100  # a percentage cell holds the fraction: 37.5 % is 0.375
    if column.kind == DATETIME and isinstance(value, datetime):
        return _local(value)
    if column.kind == NUMBER and isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return _cell(value)


def sheet_response(fmt: str, sheet: Sheet) -> HttpResponse:
    """The sheet as "xlsx" or (anything else) "csv", as a download named `sheet.filename`."""
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = sheet_xlsx(sheet)
    else:
        fmt, content_type, body = "csv", "text/csv; charset=utf-8", sheet_csv(sheet)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{sheet.filename}.{fmt}"'
    return response
