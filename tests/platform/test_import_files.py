"""Files that must not exhaust memory or lose rows (finops/imports.py, finops/xlsx.py).

Each file is built here, part by part (tests/xlsx_files.py): a sheet whose `<dimension>` lies, zip
bombs (declared and real), DTDs with external or exponential entities, NUL bytes, malformed XML.
Each is imported through the GL importer (and the budget and chart importers where they read the
same way): the problem is named with its part and row, and nothing is written."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest

from budgets.importers import budget_import
from budgets.models import Budget, BudgetLine
from finops.jobs.models import Job
from finops.ledger.chart_import import chart_import
from finops.ledger.importers import gl_import
from finops.ledger.models import Account, JournalEntry, JournalLine, Period, PeriodBalance
from finops.tenancy.context import tenant_context
from tests.xlsx_files import SHEET, STRINGS, declare_size, sheet_rows, sheet_xml, strings_xml, xlsx

HEADER = ["date", "entry_ref", "entity", "account", "cost_center", "amount", "currency", "memo"]
SAVE = "Save it again from the spreadsheet, or as CSV UTF-8."
WHERE = "The XLSX sheet “Actuals” (xl/worksheets/sheet1.xml)"
DTD = ("declares a DTD (<!DOCTYPE …>), which a spreadsheet never has: its entities could read the server's "
       "files or expand without end (XXE, “billion laughs”), so the file is refused. " + SAVE)


def entries(count: int) -> list[list[str]]:
    """`count` balanced entries of two lines each: rent n.00 against payables."""
    rows = []
    for n in range(1, count + 1):
        rows.append(["2026-03-05", f"INV-{n}", "US", "6100", "OPS", f"{n}.00", "", "rent"])
        rows.append(["2026-03-05", f"INV-{n}", "US", "2000", "", f"-{n}.00", "", "rent"])
    return rows


def run(books, data: bytes, filename: str = "actuals.xlsx"):
    return gl_import(tenant=books.org, actor=None, data=data, filename=filename)


def problems(result) -> list[tuple[int | None, str]]:
    return [(e.line, e.message) for e in result.errors]


def nothing_written(org) -> bool:
    with tenant_context(org):
        return (JournalEntry.objects.count(), JournalLine.objects.count(), Period.objects.count(),
                Job.objects.count(), Budget.objects.count(), BudgetLine.objects.count()) == (0, 0, 0, 0, 0, 0)


def part(data: bytes, name: str) -> zipfile.ZipInfo:
    return zipfile.ZipFile(io.BytesIO(data)).getinfo(name)


# --- every row that is there -------------------------------------------------------------------------

def test_a_sheet_whose_dimension_says_it_ends_at_row_3_is_read_to_its_last_row(books):
    data = xlsx(sheet_xml([HEADER, *entries(5)], dimension="A1:H3"))

    result = run(books, data)

    assert problems(result) == []
    assert result.summary() == "10 rows: 5 entries created, 0 already imported (skipped)."
    with tenant_context(books.org):
        assert PeriodBalance.objects.get(account__code="6100").amount == Decimal("15.0000")  # 1 + 2 + … + 5


def test_the_budget_importer_reads_past_a_lying_dimension_too(books):
    rows = [["entity", "account", "cost_center", "period", "amount"],
            *[["US", "6100", "OPS", f"2026-{m:02d}", f"{m}00"] for m in range(1, 7)]]
    data = xlsx(sheet_xml(rows, dimension="A1:E2", shared=(shared := [])), strings=strings_xml(shared))

    result = budget_import(tenant=books.org, actor=None, data=data, filename="plan.xlsx", budget_name="Plan 2026")

    assert result.errors == []
    assert result.summary() == "6 rows into Plan 2026 v1 (new budget): 6 cells created, 0 changed, 0 unchanged."


# --- zip bombs: refused from the zip's directory, before anything is unzipped ------------------------

def test_a_part_that_declares_a_gigabyte_is_refused_from_the_declaration_alone(books):
    # The bytes are a small, valid sheet: had the reader unzipped it, the import would have succeeded.
    data = declare_size(xlsx(sheet_xml([HEADER, *entries(1)])), SHEET, 1_000_000_000)
    compressed = part(data, SHEET).compress_size

    result = run(books, data)

    assert problems(result) == [(None, (
        f"The XLSX part xl/worksheets/sheet1.xml would unzip to 1,000.0 MB from {compressed:,} bytes, "
        f"{1_000_000_000 / compressed:,.0f} times its size: a spreadsheet unzips to at most 100 times its size, "
        "so the file is refused as a zip bomb."))]
    assert nothing_written(books.org)


def test_a_real_zip_bomb_is_refused_by_its_compression_ratio(books):
    # 20 MB of blanks between two rows is well-formed XML that deflates a thousandfold.
    body = sheet_rows([HEADER, *entries(1)])
    data = xlsx(sheet_xml(body.replace("</row>", "</row>" + " " * 20_000_000, 1)))
    info = part(data, SHEET)

    result = run(books, data)

    assert info.file_size > 1000 * info.compress_size
    assert problems(result) == [(None, (
        f"The XLSX part xl/worksheets/sheet1.xml would unzip to {info.file_size / 1e6:,.1f} MB from "
        f"{info.compress_size:,} bytes, {info.file_size / info.compress_size:,.0f} times its size: a spreadsheet "
        "unzips to at most 100 times its size, so the file is refused as a zip bomb."))]
    assert nothing_written(books.org)


def test_the_total_unzipped_size_is_capped_by_a_setting(books, settings):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 20_000
    data = xlsx(sheet_xml([HEADER, *entries(40)]))
    total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())

    result = run(books, data)

    assert total > 20_000
    assert problems(result) == [(None, f"The XLSX file would unzip to {total:,} bytes; the limit is 20,000 bytes. "
                                       "Split it into several files, or save it as CSV UTF-8.")]
    assert nothing_written(books.org)

    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = total
    assert run(books, data).summary() == "80 rows: 40 entries created, 0 already imported (skipped)."


def test_a_part_read_whole_is_capped_at_the_upload_limit(books, settings):
    settings.IMPORT_MAX_BYTES = 5_000
    shared = [f"memo {n}" for n in range(400)]
    data = xlsx(sheet_xml([HEADER, *entries(1)]), strings=strings_xml(shared))
    size = part(data, STRINGS).file_size

    result = run(books, data)

    assert problems(result) == [(None, (
        f"The XLSX part xl/sharedStrings.xml would unzip to {size:,} bytes; a part that is read whole (all but "
        f"the sheets) may take at most 5,000 bytes. {SAVE}"))]
    assert nothing_written(books.org)


def test_a_zip_of_ten_thousand_parts_is_refused(books):
    data = xlsx(sheet_xml([HEADER, *entries(1)]), extra={f"xl/media/image{n}.bin": b"" for n in range(10_001)})

    result = run(books, data)

    assert problems(result) == [(None, "The XLSX file holds 10,006 parts; a spreadsheet holds a few dozen, and at "
                                       f"most 10,000 are read. {SAVE}")]
    assert nothing_written(books.org)


def test_a_part_compressed_otherwise_than_with_deflate_is_refused(books):
    data = xlsx(sheet_xml([HEADER, *entries(1)]), compression=zipfile.ZIP_BZIP2)

    result = run(books, data)

    assert problems(result) == [(None, "The XLSX part xl/worksheets/sheet1.xml is compressed with bzip2; "
                                       f"spreadsheets use Deflate. {SAVE}")]
    assert nothing_written(books.org)


def test_a_row_too_large_to_build_at_once_is_refused_with_its_number(books, settings):
    settings.IMPORT_XLSX_MAX_RATIO = 1_000_000  # the row's blanks would otherwise be refused as a bomb
    rows = sheet_rows([HEADER, *entries(2)])
    third = rows.index('<row r="3">')
    data = xlsx(sheet_xml(rows[:third] + '<row r="3">' + " " * 5_000_000 + rows[third + len('<row r="3">'):]))

    result = run(books, data)

    assert problems(result) == [(3, f"{WHERE} row 3 takes more than 4.0 MB of XML, more than any row of a "
                                    f"spreadsheet needs, so the file is refused. {SAVE}")]
    assert nothing_written(books.org)


def test_a_row_number_past_a_spreadsheets_last_row_is_refused(books):
    # openpyxl would yield an empty row for every number in between.
    rows = sheet_rows([HEADER, *entries(1)]).replace('<row r="3">', '<row r="1048577">')

    result = run(books, xlsx(sheet_xml(rows)))

    assert problems(result) == [(None, f"{WHERE} has a row 1,048,577; a spreadsheet has at most 1,048,576 rows. "
                                       f"{SAVE}")]
    assert nothing_written(books.org)


# --- XML that must not be parsed: named with its part and, where known, its row --------------------------

def test_an_external_entity_in_the_sheet_is_refused_as_a_dtd(books):
    xxe = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    rows = sheet_rows([HEADER, *entries(1)]).replace(">rent<", ">&xxe;<", 1)

    result = run(books, xlsx(sheet_xml(rows, prolog=xxe)))

    assert problems(result) == [(None, f"{WHERE} {DTD}")]
    assert nothing_written(books.org)


def test_a_billion_laughs_in_the_shared_strings_is_refused_naming_the_part(books):
    laughs = ('<!DOCTYPE sst [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
              + "]>\n")
    shared = []
    sheet = sheet_xml([HEADER, *entries(1)], shared=shared)
    strings = strings_xml(shared, prolog=laughs, body="".join(
        "<si><t>&lol9;</t></si>" if s == "rent" else f"<si><t>{s}</t></si>" for s in shared))

    result = run(books, xlsx(sheet, strings=strings))

    assert problems(result) == [(None, f"The XLSX part xl/sharedStrings.xml {DTD}")]
    assert nothing_written(books.org)


def test_a_nul_byte_in_a_cell_is_refused_naming_its_row(books):
    rows = [HEADER, *entries(2)]
    rows[2][7] = "rent\x00"  # row 3

    result = run(books, xlsx(sheet_xml(rows)))

    assert problems(result) == [(3, f"{WHERE} has a NUL byte in row 3, which is not text. {SAVE}")]
    assert nothing_written(books.org)


def test_a_nul_written_as_a_character_reference_is_malformed_xml_in_its_row(books):
    body = sheet_rows([HEADER, *entries(2)])
    fifth = body.index('<row r="5">')
    body = body[:fifth] + body[fifth:].replace(">rent<", ">rent&#0;<", 1)
    sheet = sheet_xml(body)
    line = sheet.split(b"\n")[1]
    column = line.index(b"&#0;") + 1

    result = run(books, xlsx(sheet))

    assert problems(result) == [(5, f"{WHERE} is not well-formed XML in row 5: reference to invalid character "
                                    f"number (XML line 2, column {column}). {SAVE}")]
    assert nothing_written(books.org)


def test_a_mismatched_tag_is_named_with_its_row(books):
    body = sheet_rows([HEADER, *entries(2)])
    fourth = body.index('<row r="4">')
    body = body[:fourth] + body[fourth:].replace("</t></is>", "</is>", 1)
    sheet = sheet_xml(body)
    line = sheet.split(b"\n")[1]
    column = line.index(b"</is>", line.index(b'<row r="4">')) + 3  # expat points past "</"

    result = run(books, xlsx(sheet))

    assert problems(result) == [(4, f"{WHERE} is not well-formed XML in row 4: mismatched tag "
                                    f"(XML line 2, column {column}). {SAVE}")]
    assert nothing_written(books.org)


# --- NUL bytes in CSV: PostgreSQL refuses them in text, so the reader does, with the line -----------------

def test_a_nul_byte_in_a_gl_csv_is_refused_with_its_line(books):
    data = ("\n".join([",".join(HEADER), *(",".join(r) for r in entries(2))]) + "\n").encode()
    data = data.replace(b"rent\n2026", b"rent\x00\n2026", 2)  # lines 2 and 3 (the first NUL is named)

    result = run(books, data, filename="actuals.csv")

    assert problems(result) == [(2, "The file has a NUL byte (0x00) on line 2, which is not text: save it as "
                                    "“CSV UTF-8” and import it again.")]
    assert nothing_written(books.org)


def test_a_nul_byte_in_a_budget_csv_is_refused_with_its_line(books):
    data = b"entity,account,cost_center,period,amount\nUS,6100,OPS,2026-01,100\nUS,6100,OPS,2026-02,1\x0000\n"

    result = budget_import(tenant=books.org, actor=None, data=data, filename="plan.csv", budget_name="Plan 2026")

    assert [(e.line, e.message) for e in result.errors] == [(3, (
        "The file has a NUL byte (0x00) on line 3, which is not text: save it as “CSV UTF-8” and import it again."))]
    assert nothing_written(books.org)


def test_a_nul_byte_in_a_chart_csv_is_refused_with_its_line(books):
    data = b"kind,code,name,type\naccount,7000,Travel,expense\naccount,7100,Hotels\x00,expense\n"

    result = chart_import(tenant=books.org, actor=None, data=data)

    assert [(e.line, e.message) for e in result.errors] == [(3, (
        "The file has a NUL byte (0x00) on line 3, which is not text: save it as “CSV UTF-8” and import it again."))]
    with tenant_context(books.org):
        assert not Account.objects.filter(code__in=["7000", "7100"]).exists()


@pytest.mark.parametrize("name", ["actuals.xlsx", "actuals.csv"])
def test_a_good_file_still_imports(books, name):
    """The checks above refuse nothing a spreadsheet writes: the same rows as XLSX (shared strings)
    and as CSV."""
    rows = [HEADER, *entries(3)]
    if name.endswith(".xlsx"):
        data = xlsx(sheet_xml(rows, shared=(shared := [])), strings=strings_xml(shared))
    else:
        data = ("\n".join(",".join(r) for r in rows) + "\n").encode()

    assert run(books, data, filename=name).summary() == "6 rows: 3 entries created, 0 already imported (skipped)."
