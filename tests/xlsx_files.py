"""XLSX files built by hand, part by part, for the tests of what a reader must not trust: a
lying `<dimension>`, a DTD, a NUL byte, a zip bomb. Cells are inline strings, as some writers
(and openpyxl's write-only mode) make them; `shared` puts them in xl/sharedStrings.xml instead."""

from __future__ import annotations

import io
import struct
import zipfile
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '{strings}</Types>'
)
STRINGS_TYPE = ('<Override PartName="/xl/sharedStrings.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
ROOT_RELS = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG_REL}">'
             f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="Actuals" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG_REL}">'
                 f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                 f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                 '</Relationships>')


def column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_rows(rows: list[list[str]], *, shared: list[str] | None = None) -> str:
    """`<row>` elements for `rows`; with `shared`, cells refer to it (appending new strings)."""
    out = []
    for r, values in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values, start=1):
            ref = f"{column(c)}{r}"
            if value == "":
                continue
            if shared is not None:
                if value not in shared:
                    shared.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{shared.index(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out)


def sheet_xml(rows: list[list[str]] | str, *, dimension: str | None = None, prolog: str = "",
              shared: list[str] | None = None) -> bytes:
    body = rows if isinstance(rows, str) else sheet_rows(rows, shared=shared)
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<worksheet xmlns="{MAIN}">{dim}'
            f'<sheetData>{body}</sheetData></worksheet>').encode()


def strings_xml(strings: list[str], *, prolog: str = "", body: str | None = None) -> bytes:
    items = body if body is not None else "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<sst xmlns="{MAIN}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{items}</sst>').encode()


def xlsx(sheet: bytes, *, strings: bytes | None = None, extra: dict[str, bytes] | None = None,
         compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A workbook whose only sheet ("Actuals") is `sheet`; `compression` applies to the sheet."""
    types = CONTENT_TYPES.format(strings=STRINGS_TYPE if strings is not None else "")
    parts = {"[Content_Types].xml": types.encode(), "_rels/.rels": ROOT_RELS.encode(),
             "xl/workbook.xml": WORKBOOK.encode(), "xl/_rels/workbook.xml.rels": WORKBOOK_RELS.encode()}
    if strings is not None:
        parts[STRINGS] = strings
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
        archive.writestr(SHEET, sheet, compress_type=compression)
    return buffer.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The same zip, its central directory claiming that `name` unzips to `size` bytes (the
    bytes themselves unchanged: reading them would still give the small part)."""
    out = bytearray(data)
    start = 0
    encoded = name.encode()
    while (start := out.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", out, start + 28)[0]
        if bytes(out[start + 46:start + 46 + name_length]) == encoded:
            struct.pack_into("<I", out, start + 24, size)
            return bytes(out)
        start += 4
    raise AssertionError(f"{name} is not in the zip")
