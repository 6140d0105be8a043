"""Planner statistics after bulk writes: `analyze()` and friends, the one way the app runs ANALYZE.

Why bulk writes analyse what they loaded: the planner plans from statistics, and autovacuum may
be off (it is on some servers) or not have come round yet. A journal that had 900k lines imported
still looked empty to the planner, which picked nested loops: the journal page took 10 s until
ANALYZE. So the GL import, the demo data and the budget writes analyse the tables they filled.

Why through a function: ANALYZE needs the table's owner (from PostgreSQL 17 also the MAINTAIN
privilege), and below 17 a non-owner's ANALYZE is skipped with nothing but a WARNING. The
runtime role does not own the tables, so ANALYZE runs inside `finops_analyze(regclass[])`, a
SECURITY DEFINER function created by a migration (hence owned by the owner role), which refuses
anything outside the public schema (ledger migration 0007).

`analyze_if_stale` applies autovacuum's own rule (its threshold and scale factor, read from the
server): a table is analysed when it was never analysed, or when the rows changed since its last
analysis, with this write's, exceed threshold + scale factor × its rows. A two-line import into a
five-million-line journal then does not sample 30,000 pages for nothing.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

log = logging.getLogger(__name__)


def _table(model_or_table) -> str:
    return model_or_table if isinstance(model_or_table, str) else model_or_table._meta.db_table


def analyze(*models_or_tables) -> None:
    """ANALYZE these tables (models or table names) now, in the current transaction if any
    (an ANALYZE in a transaction sees the rows the transaction wrote)."""
    tables = sorted({_table(t) for t in models_or_tables})
    if tables:
        with connection.cursor() as cursor:
            cursor.execute("SELECT finops_analyze(%s::regclass[])", [tables])


STALE = """
    SELECT c.relname FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
    WHERE c.oid = ANY(%(tables)s::regclass[])
      AND (c.reltuples < 0
           OR coalesce(s.n_mod_since_analyze, 0) + %(rows)s
              > current_setting('autovacuum_analyze_threshold')::float8
                + current_setting('autovacuum_analyze_scale_factor')::float8 * c.reltuples)
    ORDER BY c.relname
"""


def analyze_if_stale(*models_or_tables, rows: int) -> list[str]:
    """ANALYZE those of the tables whose statistics `rows` more changed rows (an upper bound is
    fine) make stale by autovacuum's rule (see the module docstring). Returns the tables analysed."""
    tables = sorted({_table(t) for t in models_or_tables})
    if not tables or rows <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(STALE, {"tables": tables, "rows": rows})
        stale = [name for (name,) in cursor.fetchall()]
    analyze(*stale)
    return stale


class AnalyzeBatch:
    """The tables one transaction asked to analyse, with their rows added up: analysed once,
    after the commit (`analyze_on_commit`)."""

    def __init__(self):
        self.rows: dict[str, int] = {}
        self.done = False

    def add(self, tables: list[str], rows: int) -> None:
        for table in tables:
            self.rows[table] = self.rows.get(table, 0) + rows

    def run(self) -> None:
        self.done = True
        by_rows: dict[int, list[str]] = {}
        for table, rows in self.rows.items():
            by_rows.setdefault(rows, []).append(table)
        for rows, tables in sorted(by_rows.items()):
            try:
                analyze_if_stale(*tables, rows=rows)
            except Exception:  # noqa: BLE001 - stale statistics are slow, not wrong
                log.warning("could not analyse %s after a bulk write", tables, exc_info=True)


def analyze_on_commit(*models_or_tables, rows: int) -> None:
    """`analyze_if_stale` once the current transaction has committed (at once without one): the
    write's own locks are gone, several writes in one transaction make one analysis, and a
    failure is logged, never the write's."""
    tables = sorted({_table(t) for t in models_or_tables})
    if not tables or rows <= 0:
        return
    if not connection.in_atomic_block:
        batch = AnalyzeBatch()
        batch.add(tables, rows)
        batch.run()
        return
    batch = getattr(connection, "finops_analyze_batch", None)
    # This transaction's batch, as long as its callback is queued (a rollback discards it) and
    # has not run yet.
    if batch is None or batch.done or not any(func == batch.run for _, func, _ in connection.run_on_commit):
        batch = AnalyzeBatch()
        connection.finops_analyze_batch = batch
        transaction.on_commit(batch.run)
    batch.add(tables, rows)
