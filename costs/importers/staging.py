"""Writing checked rows: COPY into a staging table while the file is read, then one INSERT … SELECT.

PostgreSQL refuses COPY into a table under row-level security, so rows go into a temporary
table of this transaction first (its columns are the cost items' own, so a value is refused
there as the table would refuse it), a block at a time while the file is still being checked
(`rows.check_rows` hands the blocks over). Once every row is checked and none was wrong, one
statement moves them into `costs_costitem`, where row-level security and the keys apply, each
with its occurrence among identical rows of the file; a row whose (fingerprint, occurrence) the
tenant has already is skipped (ON CONFLICT DO NOTHING), so overlapping files never count a charge
twice. If anything is wrong the caller rolls back its savepoint and nothing stays.
"""

from __future__ import annotations

from django.db import connection

from finops.ledger import writer

from .rows import STAGE_FIELDS, VALUE_FIELDS

STAGE_TABLE = "costs_import_stage"
# The move sorts the rows by fingerprint to number identical ones: in memory rather than on disk.
MOVE_WORK_MEM = writer.MOVE_WORK_MEM

_MOVE = """
INSERT INTO costs_costitem (tenant_id, import_job_id, source_format, line, row_hash, occurrence, {columns})
SELECT %(tenant)s, %(job)s, %(format)s, line, row_hash,
       row_number() OVER (PARTITION BY row_hash ORDER BY line), {columns}
FROM {stage}
ON CONFLICT (tenant_id, row_hash, occurrence) DO NOTHING
"""


class Stage:
    """The staging table of one import (dropped at its end, or with its savepoint)."""

    def __init__(self):
        self.rows = 0
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} ON COMMIT DROP AS SELECT {', '.join(STAGE_FIELDS)} "
                           "FROM costs_costitem WITH NO DATA")

    def __call__(self, block: bytes, count: int) -> None:
        """Stage `count` rows in COPY text (the `rows.Sink`)."""
        writer.copy_text(STAGE_TABLE, STAGE_FIELDS, [block])
        self.rows += count

    def move(self, *, tenant_id: int, job_id: int, source_format: str) -> int:
        """Every staged row into the cost items; how many were new."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [MOVE_WORK_MEM])
            (work_mem, _) = cursor.fetchone()
            cursor.execute(_MOVE.format(columns=", ".join(VALUE_FIELDS), stage=STAGE_TABLE),
                           {"tenant": tenant_id, "job": job_id, "format": source_format})
            created = cursor.rowcount
            cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
        return created
