"""Writing a GL file while it is checked.

The rows are checked in a second thread (`parsing.gl_parse`, pure Python, no database) while
this thread stages what has been checked so far: each good line as a row of a temporary table,
each new entry straight into the ledger, a block of lines at a time. PostgreSQL writes on one
core while Python checks on the other. Nothing is final until every row and entry is checked:
if any is wrong (or an entry falls into a closed period), the caller rolls its savepoint back
and nothing stays. Then one INSERT … SELECT moves every line into the ledger, so the ledger's
statement trigger still sees whole entries (balance, line count, rollup into period balances).

Entries are numbered in the order they first appear (`PendingEntry.number`); the staged lines
name their entry by that number, and the entries written map it to their id
(`gl_import_entry`), skipping those whose idempotency key exists already.

A small file is checked first and staged after, in this thread: the same staging, without a
thread to start for a file that takes milliseconds, and its progress goes check → write → post.
"""

from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from psycopg import sql

from finops.imports import RowError
from finops.jobs import progress as _progress
from finops.jobs.progress import Progress

from .. import writer
from ..models import PeriodStatus, Source
from ..periods import periods_ensure
from .entries import PendingEntry, entry_key
from .parsing import GlParsed, gl_parse
from .reference import GlReference

STREAM_MIN_BYTES = 1 << 20  # smaller files are checked, then staged (tests lower it to cover both ways)
STREAM_BLOCK_LINES = 20_000  # lines per block staged while the file is read

# The staging tables live until the import ends (dropped then, or with its savepoint). Their
# columns take the ledger's types, so a line is rounded or refused there as the ledger would.
_STAGE_TABLES = {
    "gl_import_line": "SELECT 0::integer AS entry_no, line_no, account_id, cost_center_id, txn_amount, txn_currency,"
                      " rate, memo FROM ledger_journalline",
    "gl_import_entry_new": "SELECT 0::integer AS entry_no, entity_id, date, memo, reference, idempotency_key,"
                           " NULL::boolean AS skip FROM ledger_journalentry",
    "gl_import_entry": "SELECT 0::integer AS entry_no, id, entity_id, period_id, date FROM ledger_journalentry",
    "gl_import_translated": "SELECT 0::integer AS entry_no, line_no, amount FROM ledger_journalline",
}
LINE_STAGE_COLUMNS = ("entry_no", "line_no", "account_id", "cost_center_id", "txn_amount", "txn_currency", "rate",
                      "memo")
ENTRY_STAGE_COLUMNS = ("entry_no", "entity_id", "date", "memo", "reference", "idempotency_key")


@dataclass
class Block:
    """Staging rows in COPY text format (`writer.text_field`): lines, the entries they start, and
    those entries' dates."""

    lines: bytes
    entries: bytes
    dates: set[date]
    count: int  # lines


@dataclass
class Written:
    parsed: GlParsed
    errors: list[RowError]
    created: int = 0
    skipped: int = 0
    months: list[date] = field(default_factory=list)  # the months the file's entries are dated in


def write_while_checking(*, tenant, actor, job_id: int, data: bytes, filename: str, ref: GlReference,
                         progress: Progress | None) -> Written:
    """Check the file and write what it holds; with `errors`, the caller must roll back."""
    stage = _Stage(tenant=tenant, actor=actor, job_id=job_id)
    if len(data) >= STREAM_MIN_BYTES:
        parsed = _stage_while_checking(stage, data, filename, ref, progress)
    else:
        blocks: list[Block] = []
        parsed = gl_parse(data, filename, ref, progress, _Blocks(_progress.PROGRESS_EVERY, blocks.append))
        if not parsed.errors:
            total, done = sum(b.count for b in blocks), 0
            for block in blocks:
                stage.add([block])
                done += block.count
                if progress is not None:
                    progress(done, total, "write")
    return stage.finish(parsed, progress)


