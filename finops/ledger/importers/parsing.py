"""Checking a GL file without touching the database: `gl_parse` reads the rows (`rows.py`),
then checks the entries they form (`entries.py`), and returns the entries ready to write or
every problem with its line number, sorted by line."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from finops.imports import FileProblem, RowError, csv_rows, is_xlsx, xlsx_rows
from finops.jobs.progress import Progress

from .entries import GlEntry, PendingEntry, check_entries
from .reference import GlReference
from .rows import check_rows, header_columns


class LineSink(Protocol):
    """Where `check_rows` hands each good line (writing.py stages them while the file is read).
    `close()` may be called more than once."""

    def __call__(self, entry: PendingEntry) -> None: ...

    def close(self) -> None: ...


@dataclass
class GlParsed:
    entries: list[GlEntry]
    errors: list[RowError]
    rows: int


def gl_parse(data: bytes, filename: str, ref: GlReference, progress: Progress | None = None,
             sink: LineSink | None = None) -> GlParsed:
    """Check every row of the file; return the entries, or every problem with its line.

    A `sink` sees each good line as soon as it is checked (`rows.check_rows`), and is closed
    once the last row is read, before the entries are checked as a whole."""
    errors: list[RowError] = []
    try:
        rows, total = xlsx_rows(data) if is_xlsx(data, filename) else csv_rows(data)
        first = next(rows, None)
        if first is None:
            raise FileProblem("The file is empty.")
        if first[0] != 1 or not any(str(c).strip() for c in first[1]):
            raise FileProblem("The first line must be the header: date, entry_ref, entity, account, "
                              "cost_center, amount, currency, memo.", 1)
        columns, header_width = header_columns(first[1])
        with no_cyclic_gc():
            entries, count = check_rows(rows, columns, header_width, ref, errors, progress, max(total - 1, 1),
                                        sink)
        if sink is not None:
            sink.close()
    except FileProblem as problem:
        return GlParsed([], [*errors, problem.error], 0)
    if count == 0 and not errors:
        return GlParsed([], [RowError(None, "The file has a header but no rows.")], 0)
    with no_cyclic_gc():
        checked = check_entries(entries, ref, errors)
    errors.sort(key=lambda e: e.line or 0)
    return GlParsed(checked, errors, count)


@contextmanager
def no_cyclic_gc():
    """Millions of small tuples would trigger the cyclic collector again and again (a third of
    the checking time at 1M rows); they form no cycles, so it is paused while they are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
