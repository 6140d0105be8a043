"""GL actuals import: every row checked, all or nothing, every bad row named by its line."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from finops.audit.models import AuditEvent
from finops.jobs import progress
from finops.jobs.models import Job, JobStatus
from finops.jobs.progress import job_progress_get, job_progress_reporter
from finops.ledger import importers
from finops.ledger.fx import RateBook
from finops.ledger.importers import gl_import, import_job_create
from finops.ledger.models import JournalEntry, JournalLine, Period
from finops.ledger.periods import period_close, period_ensure
from finops.ledger.services import LineSpec, translate_lines
from finops.ledger.tasks import gl_import_run
from finops.tenancy.context import tenant_context
from tests.ledger.gl_files import (
    CHECKED_THEN_WRITTEN,
    GOOD,
    HEADER,
    WRITTEN_WHILE_CHECKED,
    balances,
    csv_file,
    ledger_state,
    problems,
    run,
)
from tests.local_servers import closed_port

pytestmark = pytest.mark.usefixtures("write_mode")  # every test both ways a file is written (conftest)


# --- what a good file does --------------------------------------------------------------------------

def test_a_valid_file_posts_one_balanced_entry_per_entry_ref(books):
    result = run(books, csv_file(*GOOD))

    assert (result.created, result.skipped, result.rows, result.errors) == (2, 0, 5, [])
    assert result.summary() == "5 rows: 2 entries created, 0 already imported (skipped)."
    assert balances(books.org) == {
        ("US", "6100", "OPS"): Decimal("1200.0000"),
        ("US", "2000", None): Decimal("-1600.0000"),
        ("US", "6200", "SALES"): Decimal("300.5000"),
        ("US", "6200", "OPS"): Decimal("99.5000"),
    }
    with tenant_context(books.org):
        entry = JournalEntry.objects.get(reference="INV-2")
        assert (entry.idempotency_key, entry.source, entry.date, entry.memo) == (
            "import:US:INV-2", "import", date(2026, 3, 20), "Licences")
        assert entry.import_job_id == result.job.pk
        assert list(entry.lines.values_list("line_no", "amount", "txn_currency", "rate")) == [
            (1, Decimal("300.5000"), "USD", Decimal("1.0000000000")),
            (2, Decimal("99.5000"), "USD", Decimal("1.0000000000")),
            (3, Decimal("-400.0000"), "USD", Decimal("1.0000000000")),
        ]
        job = Job.objects.get(pk=result.job.pk)
        assert (job.status, job.rows, job.result["entries_created"], job.result["entries_skipped"]) == ("succeeded", 5, 2, 0)
        assert AuditEvent.objects.filter(action="journal.import", object_id=str(job.pk)).count() == 1


def test_lines_of_an_entry_need_not_be_next_to_each_other(books):
    result = run(books, csv_file(GOOD[0], GOOD[2], GOOD[1], GOOD[3], GOOD[4]))

    assert (result.created, result.errors) == (2, [])
    assert balances(books.org)[("US", "2000", None)] == Decimal("-1600.0000")


def test_entries_are_numbered_in_the_order_they_first_appear_in_the_file(books):
    result = run(books, csv_file(GOOD[2], GOOD[0], GOOD[3], GOOD[1], GOOD[4]))

    assert result.created == 2
    with tenant_context(books.org):
        entries = list(JournalEntry.objects.order_by("pk").values_list("reference", flat=True))
        lines = list(JournalLine.objects.order_by("entry_id", "line_no").values_list("entry__reference", "line_no",
                                                                                     "amount"))
    assert entries == ["INV-2", "INV-1"]
    assert lines == [("INV-2", 1, Decimal("300.5000")), ("INV-2", 2, Decimal("99.5000")),
                     ("INV-2", 3, Decimal("-400.0000")),
                     ("INV-1", 1, Decimal("1200.0000")), ("INV-1", 2, Decimal("-1200.0000"))]


def test_headers_are_read_whatever_their_case_and_spacing(books):
    header = " Date ,Entry Ref,ENTITY,account,Cost  Center,Amount,CURRENCY,Memo "
    result = run(books, csv_file(*GOOD[:2], header=header))

    assert (result.created, result.errors) == (1, [])


def test_codes_match_whatever_their_case(books):
    result = run(books, csv_file("2026-03-05,R1,us,6100,ops,10,usd,", "2026-03-05,R1,Us,2000,,-10,,"))

    assert (result.created, result.errors) == (1, [])
    assert balances(books.org)[("US", "6100", "OPS")] == Decimal("10.0000")


def test_an_inactive_account_is_refused_like_the_posting_service_does(books):
    from finops.ledger import services as ledger

    ledger.account_save(tenant=books.org, actor=None, code="6200", name="Software", type="expense",
                        active=False, account=books.software)

    result = run(books, csv_file("2026-03-05,R1,US,6200,,10,,", "2026-03-05,R1,US,2000,,-10,,"))

    assert problems(result) == [(2, "Account 6200 is inactive.")]


def test_optional_columns_may_be_left_out(books):
    result = run(books, csv_file("2026-03-05,R1,US,6100,10", "2026-03-05,R1,US,2000,-10",
                                 header="date,entry_ref,entity,account,amount"))

    assert (result.created, result.errors) == (1, [])
    assert balances(books.org) == {("US", "6100", None): Decimal("10.0000"), ("US", "2000", None): Decimal("-10.0000")}


@pytest.mark.parametrize(("text", "value"), [
    ("1234.56", Decimal("1234.56")),
    ("-1234.56", Decimal("-1234.56")),
    ("1,234.56", Decimal("1234.56")),
    ("(1,234.56)", Decimal("-1234.56")),
    ("1,234,567", Decimal("1234567")),
    ("12.50", Decimal("12.5")),
])
def test_accepted_number_formats(books, text, value):
    result = run(books, csv_file(f'2026-03-05,R1,US,6100,,"{text}",,', f"2026-03-05,R1,US,2000,,{-value},,"))

    assert result.errors == []
    assert balances(books.org)[("US", "6100", None)] == value


def test_debit_and_credit_columns_instead_of_amount(books):
    header = "date,entry_ref,entity,account,cost_center,debit,credit,currency,memo"
    data = csv_file(
        '2026-03-05,R1,US,6100,OPS,"1,000.00",,,rent',
        "2026-03-05,R1,US,6200,OPS,250.00,0,,software",
        "2026-03-05,R1,US,2000,,,1250.00,,payable",
        header=header,
    )
    result = run(books, data)

    assert (result.created, result.errors) == (1, [])
    assert balances(books.org) == {
        ("US", "6100", "OPS"): Decimal("1000.0000"),
        ("US", "6200", "OPS"): Decimal("250.0000"),
        ("US", "2000", None): Decimal("-1250.0000"),
    }


def test_an_xlsx_file_with_real_date_and_number_cells(books):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Date", "Entry ref", "Entity", "Account", "Cost center", "Amount", "Currency", "Memo"])
    sheet.append([datetime(2026, 3, 5), "X-1", "US", 6100, "OPS", 1200.1, None, "rent"])
    sheet.append([date(2026, 3, 5), "X-1", "US", "2000", None, -1200.1, "", "rent"])
    sheet.append(["2026-03-06", "X-2", "UK", "6200", "SALES", 10, "GBP", None])
    sheet.append(["2026-03-06", "X-2", "UK", "2000", None, "-10", "GBP", None])
    sheet.append(["2026-03-06", "X-3", "US", "6200", None, "abc", None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    refused = run(books, buffer.getvalue(), filename="actuals.xlsx")
    assert problems(refused) == [
        (6, "amount “abc” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ]

    sheet.delete_rows(6)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(books, buffer.getvalue(), filename="actuals.xlsx")

    assert (result.created, result.rows, result.errors) == (2, 4, [])
    assert balances(books.org) == {
        ("US", "6100", "OPS"): Decimal("1200.1000"),
        ("US", "2000", None): Decimal("-1200.1000"),
        ("UK", "6200", "SALES"): Decimal("10.0000"),
        ("UK", "2000", None): Decimal("-10.0000"),
    }


def test_a_foreign_currency_entry_is_translated_like_the_posting_service(books):
    # 0.05 × 1.085 = 0.05425 → 0.05 (twice); −0.10 × 1.085 = −0.1085 → −0.11: one cent off,
    # which goes to the largest line so the entry balances exactly.
    result = run(books, csv_file(
        "2026-03-10,FX-1,US,6100,OPS,0.05,EUR,a",
        "2026-03-10,FX-1,US,6200,OPS,0.05,eur,b",
        "2026-03-10,FX-1,US,2000,,-0.10,EUR,c",
    ))

    assert result.errors == []
    with tenant_context(books.org):
        lines = list(JournalLine.objects.order_by("line_no").values_list("amount", "txn_amount", "txn_currency", "rate"))
    assert lines == [
        (Decimal("0.0500"), Decimal("0.0500"), "EUR", Decimal("1.0850000000")),
        (Decimal("0.0500"), Decimal("0.0500"), "EUR", Decimal("1.0850000000")),
        (Decimal("-0.1000"), Decimal("-0.1000"), "EUR", Decimal("1.0850000000")),
    ]
    service = translate_lines(entity=books.usd, month=date(2026, 3, 1), rates=RateBook.load(tenant=books.org), lines=[
        LineSpec(books.rent.pk, Decimal("0.05"), currency="EUR"), LineSpec(books.software.pk, Decimal("0.05"), currency="EUR"),
        LineSpec(books.payable.pk, Decimal("-0.10"), currency="EUR")])
    assert [t.amount for t in service] == [line[0] for line in lines]


def test_a_mixed_currency_entry_must_balance_in_the_functional_currency(books):
    balanced = run(books, csv_file("2026-03-10,M-1,US,6100,,100.00,GBP,", "2026-03-10,M-1,US,2000,,-127.00,,"))
    assert balanced.errors == []
    assert balances(books.org)[("US", "6100", None)] == Decimal("127.0000")

    unbalanced = run(books, csv_file("2026-03-10,M-2,US,6100,,100.00,GBP,", "2026-03-10,M-2,US,2000,,-120.00,USD,"))
    assert problems(unbalanced) == [
        (2, "Entry “M-2” (lines 2, 3) does not balance: debits 127.00 ≠ credits 120.00 (difference 7.00 USD)."),
    ]


def test_formula_looking_memo_text_is_stored_as_text(books):
    memo = '=HYPERLINK("http://evil.example","click")'
    result = run(books, csv_file(f'2026-03-05,R1,US,6100,,5,,"{memo.replace(chr(34), chr(34) * 2)}"',
                                 "2026-03-05,R1,US,2000,,-5,,+cmd|' /C calc'!A0"))

    assert result.errors == []
    with tenant_context(books.org):
        assert list(JournalLine.objects.order_by("line_no").values_list("memo", flat=True)) == [
            memo, "+cmd|' /C calc'!A0"]
        assert JournalEntry.objects.get().memo == memo


def test_a_utf8_file_with_a_byte_order_mark_is_read(books):
    result = run(books, "\ufeff".encode() + csv_file(*GOOD[:2], "2026-03-06,R2,US,6100,,1,,Café ✓",
                                                       "2026-03-06,R2,US,2000,,-1,,Café ✓"))

    assert (result.created, result.errors) == (2, [])
    with tenant_context(books.org):
        assert JournalEntry.objects.get(reference="R2").memo == "Café ✓"


# --- what a bad file does: every problem, with its line, and nothing written ----------------------------

BAD_ROWS = [
    ("2026-03-05,R1,XX,6100,,10,,", "Unknown entity “XX”."),
    ("2026-03-05,R1,US,9999,,10,,", "Unknown account “9999”."),
    ("2026-03-05,R1,US,6100,NOPE,10,,", "Unknown cost center “NOPE”."),
    ("2026-03-05,,US,6100,,10,,", "entry_ref is empty."),
    ("2026-13-01,R1,US,6100,,10,,", "date “2026-13-01” is not a date in the form YYYY-MM-DD."),
    ("05/03/2026,R1,US,6100,,10,,", "date “05/03/2026” is not a date in the form YYYY-MM-DD."),
    (",R1,US,6100,,10,,", "date is empty."),
    ('2026-03-05,R1,US,6100,,"12,34",,', "amount “12,34” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ("2026-03-05,R1,US,6100,,1.2.3,,", "amount “1.2.3” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ("2026-03-05,R1,US,6100,,abc,,", "amount “abc” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ("2026-03-05,R1,US,6100,,10.001,,", "amount “10.001” has more decimals than USD allows (2)."),
    ("2026-03-05,R1,US,6100,,100.5,JPY,", "amount “100.5” has more decimals than JPY allows (0)."),
    ("2026-03-05,R1,US,6100,,,,", "amount is empty."),
    ("2026-03-05,R1,US,6100,,0.00,,", "amount is zero: a line needs an amount."),
    ("2026-03-05,R1,US,6100,,10,XYZ,", "Unknown currency “XYZ”."),
    ("2026-03-05,R1,US,6100,,10,CHF,", "No CHF→USD average rate for 2026-03: add it under Ledger → FX rates."),
    ("2026-03-05,R1,US,6100,,1,234.56,,rent", "This line has 9 values but the header has 8 columns: quote values that "
                                        'contain commas (e.g. "1,234.56").'),
]


@pytest.mark.parametrize(("bad_row", "message"), BAD_ROWS)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(books, bad_row, message):
    entity = bad_row.split(",")[2]  # the entry's other line names the same entity
    result = run(books, csv_file(*GOOD[:2], bad_row, f"2026-03-05,R1,{entity},2000,,-10,,"))

    expected = [(4, message)] + ([(5, "Unknown entity “XX”.")] if entity == "XX" else [])
    if message == "entry_ref is empty.":  # R1 is left with its closing line only
        expected.append((5, "Entry “R1” has only one line: an entry needs at least two lines that balance."))
    assert problems(result) == expected
    assert (result.created, result.skipped, result.job) == (0, 0, None)
    assert ledger_state(books.org) == (0, 0, 0)


def test_an_unbalanced_entry_is_reported_on_its_first_line(books):
    result = run(books, csv_file(*GOOD[:2], "2026-03-05,R1,US,6100,,100,,", "2026-03-05,R1,US,2000,,-90,,"))

    assert problems(result) == [
        (4, "Entry “R1” (lines 4, 5) does not balance: debits 100.00 ≠ credits 90.00 (difference 10.00 USD)."),
    ]
    assert ledger_state(books.org) == (0, 0, 0)


def test_an_entry_with_one_line_is_refused(books):
    result = run(books, csv_file(*GOOD[:2], "2026-03-05,R1,US,6100,,100,,"))

    assert problems(result) == [(4, "Entry “R1” has only one line: an entry needs at least two lines that balance.")]


def test_lines_of_one_entry_must_share_date_and_entity(books):
    result = run(books, csv_file(
        "2026-03-05,R1,US,6100,,100,,", "2026-03-06,R1,US,2000,,-100,,",
        "2026-03-05,R2,US,6100,,100,,", "2026-03-05,R2,UK,2000,,-100,,",
    ))

    assert problems(result) == [
        (3, "Entry “R1” is dated 2026-03-05 on line 2: all lines of an entry share one date."),
        (5, "Entry “R2” is for entity US on line 4: all lines of an entry share one entity."),
    ]
    assert ledger_state(books.org) == (0, 0, 0)


def test_an_entry_in_a_closed_period_is_refused_and_no_period_is_left_behind(books):
    february = period_ensure(tenant=books.org, d=date(2026, 2, 1))
    period_close(tenant=books.org, actor=None, period=february)
    with tenant_context(books.org):
        periods_before = Period.objects.count()

    result = run(books, csv_file("2027-01-05,R0,US,6100,,5,,", "2027-01-05,R0,US,2000,,-5,,",
                                 "2026-02-10,R1,US,6100,,100,,", "2026-02-10,R1,US,2000,,-100,,"))

    assert problems(result) == [(4, "Period 2026-02 is closed: reopen it or post into an open period.")]
    assert ledger_state(books.org) == (0, 0, periods_before)


def test_every_bad_row_is_listed_in_line_order(books):
    result = run(books, csv_file(
        "2026-03-05,R1,US,6100,,10,,",
        "2026-03-05,R1,US,9999,,-10,,",
        ",,, ,,,,",
        "2026-03-05,R2,XX,6100,,abc,,",
        "2026-03-05,R2,US,2000,,-10,,",
        *GOOD,
    ))

    assert problems(result) == [
        (3, "Unknown account “9999”."),
        (5, "Unknown entity “XX”."),
        (5, "amount “abc” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ]
    assert result.summary() == "3 problems found: nothing was imported."
    assert ledger_state(books.org) == (0, 0, 0)


def test_debit_and_credit_columns_refuse_both_neither_and_negatives(books):
    header = "date,entry_ref,entity,account,debit,credit"
    result = run(books, csv_file("2026-03-05,R1,US,6100,10,10", "2026-03-05,R1,US,2000,,",
                                 "2026-03-05,R1,US,2000,-5,", header=header))

    assert problems(result) == [
        (2, "A line has either a debit or a credit, not both."),
        (3, "debit and credit are both empty (or zero): a line needs one of them."),
        (4, "debit “-5” is negative: put credits in the credit column and debits in the debit column, "
            "both as positive numbers."),
    ]


def test_a_file_that_is_not_utf8_is_refused_with_the_line(books):
    data = csv_file(*GOOD[:2]) + "2026-03-05,R1,US,6100,,1,,Café\n".encode("latin-1")

    result = run(books, data)

    assert problems(result) == [
        (4, "The file is not UTF-8 text (line 4 has the byte 0xe9): save it as “CSV UTF-8” and import it again."),
    ]


@pytest.mark.parametrize(("data", "expected"), [
    (b"", [(None, "The file is empty.")]),
    (b"\xef\xbb\xbf\n\n", [(None, "The file is empty.")]),
    (f"{HEADER}\n\n".encode(), [(None, "The file has a header but no rows.")]),
    (b"date,entry_ref,amount\n2026-03-05,R1,10\n", [
        (1, "Missing required columns: entity, account. The header must name date, entry_ref, entity, account, "
            "cost_center, amount, currency, memo (or debit and credit instead of amount)."),
    ]),
    (b"date,entry_ref,entity,account,debit\n", [
        (1, "Missing required column: credit. The header must name date, entry_ref, entity, account, "
            "cost_center, amount, currency, memo (or debit and credit instead of amount)."),
    ]),
    (b"date,entry_ref,entity,account,amount,debit,credit\n", [
        (1, "Use either an amount column or debit and credit columns, not both."),
    ]),
    (b"date;entry_ref;entity;account;amount\n2026-03-05;R1;US;6100;10\n", [
        (1, "The header is a single column: the file seems to be separated by semicolons, tabs or bars. "
            "Save it as CSV with commas (“CSV UTF-8” in Excel) and import it again."),
    ]),
    (b"PK\x03\x04 not really a workbook", [
        (None, "The XLSX file cannot be read (BadZipFile): save it again from the spreadsheet, or as CSV UTF-8."),
    ]),
])
def test_file_level_problems_are_explained(books, data, expected):
    result = run(books, data)

    assert problems(result) == expected
    assert ledger_state(books.org) == (0, 0, 0)


# --- twice the same -------------------------------------------------------------------------------

def test_importing_the_same_file_twice_changes_nothing_and_says_so(books):
    data = csv_file(*GOOD)
    first = run(books, data)
    second = run(books, data, filename="renamed.csv")

    assert (second.created, second.skipped, second.duplicate_of) == (0, 0, first.job)
    assert second.summary().startswith("This file was already imported on ")
    assert second.summary().endswith(f"(import #{first.job.pk}, actuals.csv): nothing changed.")
    assert ledger_state(books.org)[:2] == (2, 5)


def test_entries_already_imported_are_skipped_and_counted(books):
    run(books, csv_file(*GOOD))
    overlapping = csv_file(*GOOD[2:], "2026-03-25,INV-3,US,6100,OPS,50,,", "2026-03-25,INV-3,US,2000,,-50,,")

    result = run(books, overlapping)

    assert (result.created, result.skipped, result.errors) == (1, 1, [])
    assert result.summary() == "5 rows: 1 entry created, 1 already imported (skipped)."
    assert ledger_state(books.org)[:2] == (3, 7)
    assert balances(books.org)[("US", "2000", None)] == Decimal("-1650.0000")


def test_the_same_entry_ref_in_two_tenants_is_two_entries(books, other_books):
    run(books, csv_file(*GOOD))
    result = run(other_books, csv_file(*GOOD))

    assert result.created == 2
    assert ledger_state(other_books.org)[:2] == (2, 5)


@pytest.mark.parametrize("write_mode", [CHECKED_THEN_WRITTEN], indirect=True)
def test_progress_is_reported_while_checking_and_writing(books, monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 2)
    seen = []

    run_result = gl_import(tenant=books.org, actor=None, data=csv_file(*GOOD), filename="a.csv",
                           progress=lambda done, total, phase: seen.append((done, total, phase)))

    assert run_result.created == 2
    assert seen == [(2, 5, "check"), (4, 5, "check"), (5, 5, "check"), (2, 5, "write"), (5, 5, "write"),
                    (5, 5, "post")]


@pytest.mark.parametrize("write_mode", [WRITTEN_WHILE_CHECKED], indirect=True)
def test_a_file_written_while_it_is_checked_reports_checking_then_posting(books, monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 2)
    seen = []

    run_result = gl_import(tenant=books.org, actor=None, data=csv_file(*GOOD), filename="a.csv",
                           progress=lambda done, total, phase: seen.append((done, total, phase)))

    assert run_result.created == 2
    # The lines are written as they are checked: no separate writing phase to show.
    assert seen == [(2, 5, "check"), (4, 5, "check"), (5, 5, "check"), (5, 5, "post")]


@pytest.mark.parametrize("write_mode", [WRITTEN_WHILE_CHECKED], indirect=True)
def test_a_failure_while_the_file_is_written_stops_the_check_and_writes_nothing(books, monkeypatch):
    from finops.ledger import writer

    copy_text, calls = writer.copy_text, []

    def broken_after_the_first_block(table, columns, blocks):
        calls.append(table)
        if len(calls) > 2:
            raise OSError("disk on fire")
        copy_text(table, columns, blocks)

    monkeypatch.setattr(writer, "copy_text", broken_after_the_first_block)
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=csv_file(*GOOD), enqueue=False)

    assert gl_import_run(books.org.pk, job.pk) == "failed"
    assert calls == ["gl_import_line", "gl_import_entry_new", "gl_import_line"]
    assert ledger_state(books.org) == (0, 0, 0)


# --- jobs, the command, the page -----------------------------------------------------------------------

def test_a_job_runs_once_even_if_its_task_is_delivered_twice(books, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        job = import_job_create(tenant=books.org, actor=users["finance"], filename="a.csv", data=csv_file(*GOOD))
    assert len(callbacks) == 1

    assert gl_import_run(books.org.pk, job.pk) == "succeeded"
    assert gl_import_run(books.org.pk, job.pk) == "succeeded"
    assert ledger_state(books.org)[:2] == (2, 5)
    assert job_progress_get(job_id=job.pk)["phase"] == "post"
    with tenant_context(books.org):
        assert AuditEvent.objects.filter(action="journal.import").count() == 1


def test_an_unexpected_failure_fails_the_job_readably_and_writes_nothing(books, monkeypatch):
    from finops.ledger import writer

    def broken(rows):
        raise OSError("disk on fire")

    monkeypatch.setattr(writer, "copy_lines", broken)
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=csv_file(*GOOD), enqueue=False)

    assert gl_import_run(books.org.pk, job.pk) == "failed"
    with tenant_context(books.org):
        job = Job.objects.get(pk=job.pk)
    assert job.message == ("The import stopped on an unexpected error (OSError); nothing was written. "
                           "Try again; if it fails again, tell your administrator.")
    assert ledger_state(books.org) == (0, 0, 0)


def test_uploading_a_file_already_imported_makes_a_duplicate_job_at_once(books, django_capture_on_commit_callbacks):
    data = csv_file(*GOOD)
    first = run(books, data)
    with django_capture_on_commit_callbacks() as callbacks:
        job = import_job_create(tenant=books.org, actor=None, filename="again.csv", data=data)

    assert callbacks == []
    assert (job.status, job.duplicate_of_id) == (JobStatus.DUPLICATE, first.job.pk)


def write(tmp_path, data: bytes, name: str = "actuals.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_command_prints_a_summary_line(books, tmp_path):
    out = io.StringIO()
    call_command("import_actuals", write(tmp_path, csv_file(*GOOD)), "--org", "acme", stdout=out)

    assert out.getvalue() == "actuals.csv: 5 rows: 2 entries created, 0 already imported (skipped).\n"
    assert ledger_state(books.org)[:2] == (2, 5)


def test_the_command_refuses_a_bad_file_with_exit_code_1_and_the_rows_on_stderr(books, tmp_path):
    err = io.StringIO()
    data = csv_file(*GOOD[:2], "2026-03-05,R1,US,9999,,10,,", "2026-03-05,R1,US,2000,,-10,XYZ,")

    with pytest.raises(CommandError) as refused:
        call_command("import_actuals", write(tmp_path, data), "--org", "acme", stderr=err)

    assert refused.value.returncode == 1
    assert str(refused.value) == "actuals.csv: 2 problems found: nothing was imported."
    assert err.getvalue() == "line 4: Unknown account “9999”.\nline 5: Unknown currency “XYZ”.\n"
    assert ledger_state(books.org) == (0, 0, 0)


def test_the_command_says_when_the_file_was_imported_already(books, tmp_path):
    path = write(tmp_path, csv_file(*GOOD))
    call_command("import_actuals", path, "--org", "acme", stdout=io.StringIO())
    out = io.StringIO()

    call_command("import_actuals", path, "--org", "acme", stdout=out)

    assert "was already imported on" in out.getvalue()
    assert out.getvalue().endswith("nothing changed.\n")
    assert ledger_state(books.org)[:2] == (2, 5)


def test_the_command_names_an_unknown_organisation(db, tmp_path):
    with pytest.raises(CommandError, match="No organisation with slug 'nope'."):
        call_command("import_actuals", write(tmp_path, b"x"), "--org", "nope")


def login(client, role: str, org: str = "acme"):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email=f"{role}@{org}.test"))
    return client


def url(name: str, org: str = "acme", **kwargs) -> str:
    return reverse(f"ledger:{name}", kwargs={"org_slug": org, **kwargs})


def test_an_upload_runs_in_a_worker_and_the_page_lists_every_bad_row(books, client, django_capture_on_commit_callbacks):
    login(client, "finance")
    data = csv_file(*GOOD, "2026-03-05,R1,US,9999,,10,,", "2026-03-05,R1,US,2000,,-10,,")

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url("import_list"), {"file": SimpleUploadedFile("actuals.csv", data)})
    with tenant_context(books.org):
        job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == url("import_detail", pk=job.pk)
    assert len(callbacks) == 1

    queued = client.get(url("import_detail", pk=job.pk), headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in queued.content.decode()
    assert "Waiting for a worker" in queued.content.decode()

    gl_import_run(books.org.pk, job.pk)  # what the worker does with the enqueued task

    page = client.get(url("import_detail", pk=job.pk)).content.decode()
    assert "every 1s" not in page
    assert "1 problem found: nothing was imported." in page
    assert "<td class=\"num\">7</td><td>Unknown account “9999”.</td>" in page
    assert ledger_state(books.org)[:2] == (0, 0)


def test_the_progress_partial_shows_the_phase_while_running(books, client):
    login(client, "viewer")
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=csv_file(*GOOD), enqueue=False)
    with tenant_context(books.org):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job_progress_reporter(job.pk)(5000, 20000, "check")

    partial = client.get(url("import_detail", pk=job.pk), headers={"HX-Request": "true"}).content.decode()

    assert partial.lstrip().startswith('<section id="import-status"')
    assert "Checking rows: 5,000 of 20,000" in partial
    assert 'value="25"' in partial


@pytest.fixture
def redis_down(settings):
    """The cache points at a loopback port nobody listens on: Redis is down."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}}


