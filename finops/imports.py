"""What every file import shares (DESIGN §4 "Imports"), in the order a file goes through it:
detect the format and read its rows, each with its line number (`file_rows`: CSV or XLSX); read
the header once (`header_read`: names in any case and spacing, unknown columns ignored, a
column named twice or a file separated by semicolons refused); then each importer validates every
row, collects every `RowError`, and writes nothing unless there are none. How a problem is named
(`RowError`, `FileProblem`) and how an amount is read (`parse_amount`) are here too."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from finops import bounds

# 1234.56  -1234.56  1,234.56  (1,234.56); thousands separators only in groups of three.
_NUMBER = re.compile(r"(-)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_PAREN_NUMBER = re.compile(r"\((\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\)")
NUMBER_HINT = "is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)"


@dataclass(frozen=True)
class RowError:
    line: int | None  # the file's line number (header = 1); None for the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class FileProblem(Exception):
    """The file as a whole cannot be read; carries the one `RowError` to show."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.error = RowError(line, message)


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is fine) without NUL, or a FileProblem naming the line of the first bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"The file is not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x}): "
            "save it as “CSV UTF-8” and import it again.", line) from None
    nul = data.find(b"\x00")  # UTF-8 has no other NUL byte than the character, which PostgreSQL refuses in text
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise FileProblem(f"The file has a NUL byte (0x00) on line {line}, which is not text: save it as "
                          "“CSV UTF-8” and import it again.", line)
    if not text.strip():
        raise FileProblem("The file is empty.")
    return text


# --- reading rows: CSV or XLSX, each row with its line number ---------------------------------

def file_rows(data: bytes, filename: str) -> tuple[Iterator[tuple[int, list[str]]], int]:
    """(line number, cells) of every row of a CSV or XLSX file, and how many rows it has."""
    return xlsx_rows(data) if is_xlsx(data, filename) else csv_rows(data)


_HEADER_JUNK = re.compile(r"[\s_\-]+")


def header_read(row: list[str], *, known: Sequence[str], required: Sequence[str] = (), hint: str = "") -> dict[str, int]:
    """{canonical column: position} of a header row (line 1). Names are compared without case,
    spaces, underscores and hyphens ("Cost center" is `cost_center`); unknown columns are
    ignored. A FileProblem for a column named twice, for a header that is one column holding
    semicolons, tabs or bars (a file not separated by commas), and for missing `required` columns
    (`hint` says what the header must name)."""
    names = {_HEADER_JUNK.sub("", c.lower()): c for c in known}  # "BilledCost" or "billed_cost"
    positions: dict[str, int] = {}
    for index, name in enumerate(row):
        canonical = names.get(_HEADER_JUNK.sub("", str(name).strip().lower()))
        if canonical is None:
            continue
        if canonical in positions:
            raise FileProblem(f"The column “{canonical}” appears twice in the header.", 1)
        positions[canonical] = index
    if len(row) == 1 and any(sep in str(row[0]) for sep in ";\t|"):
        raise FileProblem("The header is a single column: the file seems to be separated by semicolons, tabs or "
                          "bars. Save it as CSV with commas (“CSV UTF-8” in Excel) and import it again.", 1)
    missing = [c for c in required if c not in positions]
    if missing:
        raise FileProblem(f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. {hint}"
                          .rstrip(), 1)
    return positions


def is_xlsx(data: bytes, filename: str) -> bool:
    return data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm"))


def csv_rows(data: bytes) -> tuple[Iterator[tuple[int, list[str]]], int]:
    text = decode_text(data)
    total = text.count("\n") + (not text.endswith("\n"))
    del text  # read again as a stream: a StringIO copy of a large file would take 4 bytes a character
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""), strict=False)

    def rows():
        last = 0
        try:
            for row in reader:
                yield last + 1, row
                last = reader.line_num
        except csv.Error as exc:
            raise FileProblem(f"The CSV cannot be read after line {last}: {exc}.", last + 1) from None

    return rows(), total


