"""Reading an XLSX file without trusting it (`xlsx_rows`, used through `finops.imports`).

An XLSX file is a zip of XML parts. What it can do to the process that reads it is checked
before openpyxl reads any of it:

- **How much it unzips to.** The zip's directory declares each part's uncompressed size, and
  Python's zipfile never inflates a part past its declaration (a part that lies fails its CRC),
  so the declarations bound what can come out, and are checked without unzipping anything: the
  total (`IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES`), each part's ratio to its compressed size
  (`IMPORT_XLSX_MAX_RATIO`: a real sheet unzips to 5–20 times its size, a zip bomb to about
  1,000), the parts that openpyxl reads whole (all but the sheets: at most `IMPORT_MAX_BYTES`
  each), the number of parts, and the method (Deflate only: bzip2 and LZMA inflate a whole block
  at once, whatever the reader asked for).
- **Its XML.** Every part is then read once with expat, in chunks, with no Python callback per
  element: a DTD is refused (entities are how XXE and "billion laughs" work, and spreadsheets
  never declare one), and so are NUL bytes and malformed XML, each named by its part and, in a
  sheet, by its row. openpyxl would use defusedxml if it were installed, but its pure-Python
  parser made reading 1.6 times slower here, and refuses nothing this check lets through.
- **What openpyxl builds at once.** In read-only mode it streams a sheet row by row but builds
  each row whole, so a row may take at most `MAX_ROW_XML_BYTES` of XML; and it yields an empty
  row for every number skipped, so row numbers stay within a spreadsheet's 1,048,576.

Then openpyxl reads the first sheet in read-only mode, ignoring its `<dimension>`: that element
is only the writer's claim about where the data ends (a sheet that says A1:H3 and holds ten rows
has ten rows), and openpyxl would stop reading there — or, for a sheet without one, build the
whole sheet in memory while looking for it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterator
from xml.parsers import expat

from django.conf import settings

from finops.imports import FileProblem, xlsx_cell_text

MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024  # the zip's central directory, read into objects by zipfile
MAX_ROWS = 1_048_576  # a spreadsheet's last row
MAX_ROW_XML_BYTES = 4_000_000  # 16,384 numbers take ~0.7 MB; real rows take a few kB
RATIO_FROM_BYTES = 1024 * 1024  # smaller parts are not judged by their ratio: they cannot hurt
CHUNK = 64 * 1024
SAVE_AGAIN = "Save it again from the spreadsheet, or as CSV UTF-8."
_METHODS = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
_WORKSHEET = re.compile(r"(?:^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)
# A row's start tag (any namespace prefix) and its number; found in the raw bytes, not by expat.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?row(?=[\s/>])([^>]*)>")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["']\s*(\d+)""")
_TAIL = 1024  # bytes of the previous chunk searched again, for a row tag cut in two


def limits() -> tuple[int, int]:
    """(total unzipped bytes, ratio) from the settings, read when a file is read."""
    return settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES, settings.IMPORT_XLSX_MAX_RATIO


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def _read_whole(name: str) -> bool:
    """openpyxl parses these parts whole (the sheets it streams; images and the like it skips)."""
    return _is_xml(name) and not _WORKSHEET.search(name)


# --- the zip, from its directory ---------------------------------------------------------------------