def _stage_while_checking(stage: _Stage, data: bytes, filename: str, ref: GlReference,
                          progress: Progress | None) -> GlParsed:
    ready: queue.SimpleQueue[Block | None] = queue.SimpleQueue()
    sink = _Blocks(STREAM_BLOCK_LINES, ready.put, end=lambda: ready.put(None))

    def check() -> GlParsed:
        try:
            # This thread's own connection would be outside the import's transaction (and tenant).
            with connection.execute_wrapper(_no_database):
                return gl_parse(data, filename, ref, progress, sink)
        finally:
            sink.close()
            caches.close_all()  # the progress reporter's connection, opened by this thread

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gl-check") as pool:
        checking = pool.submit(check)
        try:
            done = False
            while not done:
                blocks = [ready.get()]
                while not ready.empty():  # the database fell behind: catch up in one statement
                    blocks.append(ready.get())
                done = blocks[-1] is None
                if blocks := [b for b in blocks if b is not None]:
                    stage.add(blocks)
        except BaseException:
            sink.cancelled = True  # the check stops at its next block
            raise
        return checking.result()


class _Cancelled(Exception):
    pass


def _no_database(execute, query, params, many, context):
    raise RuntimeError("The GL check thread must not use the database: its queries would run outside the import's "
                       "transaction.")