def xlsx_cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # A float cell shows at most 15 significant digits in a spreadsheet: read it as shown.
        text = f"{value:.15g}"
        return text if "e" not in text else repr(value)
    return str(value)


def xlsx_rows(data: bytes) -> tuple[Iterator[tuple[int, list[str]]], int]:
    """The first sheet's rows, each with its row number, and how many rows it has; the file's
    zip and XML are checked first, without trusting them (see `finops.xlsx`)."""
    from finops.xlsx import xlsx_rows as read

    return read(data)


# --- amounts -----------------------------------------------------------------------------------

def parse_amount(text: str, places: int | None) -> Decimal | str | None:
    """Decimal, or the reason it is not one (a str), or None when it has more than `places`
    decimals (None: any number of decimals). The one reading of a typed or imported amount:
    digits only (no exponent), at most `bounds.AMOUNT_LIMIT_DIGITS` before the point (`finops.bounds`)."""
    match = _NUMBER.fullmatch(text)
    if match is not None:
        negative, whole, fraction = match.groups()
    else:
        match = _PAREN_NUMBER.fullmatch(text)
        if match is None:
            return NUMBER_HINT
        negative, (whole, fraction) = "-", match.groups()
    whole = whole.replace(",", "")
    if len(whole.lstrip("0")) > bounds.AMOUNT_LIMIT_DIGITS:
        return bounds.TOO_LARGE
    if places is not None and fraction and len(fraction) > places and fraction[places:].strip("0"):
        return None  # too many decimals: the caller names the currency
    number = f"{negative or ''}{whole}.{fraction}" if fraction else f"{negative or ''}{whole}"
    return Decimal(number)


_EXPORT_SYMBOL = re.compile(r"^(\(?-?)[$€£¥]")  # a symbol after an opening sign: "$5", "-$5", "($5)"
_EXPONENT = re.compile(r"-?\d+(?:\.\d+)?[eE][-+]?\d+")


def parse_export_amount(text: str, places: int | None) -> Decimal | str | None:
    """`parse_amount` of a cell as billing exports and spreadsheets write it: spaces around it,
    a currency symbol before the digits ("$10,000.00 ", "-$5.00", "($5.00)"), or an exponent
    ("1.5E-07", as exports written from floating point do). The value is read exactly, and then
    checked like any other amount (digits before the point, `places`)."""
    text = _EXPORT_SYMBOL.sub(r"\1", text.strip(), count=1)
    if _EXPONENT.fullmatch(text):
        value = Decimal(text)
        if value and value.adjusted() >= bounds.AMOUNT_LIMIT_DIGITS:
            return bounds.TOO_LARGE
        if value and places is not None and value.adjusted() < -places:
            return None  # not even its first digit fits the places: too many decimals
        text = f"{value:f}"
    return parse_amount(text, places)


def parse_typed_amount(text: str, places: int | None = None) -> Decimal | str | None:
    """`parse_amount` of what was typed into a form: spaces (also no-break ones) between digit
    groups are ignored ("1 200.00")."""
    return parse_amount(_TYPED_SPACES.sub("", text or ""), places)


_TYPED_SPACES = re.compile(r"[\s\u00a0]")


# --- the command line -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandInputs:
    tenant: object  # Organization
    actor: object | None  # a member of it, or None for "the operator"
    filename: str
    data: bytes


def command_inputs(*, org: str, file: str, user: str = "") -> CommandInputs:
    """What every import command resolves first: the organisation by slug, the acting member by
    e-mail (optional), and the file's bytes — or a CommandError saying which one is wrong."""
    from pathlib import Path

    from django.core.management.base import CommandError

    from finops.tenancy.models import Organization
    from finops.tenancy.selectors import member_user_by_email

    tenant = Organization.objects.filter(slug=org).first()
    if tenant is None:
        raise CommandError(f"No organisation with slug {org!r}.")
    actor = None
    if user:
        actor = member_user_by_email(tenant=tenant, email=user)
        if actor is None:
            raise CommandError(f"{user} is not a member of {tenant.name}.")
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    return CommandInputs(tenant, actor, path.name, data)