def test_with_redis_down_the_page_of_a_running_import_shows_its_state_from_the_database(books, client, redis_down):
    login(client, "viewer")
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=csv_file(*GOOD), enqueue=False)
    with tenant_context(books.org):
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, started_at=datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
            heartbeat_at=datetime(2026, 3, 5, 9, 41, 12, tzinfo=UTC))

    page = client.get(url("import_detail", pk=job.pk))
    partial = client.get(url("import_detail", pk=job.pk), headers={"HX-Request": "true"})

    assert (page.status_code, partial.status_code) == (200, 200)
    text = partial.content.decode()
    assert 'import-running">Running</span>' in text and 'hx-trigger="every 1s"' in text
    assert "Running since 2026-03-05 09:30; the worker last reported at 09:41:12." in text
    assert "Live progress is not available right now" in text


def test_with_redis_down_an_import_still_runs_without_progress(books, redis_down):
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", data=csv_file(*GOOD), enqueue=False)

    job = importers.import_job_run(tenant=books.org, job_id=job.pk)

    assert (job.status, job.result["entries_created"]) == (JobStatus.SUCCEEDED, 2)
    assert job_progress_get(job_id=job.pk) == {"unavailable": True}


def test_a_viewer_sees_the_imports_but_cannot_upload(books, client):
    login(client, "viewer")
    run(books, csv_file(*GOOD))

    page = client.get(url("import_list"))
    refused = client.post(url("import_list"), {"file": SimpleUploadedFile("a.csv", csv_file(*GOOD))})

    assert page.status_code == 200
    assert "actuals.csv" in page.content.decode() and 'type="file"' not in page.content.decode()
    assert refused.status_code == 403