class _Blocks:
    """The `parsing.LineSink`: collects the entries of the lines checked, and formats them in
    bulk as rows of the staging tables (each line, and each entry once), handed on in blocks of
    about `size` lines cut where an entry starts (so that contiguous entries are not split)."""

    def __init__(self, size: int, deliver, end=None):
        self.size, self.deliver, self.end = size, deliver, end
        self.cancelled = False  # set by the writing thread: the check stops
        self.stopped = False  # a row was wrong: the check goes on, the staging stops
        self.closed = False
        self.entries = 0
        self._pending: list[PendingEntry] = []  # an entry per line checked since the last block
        self._memos = _Escaped()

    def __call__(self, entry: PendingEntry) -> None:
        if len(self._pending) >= self.size and len(entry.lines) == 1:
            if self.cancelled:
                raise _Cancelled
            self._flush()
        self._pending.append(entry)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self.stopped:
            return
        lines: list[str] = []
        entries: list[str] = []
        dates: set[date] = set()
        esc, memos, null = writer.text_field, self._memos, writer.NULL_TEXT
        for entry in pending:
            if entry.bad:
                # A row of it was wrong since it was last seen: nothing will be written, and its
                # lines may not even be readable. Stage no more.
                self.stopped = True
                return
            staged, count = entry.staged, len(entry.lines)
            if staged == count:
                continue  # an entry with several lines in this block: all staged at its first
            if not staged:
                self.entries += 1
                entry.number = self.entries
                entity_id, code, _ = entry.entity
                entries.append(f"{entry.number}\t{entity_id}\t{entry.date.isoformat()}\t{esc(entry.memo[:500])}\t"
                               f"{esc(entry.ref)}\t{esc(entry_key(code, entry.ref))}\n")
                dates.add(entry.date)
            number = entry.number
            lines += [f"{number}\t{n}\t{account_id}\t{null if cc_id is None else cc_id}\t{txn_amount!s}\t{currency}\t"
                      f"{rate!s}\t{memos[memo]}\n"
                      for n, (account_id, cc_id, _, txn_amount, currency, rate, memo, _)
                      in enumerate(entry.lines[staged:], start=staged + 1)]
            entry.staged = count
        self.deliver(Block("".join(lines).encode(), "".join(entries).encode(), dates, len(lines)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._flush()
            if self.end is not None:
                self.end()


class _Escaped(dict):
    """memo → the memo as a COPY text field, for the first 10,000 memos."""

    def __missing__(self, memo: str) -> str:
        text = writer.text_field(memo)
        if len(self) < 10_000:
            self[memo] = text
        return text


@dataclass
class _Stage:
    """The staging tables of one import, and what staging has learnt: the months' periods, the
    entries skipped because they were imported before, how many entries were written."""

    tenant: object
    actor: object
    job_id: int
    open_periods: dict[date, int] = field(default_factory=dict)  # month → period id
    closed: set[date] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)  # entry numbers
    created: int = 0
    lines: int = 0

    def __post_init__(self):
        self.now = timezone.now()
        self.actor_id = self.actor.pk if getattr(self.actor, "pk", None) else None
        with connection.cursor() as cursor:
            for table, shape in _STAGE_TABLES.items():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {shape} WITH NO DATA")
            cursor.execute("SELECT pg_get_serial_sequence('ledger_journalentry', 'id')")
            (sequence,) = cursor.fetchone()
            self._insert_entries = _INSERT_ENTRIES.format(sequence=sql.Literal(sequence).as_string(cursor.cursor))
            # The entries' deferred foreign keys are checked as each block is written, while the
            # file is still being read, instead of all at commit (250,000 entries: ~1 s there).
            # The savepoint's rollback, or `finish`, puts them back to deferred.
            cursor.execute("SELECT string_agg(format('%I.%I', n.nspname, c.conname), ', ') FROM pg_constraint c"
                           " JOIN pg_namespace n ON n.oid = c.connamespace"
                           " WHERE c.conrelid = 'ledger_journalentry'::regclass AND c.condeferred")
            (self._deferred,) = cursor.fetchone()
            if self._deferred:
                cursor.execute(f"SET CONSTRAINTS {self._deferred} IMMEDIATE")

    def add(self, blocks: list[Block]) -> None:
        """Stage the blocks' lines and write their entries."""
        writer.copy_text("gl_import_line", LINE_STAGE_COLUMNS, [b.lines for b in blocks])
        writer.copy_text("gl_import_entry_new", ENTRY_STAGE_COLUMNS, [b.entries for b in blocks])
        self.lines += sum(b.count for b in blocks)
        months = {d.replace(day=1) for b in blocks for d in b.dates} - self.open_periods.keys() - self.closed
        if months:
            self._lock_periods(months)
        tenant_id = self.tenant.pk
        with connection.cursor() as cursor:
            if self.closed:
                # An entry dated in a closed month is not written: whether it was imported before
                # decides if it is skipped or refused (`finish`). The others learn it from the
                # insert itself (its ON CONFLICT), without a probe of their own.
                cursor.execute("UPDATE gl_import_entry_new n SET skip = true"
                               " WHERE date_trunc('month', n.date)::date = ANY(%s::date[]) AND EXISTS ("
                               "SELECT FROM ledger_journalentry e WHERE e.tenant_id = %s"
                               " AND e.idempotency_key = n.idempotency_key) RETURNING entry_no",
                               [sorted(self.closed), tenant_id])
                self.skipped.update(number for (number,) in cursor.fetchall())
            cursor.execute(self._insert_entries, {
                "tenant": tenant_id, "source": Source.IMPORT, "job": self.job_id, "actor": self.actor_id,
                "now": self.now, "months": list(self.open_periods), "periods": list(self.open_periods.values())})
            written, skipped = cursor.fetchone()
            self.created += written
            self.skipped.update(skipped)
            cursor.execute("TRUNCATE gl_import_entry_new")

    def _lock_periods(self, months: set[date]) -> None:
        """Create missing periods, share-lock them (closing one waits for us), note the closed ones."""
        periods = periods_ensure(tenant=self.tenant, dates=months)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, start, status FROM ledger_period WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                           [sorted(p.pk for p in periods.values())])
            for pk, start, status in cursor.fetchall():
                if status == PeriodStatus.OPEN:
                    self.open_periods[start] = pk
                else:
                    self.closed.add(start)

    def finish(self, parsed: GlParsed, progress: Progress | None) -> Written:
        """Every row is checked: refuse entries in closed periods, else move the lines into the ledger."""
        if parsed.errors:
            return Written(parsed, parsed.errors)
        closed = [RowError(e.line, f"Period {e.date:%Y-%m} is closed: reopen it or post into an open period.")
                  for e in parsed.entries if e.date.replace(day=1) in self.closed and e.number not in self.skipped]
        if closed:
            return Written(parsed, sorted(closed, key=lambda e: e.line or 0))
        translated = [f"{e.number}\t{n}\t{ln[2]}\n" for e in parsed.entries if e.foreign
                      for n, ln in enumerate(e.lines, start=1) if ln[2] != ln[3]]
        if translated:
            writer.copy_text("gl_import_translated", ("entry_no", "line_no", "amount"), ["".join(translated).encode()])
        if progress is not None:
            progress(self.lines, self.lines, "post")
        with connection.cursor() as cursor:
            # Statistics for the join below: without them the planner sorts a million lines for a
            # merge join where a hash of the entries does.
            cursor.execute("ANALYZE gl_import_line, gl_import_entry")
        if self.created:
            writer.copy_lines(writer.Staged(_MOVE_LINES.format(
                amount="coalesce(t.amount, l.txn_amount)" if translated else "l.txn_amount",
                translated=_TRANSLATED_JOIN if translated else ""), [self.tenant.pk]))
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {', '.join(_STAGE_TABLES)}")
            if self._deferred:
                cursor.execute(f"SET CONSTRAINTS {self._deferred} DEFERRED")
        return Written(parsed, [], self.created, len(self.skipped), sorted(self.open_periods))


