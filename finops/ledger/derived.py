"""Derived entries: what the product posts from other data and keeps in step with it.

A month's cost data (costs/posting.py) or an allocation run (costs/allocation/) is not typed in:
it is computed, and computed again when its inputs change (a new file, a changed rule). Each such
entry has a name (`kind`, `key`) and a `DerivedPosting` row that says what the ledger holds for it.
`derived_sync` brings the ledger in step with what the entry should now be:

- the same lines as posted (equal digests): nothing happens, so a rerun is a no-op;
- other lines: the posted entry is reversed and the new one posted (version + 1, idempotency key
  `<kind>:<key>:v<version>`), both dated in the first open period from the entry's own date, so
  a closed month is never touched and its correction lands in the next open one;
- no lines: the posted entry, if any, is reversed;
- a posting the ledger refuses (a missing FX rate, a limit): the previous entry stays, and the
  problem is recorded in words for the page to show; the next sync tries again.

Syncs of one tenant run one at a time (an advisory lock), and each one's reversal, entry and
row commit together, so two workers never post the same change twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from finops.errors import DomainError
from finops.tenancy.context import tenant_context

from .models import DerivedPosting, Entity, JournalEntry
from .periods import first_open_date
from .services import LineSpec, journal_post, journal_reverse

log = logging.getLogger(__name__)

SYNC_LOCK_CLASS = 0x6465_7276  # pg_advisory_xact_lock(class, tenant): "derv"


@dataclass(frozen=True)
class Derived:
    """What the ledger should hold for (`kind`, `key`): `lines` (none: nothing) of `entity`, on
    `date` (or the first open day after it)."""

    kind: str
    key: str
    month: date
    date: date
    entity: Entity
    lines: tuple[LineSpec, ...]
    memo: str
    reference: str
    source: str
    currency: str = ""

    @property
    def digest(self) -> str:
        if not self.lines:
            return ""
        text = "|".join([str(self.entity.pk), *(f"{line.account_id}:{line.cost_center_id}:{line.amount}:{line.currency}"
                                                for line in self.lines)])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def amount(self):
        return sum((line.amount for line in self.lines if line.amount > 0), 0)


def derived_sync(*, tenant, actor, want: Derived) -> tuple[DerivedPosting | None, bool]:
    """Bring the ledger in step with `want` (see the module docstring). Returns the posting row
    (None when there never was anything to post) and whether this call changed it."""
    with tenant_context(tenant) as tenant_id, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SYNC_LOCK_CLASS, tenant_id])
        posting = (DerivedPosting.objects.select_for_update().filter(kind=want.kind, key=want.key).first()
                   or DerivedPosting(tenant_id=tenant_id, kind=want.kind, key=want.key, month=want.month,
                                     currency=want.currency))
        digest = want.digest
        if digest == posting.digest and not posting.problem:
            return (posting if posting.pk else None), False
        try:
            with transaction.atomic():
                entry = _repost(tenant=tenant, actor=actor, want=want, posting=posting)
        except DomainError as exc:
            posting.problem = exc.message
            log.info("derived posting %s %s of organisation %s: %s", want.kind, want.key, tenant_id, exc.message)
        else:
            posting.entry, posting.version, posting.digest = entry, posting.version + 1, digest
            posting.amount, posting.problem = want.amount, ""
        posting.month, posting.currency = want.month, want.currency
        posting.save()
        return posting, True


def _repost(*, tenant, actor, want: Derived, posting: DerivedPosting) -> JournalEntry | None:
    if posting.entry_id:
        previous = JournalEntry.objects.get(pk=posting.entry_id)
        journal_reverse(tenant=tenant, actor=actor, entry=previous, date=first_open_date(tenant=tenant, d=previous.date),
                        memo=f"{want.memo}: changed, reversal of JE-{previous.pk}"[:500])
    if not want.lines:
        return None
    return journal_post(
        tenant=tenant, actor=actor, entity=want.entity, date=first_open_date(tenant=tenant, d=want.date),
        lines=list(want.lines), memo=want.memo, reference=want.reference, source=want.source,
        idempotency_key=f"{want.kind}:{want.key}:v{posting.version + 1}").entry


def derived_postings(*, tenant, kind: str, months: list[date] | None = None, limit: int | None = None) -> list[DerivedPosting]:
    """The postings of `kind` (of `months`), newest month first, with their entries."""
    with tenant_context(tenant):
        found = DerivedPosting.objects.filter(kind=kind).select_related("entry").order_by("-month", "key")
        if months is not None:
            found = found.filter(month__in=months)
        return list(found[:limit] if limit else found)
