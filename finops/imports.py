"""What every file import shares (DESIGN §4 "Imports"): how a problem is named, and reading
bytes as text. Each importer parses and validates its own columns, collects every `RowError`,
and writes nothing unless there are none."""

from __future__ import annotations

from dataclasses import dataclass


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
    """UTF-8 (a BOM is fine), or a FileProblem naming the line of the first bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"The file is not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x}): "
            "save it as “CSV UTF-8” and import it again.", line) from None
    if not text.strip():
        raise FileProblem("The file is empty.")
    return text