def test_an_upload_without_a_file_says_so(books, client):
    login(client, "finance")

    response = client.post(url("import_list"), {})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_another_organisations_import_is_not_found(books, other_books, client):
    foreign = gl_import(tenant=other_books.org, actor=None, data=csv_file(*GOOD), filename="g.csv").job
    login(client, "admin")

    assert client.get(url("import_detail", pk=foreign.pk)).status_code == 404
    assert client.get(url("import_errors", pk=foreign.pk)).status_code == 404
    assert client.get(url("import_detail", pk=foreign.pk + 1000)).status_code == 404


def test_the_template_download_imports_as_it_is(books, client):
    login(client, "viewer")

    response = client.get(url("import_template"))
    body = response.content

    assert response["Content-Disposition"] == 'attachment; filename="gl-import-template.csv"'
    assert body.startswith(b"\xef\xbb\xbfdate,entry_ref,entity,account,cost_center,amount,currency,memo\r\n")
    assert run(books, body).created == 1


def test_the_problems_of_a_failed_job_download_as_csv(books, client):
    login(client, "viewer")
    job = import_job_create(tenant=books.org, actor=None, filename="a.csv", enqueue=False,
                            data=csv_file("2026-03-05,R1,US,6100,,=1+1,,", "2026-03-05,R1,US,2000,,-1,,"))
    gl_import_run(books.org.pk, job.pk)

    response = client.get(url("import_errors", pk=job.pk))

    assert response.content.decode("utf-8-sig") == (
        'line,problem\r\n2,"amount “=1+1” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."\r\n'
    )
