"""CSV and XLSX exports that are safe to open in a spreadsheet.

A text cell that starts with = + - @ (or a tab or carriage return) would be read as a formula
by Excel, LibreOffice and Google Sheets (CSV injection). Such cells are prefixed with an
apostrophe; numbers and dates are written as numbers and dates and left alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

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
