"""Importing GL actuals (journal lines) from a CSV or XLSX file.

One pipeline (DESIGN §4 "Imports"): read the file → check every row against the tenant's
reference data, loaded once into dictionaries (`gl_parse` is pure: no database) → if any row is
wrong, nothing is written and every bad row is reported with its line number (the file's line,
the header being line 1) → otherwise one transaction writes all entries with COPY.

The file: columns `date, entry_ref, entity, account, cost_center, amount, currency, memo`
(header names in any case and spacing), or `debit` and `credit` instead of `amount`. Amounts are
signed, debit positive, at most 15 digits before the point and the currency's decimals; dates
inside the date window (`finops.bounds`). Lines sharing an `entry_ref` form one entry, which must
balance, carry one date and one entity. Codes name the entity, account and cost center; an empty currency is
the entity's functional currency, any other is translated at the month's average rate with the
same rounding as `services.translate_lines` (once per line to the minor unit, remainder on the
largest line).

Twice the same: a file whose SHA-256 matches a succeeded import of the tenant changes nothing;
an entry whose idempotency key `import:<entity code>:<entry_ref>` exists already is skipped and
counted, so overlapping files never post twice.

Speed: the check runs once per row with dictionary lookups (codes, dates, rates are cached) and
no ORM, in a second thread, while this one writes what has been checked so far (`writing.py`):
the lines into a temporary table, the entries into the ledger. Once every row is checked, one
INSERT … SELECT moves all lines into the ledger, so the balance trigger sees whole entries; a
problem found anywhere rolls it all back. Progress is reported as every job's is
(`finops/jobs/progress.py`).

The modules, in the order a file goes through them:

- `reference.py`  what a row may name, loaded once (`gl_reference_load`)
- `rows.py`       the header and the per-row checks (the hot loop)
- `entries.py`    entries as a whole: line count, balance, translation
- `parsing.py`    `gl_parse`: rows then entries, no database
- `writing.py`    writing while checking: staged lines, entries, then one move into the ledger
- `importing.py`  `gl_import`: lock, duplicate check, check and write, in one transaction
- `jobs.py`       upload now, import in a worker (the job row, heartbeat, progress and requeue
                  are the kernel's: `finops/jobs/`)
"""

from .entries import MAX_LINES_PER_ENTRY, GlEntry
from .importing import GL, IMPORT_LOCK_CLASS, GlImportResult, gl_import
from .jobs import MAX_BULK_LINES, gl_import_lines, import_job_create, import_job_run
from .parsing import GlParsed, gl_parse
from .reference import GlReference, gl_reference_load
from .rows import COLUMNS, REQUIRED

__all__ = [
    "COLUMNS",
    "MAX_BULK_LINES",
    "gl_import_lines",
    "GL",
    "IMPORT_LOCK_CLASS",
    "MAX_LINES_PER_ENTRY",
    "REQUIRED",
    "GlEntry",
    "GlImportResult",
    "GlParsed",
    "GlReference",
    "gl_import",
    "gl_parse",
    "gl_reference_load",
    "import_job_create",
    "import_job_run",
]