def _check_directory(data: bytes) -> None:
    """Refuse a central directory too large to read into objects, before zipfile reads it. A file
    whose end record cannot be found is left to zipfile, which says it is not a zip."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65_535))
    if end < 0 or end + 22 > len(data):
        return
    entries, size = struct.unpack_from("<HI", data, end + 10)
    if (entries == 0xFFFF or size == 0xFFFFFFFF) and end >= 20 and data[end - 20:end - 16] == b"PK\x06\x07":
        record = struct.unpack_from("<Q", data, end - 12)[0]  # the zip64 end record
        if data[record:record + 4] == b"PK\x06\x06" and record + 56 <= len(data):
            entries, size = struct.unpack_from("<QQ", data, record + 32)
    if entries > MAX_PARTS or size > MAX_DIRECTORY_BYTES:
        raise FileProblem(f"The XLSX file holds {entries:,} parts; a spreadsheet holds a few dozen, and at most "
                          f"{MAX_PARTS:,} are read. {SAVE_AGAIN}")


def _check_parts(infos: list[zipfile.ZipInfo]) -> None:
    max_total, max_ratio = limits()
    if len(infos) > MAX_PARTS:
        raise FileProblem(f"The XLSX file holds {len(infos):,} parts; a spreadsheet holds a few dozen, and at most "
                          f"{MAX_PARTS:,} are read. {SAVE_AGAIN}")
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise FileProblem(f"The XLSX part {info.filename} is compressed with {method}; spreadsheets use Deflate. "
                              f"{SAVE_AGAIN}")
        if info.file_size >= RATIO_FROM_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            raise FileProblem(
                f"The XLSX part {info.filename} would unzip to {_size(info.file_size)} from "
                f"{info.compress_size:,} bytes, {info.file_size / max(info.compress_size, 1):,.0f} times its size: "
                f"a spreadsheet unzips to at most {max_ratio:,} times its size, so the file is refused as a zip bomb.")
    for info in infos:
        if _read_whole(info.filename) and info.file_size > settings.IMPORT_MAX_BYTES:
            raise FileProblem(
                f"The XLSX part {info.filename} would unzip to {_size(info.file_size)}; a part that is read whole "
                f"(all but the sheets) may take at most {_size(settings.IMPORT_MAX_BYTES)}. {SAVE_AGAIN}")
    total = sum(info.file_size for info in infos)
    if total > max_total:
        raise FileProblem(f"The XLSX file would unzip to {_size(total)}; the limit is {_size(max_total)}. "
                          "Split it into several files, or save it as CSV UTF-8.")


# --- the XML, one pass of expat per part -----------------------------------------------------------------

class _Rows:
    """Where each row of a sheet starts in its XML, found with a regular expression over the bytes
    as they are read; refuses a row too large to build at once, or numbered past the last row."""

    def __init__(self, where: str):
        self.where = where
        self.start, self.number = 0, 0  # the last row's offset and number (0: no row yet)
        self.max_row = 0
        self.recent: list[tuple[int, int]] = []  # (offset, number) of the rows in the last two chunks
        self._before = 0  # the number of the last row before `recent`
        self._tail = b""
        self._previous_count = 0

    def feed(self, chunk: bytes, offset: int) -> None:
        base = offset - len(self._tail)
        found = []
        text = self._tail + chunk
        for match in _ROW_TAG.finditer(text):
            start = base + match.start()
            if self.number and start <= self.start:
                continue  # seen in the previous chunk
            number = _ROW_NUMBER.search(match[1])
            number = int(number[1]) if number else self.number + 1
            self._close_row(start)
            if number > MAX_ROWS:
                raise FileProblem(f"The XLSX {self.where} has a row {number:,}; a spreadsheet has at most "
                                  f"{MAX_ROWS:,} rows. {SAVE_AGAIN}")
            self.start, self.number = start, number
            self.max_row = max(self.max_row, number)
            found.append((start, number))
        self._close_row(offset + len(chunk))
        if self._previous_count:
            self._before = self.recent[self._previous_count - 1][1]
        self.recent = self.recent[self._previous_count:] + found
        self._previous_count = len(self.recent) - len(found)
        self._tail = text[-_TAIL:]

    def _close_row(self, offset: int) -> None:
        if offset - self.start > MAX_ROW_XML_BYTES:
            what = f"row {self.number:,}" if self.number else "the XML before the first row"
            raise FileProblem(f"The XLSX {self.where} {what} takes more than {_size(MAX_ROW_XML_BYTES)} of XML, "
                              f"more than any row of a spreadsheet needs, so the file is refused. {SAVE_AGAIN}",
                              self.number or None)

    def at(self, offset: int) -> int | None:
        """The number of the row that holds byte `offset` of the part (None before the first).
        Asked about the chunk just read, or the one before (expat may still hold its end)."""
        number = self._before
        for start, n in self.recent:
            if start > offset:
                break
            number = n
        return number or None


def _refuse_dtd(where: str):
    def refuse(*args) -> None:
        raise FileProblem(f"The XLSX {where} declares a DTD (<!DOCTYPE …>), which a spreadsheet never has: its "
                          "entities could read the server's files or expand without end (XXE, “billion laughs”), "
                          f"so the file is refused. {SAVE_AGAIN}")
    return refuse


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, rows: _Rows | None = None) -> None:
    """Read one XML part through expat, refusing a DTD, a NUL byte or malformed XML."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd(where)
    offset = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                if offset == 0 and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    raise FileProblem(f"The XLSX {where} is written in UTF-16; spreadsheets write UTF-8. {SAVE_AGAIN}")
                if rows is not None:
                    rows.feed(chunk, offset)
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    parser.Parse(chunk[:nul], False)  # an earlier problem is named first
                    row = rows.at(offset + nul) if rows is not None else None
                    in_row = f" in row {row:,}" if row else ""
                    raise FileProblem(f"The XLSX {where} has a NUL byte{in_row}, which is not text. {SAVE_AGAIN}", row)
                parser.Parse(chunk, False)
                offset += len(chunk)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        row = rows.at(parser.ErrorByteIndex) if rows is not None else None
        in_row = f" in row {row:,}" if row else ""
        raise FileProblem(f"The XLSX {where} is not well-formed XML{in_row}: {expat.ErrorString(exc.code)} "
                          f"(XML line {exc.lineno}, column {exc.offset + 1}). {SAVE_AGAIN}", row) from None


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """{part: sheet name} for the workbook's worksheets, in order; {} when the workbook's own
    parts cannot say (the read that follows then names the problem). Called once those parts
    have passed `_scan`, so parsing them is safe."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.reader.excel import _find_workbook_part
    from openpyxl.reader.workbook import WorkbookParser
    from openpyxl.xml.functions import fromstring

    try:
        package = Manifest.from_tree(fromstring(archive.read("[Content_Types].xml")))
        parser = WorkbookParser(archive, _find_workbook_part(package).PartName[1:], keep_links=False)
        parser.parse()
        return {rel.target: sheet.name for sheet, rel in parser.find_sheets() if "chartsheet" not in rel.Type}
    except Exception:  # noqa: BLE001 — a damaged workbook part: named by the read that follows
        return {}


def _check_xml(archive: zipfile.ZipFile) -> dict[str, _Rows]:
    """Scan every XML part; return the rows found in each sheet."""
    infos = [i for i in archive.infolist() if _is_xml(i.filename) and not i.is_dir()]
    for info in infos:
        if _read_whole(info.filename):
            _scan(archive, info, f"part {info.filename}")
    names = _sheet_names(archive)
    sheets: dict[str, _Rows] = {}
    for info in infos:
        if _WORKSHEET.search(info.filename) or info.filename in names:
            name = names.get(info.filename)
            rows = sheets[info.filename] = _Rows(f"sheet “{name}” ({info.filename})" if name
                                                 else f"sheet {info.filename}")
            _scan(archive, info, rows.where, rows)
    return sheets


# --- reading the rows ----------------------------------------------------------------------------------

def _open_workbook(data: bytes):
    """openpyxl's read-only reader, for the first worksheet only and without its dimension."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class StreamedSheet(ReadOnlyWorksheet):
        def _get_size(self):
            """The `<dimension>` is never read (see the module docstring)."""

    class FirstSheetReader(ExcelReader):
        # Mirrors ExcelReader.read_worksheets (openpyxl 3.1) for read-only mode, first sheet only.
        def read_worksheets(self):
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    self.wb._sheets.append(StreamedSheet(self.wb, sheet.name, rel.target, self.shared_strings))
                    self.first_sheet = rel.target
                    return

    reader = FirstSheetReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.first_sheet = None  # the first worksheet's part, once read_worksheets has found it
    reader.read()
    return reader.wb, reader.first_sheet


