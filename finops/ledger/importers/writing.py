"""Writing checked entries: one COPY for the entries and one for their lines (`writer.py`), so
the balance trigger sees whole entries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.utils import timezone

from .. import writer
from ..models import Source
from . import progress as _progress
from .entries import GlEntry
from .progress import Progress


def write_entries(*, tenant_id: int, actor, job_id: int, entries: list[GlEntry], periods: dict[date, int],
                  progress: Progress | None) -> int:
    if not entries:
        return 0
    ids = writer.reserve_entry_ids(len(entries))
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    now = timezone.now()
    source = Source.IMPORT
    period_of = {e.date: periods[e.date.replace(day=1)] for e in entries}
    total = sum(len(e.lines) for e in entries)
    # The lines' COPY text is formatted in a second thread while the database inserts the entries
    # (the thread is pure Python; psycopg releases the GIL while it waits for the server).
    with ThreadPoolExecutor(max_workers=1) as pool:
        blocks = pool.submit(_line_blocks, tenant_id, ids, entries, period_of)
        writer.copy_entries(
            (entry_id, tenant_id, e.entity_id, period_of[e.date], e.date, e.memo, e.ref, source, e.key, None,
             job_id, actor_id, now)
            for entry_id, e in zip(ids, entries, strict=True)
        )
        blocks = blocks.result()

    def sent():
        done = 0
        for block, count in blocks:
            yield block
            done += count
            if progress is not None:
                progress(done, total, "write")
        if progress is not None:
            progress(total, total, "post")

    writer.copy_lines(writer.TextBlocks(sent()))
    return len(entries)


def _line_blocks(tenant_id: int, ids: list[int], entries: list[GlEntry],
                 period_of: dict[date, int]) -> list[tuple[bytes, int]]:
    """The entries' lines in COPY text format (writer.LINE_COLUMNS), as (block, lines in it)."""
    null, field = writer.NULL_TEXT, writer.text_field
    every = _progress.PROGRESS_EVERY
    memos: dict[str, str] = {}
    blocks: list[tuple[bytes, int]] = []
    rows: list[str] = []
    append = rows.append
    for entry_id, e in zip(ids, entries, strict=True):
        head = f"{tenant_id}\t{entry_id}\t"
        middle = f"\t{e.entity_id}\t{period_of[e.date]}\t{e.date.isoformat()}\t"
        for n, (account_id, cc_id, amount, txn_amount, currency, rate, memo, _) in enumerate(e.lines, start=1):
            text = memos.get(memo)
            if text is None:
                text = field(memo)
                if len(memos) < 10_000:
                    memos[memo] = text
            append(f"{head}{n}{middle}{account_id}\t{null if cc_id is None else cc_id}\t{amount}\t{txn_amount}\t"
                   f"{currency}\t{rate}\t{text}\n")
        if len(rows) >= every:
            blocks.append(("".join(rows).encode(), len(rows)))
            rows.clear()
    if rows:
        blocks.append(("".join(rows).encode(), len(rows)))
    return blocks