# The entries of the blocks just staged, into the ledger (ids in the file's order: nextval is
# evaluated after the sort), and their numbers mapped to what their lines need. An entry whose
# idempotency key exists already (imported before) is skipped by the insert's ON CONFLICT: the
# statement answers how many were written and the numbers of those skipped.
_INSERT_ENTRIES = """
WITH candidates AS MATERIALIZED (
    SELECT n.entry_no, n.entity_id, m.period_id, n.date, n.memo, n.reference, n.idempotency_key
    FROM gl_import_entry_new n
    JOIN unnest(%(months)s::date[], %(periods)s::bigint[]) AS m (month, period_id)
      ON m.month = date_trunc('month', n.date)::date
), written AS (
    INSERT INTO ledger_journalentry (id, tenant_id, entity_id, period_id, date, memo, reference, source,
                                     idempotency_key, reverses_id, import_job_id, created_by_id, posted_at)
    SELECT nextval({sequence}::regclass), %(tenant)s, c.entity_id, c.period_id, c.date, c.memo, c.reference,
           %(source)s, c.idempotency_key, NULL, %(job)s, %(actor)s, %(now)s
    FROM candidates c
    ORDER BY c.entry_no
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING id, entity_id, period_id, date, idempotency_key
), mapped AS (
    INSERT INTO gl_import_entry (entry_no, id, entity_id, period_id, date)
    SELECT c.entry_no, w.id, w.entity_id, w.period_id, w.date
    FROM written w JOIN candidates c ON c.idempotency_key = w.idempotency_key
    RETURNING entry_no
)
SELECT (SELECT count(*) FROM mapped),
       ARRAY(SELECT c.entry_no FROM candidates c LEFT JOIN mapped m ON m.entry_no = c.entry_no
             WHERE m.entry_no IS NULL ORDER BY 1)
"""

_MOVE_LINES = """
SELECT %s, e.id, l.line_no, e.entity_id, e.period_id, e.date, l.account_id, l.cost_center_id, {amount},
       l.txn_amount, l.txn_currency, l.rate, l.memo
FROM gl_import_line l JOIN gl_import_entry e ON e.entry_no = l.entry_no{translated}
"""
_TRANSLATED_JOIN = "\nLEFT JOIN gl_import_translated t ON t.entry_no = l.entry_no AND t.line_no = l.line_no"