def xlsx_rows(data: bytes) -> tuple[Iterator[tuple[int, list[str]]], int]:
    """The first worksheet's rows as text, each with its row number, and the number of rows; or
    a FileProblem saying what is wrong with the file and where."""
    try:
        _check_directory(data)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_parts(archive.infolist())
            sheets = _check_xml(archive)
        # data_only: a formula cell gives the value the spreadsheet shows, as the user sees it.
        workbook, path = _open_workbook(data)
    except FileProblem:
        raise
    except Exception as exc:  # zipfile and openpyxl raise many kinds for a damaged file
        raise FileProblem(f"The XLSX file cannot be read ({exc.__class__.__name__}): "
                          "save it again from the spreadsheet, or as CSV UTF-8.") from None
    if path is None:
        workbook.close()
        raise FileProblem(f"The XLSX file has no worksheet. {SAVE_AGAIN}")
    sheet = workbook.worksheets[0]
    found = sheets.get(path)
    where = found.where if found else f"sheet {path}"

    def rows():
        number = 0
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):  # noqa: B007
                yield number, [xlsx_cell_text(v) for v in values]
        except Exception as exc:  # noqa: BLE001 — openpyxl on a cell it cannot read
            raise FileProblem(f"The XLSX {where} cannot be read in row {number + 1:,} ({exc.__class__.__name__}). "
                              f"{SAVE_AGAIN}", number + 1) from None
        finally:
            workbook.close()

    return rows(), found.max_row if found else 0
