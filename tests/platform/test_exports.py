"""The shared report exporter (finops/exports.py): a sheet whose rows are in several currencies,
timestamps and plain numbers, read back as a spreadsheet and as CSV."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from openpyxl import load_workbook

from finops.exports import DATE, DATETIME, MONEY, NUMBER, Column, Sheet, sheet_csv, sheet_xlsx

D = Decimal
USD_FORMAT = "#,##0.00;(#,##0.00);#,##0.00"
JPY_FORMAT = "#,##0;(#,##0);#,##0"
KWD_FORMAT = "#,##0.000;(#,##0.000);#,##0.000"


def mixed() -> Sheet:
    columns = [Column("Date", DATE), Column("Amount", MONEY, currency_from="Currency"), Column("Currency"),
               Column("Rate", NUMBER), Column("Fee", MONEY)]
    rows = [(date(2026, 3, 1), D("1858.6400"), "USD", D("1.0000000000"), D("-2.5000")),
            (date(2026, 3, 2), D("-150000.0000"), "JPY", D("0.0066500000"), D("1")),
            (date(2026, 3, 3), D("1.2346"), "KWD", D("100.0000000000"), None)]
    totals = [("Total USD", D("1858.64"), "USD", None, D("-1.50")), ("Total JPY", D("-150000"), "JPY", None, None)]
    return Sheet(title="Mixed", columns=columns, rows=rows, totals=totals, currency="EUR", about=["Acme"])


def test_money_cells_take_the_decimals_of_their_rows_currency_or_else_the_sheets():
    sheet = load_workbook(io.BytesIO(sheet_xlsx(mixed()))).active
    body = list(sheet.iter_rows(min_row=5))
    assert [(r[1].value, r[1].number_format) for r in body] == [
        (1858.64, USD_FORMAT), (-150000, JPY_FORMAT), (1.2346, KWD_FORMAT), (1858.64, USD_FORMAT),
        (-150000, JPY_FORMAT)]
    assert {r[4].number_format for r in body} == {USD_FORMAT}  # the sheet's EUR: two decimals
    assert [r[3].value for r in body[:3]] == [1, 0.00665, 100] and body[0][3].number_format == "General"
    assert [r[0].value for r in body[3:]] == ["Total USD", "Total JPY"] and body[3][1].font.bold
    assert sheet.auto_filter.ref == "A4:E7"  # the data, not the totals


def test_csv_amounts_are_in_their_rows_currency_decimals_and_plain_numbers_have_no_exponent():
    rows = list(csv.reader(io.StringIO(sheet_csv(mixed()).decode("utf-8-sig"))))
    assert rows == [
        ["Date", "Amount", "Currency", "Rate", "Fee"],
        ["2026-03-01", "1858.64", "USD", "1", "-2.50"],
        ["2026-03-02", "-150000", "JPY", "0.00665", "1.00"],
        ["2026-03-03", "1.235", "KWD", "100", ""],
        ["Total USD", "1858.64", "USD", "", "-1.50"],
        ["Total JPY", "-150000", "JPY", "", ""],
    ]


def test_timestamps_are_written_to_the_second_in_the_projects_time_zone():
    moment = datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=UTC)
    sheet = Sheet(title="Log", columns=[Column("At", DATETIME), Column("What")], rows=[(moment, "=cmd")])
    with timezone.override(ZoneInfo("Europe/Berlin")):
        xlsx = load_workbook(io.BytesIO(sheet_xlsx(sheet))).active
        text = list(csv.reader(io.StringIO(sheet_csv(sheet).decode("utf-8-sig"))))
    assert (xlsx["A5"].value, xlsx["A5"].number_format) == (datetime(2026, 3, 2, 0, 30, 15), "yyyy-mm-dd hh:mm:ss")
    assert xlsx["B5"].value == "'=cmd"
    assert text[1] == ["2026-03-02 00:30:15", "'=cmd"]
