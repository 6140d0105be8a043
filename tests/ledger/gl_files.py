"""GL files for the import tests, and what to read back after an import."""

from __future__ import annotations

from decimal import Decimal

from finops.ledger.importers import gl_import
from finops.ledger.models import JournalEntry, JournalLine, Period, PeriodBalance
from finops.tenancy.context import tenant_context

CHECKED_THEN_WRITTEN, WRITTEN_WHILE_CHECKED = "checked, then written", "written while checked"  # write_mode

HEADER = "date,entry_ref,entity,account,cost_center,amount,currency,memo"

# Two balanced entries (lines 2-3 and 4-6).
GOOD = [
    "2026-03-05,INV-1,US,6100,OPS,1200.00,,March rent",
    "2026-03-05,INV-1,US,2000,,-1200.00,,March rent",
    "2026-03-20,INV-2,US,6200,SALES,300.50,,Licences",
    "2026-03-20,INV-2,US,6200,OPS,99.50,,Licences",
    "2026-03-20,INV-2,US,2000,,-400.00,,Licences",
]


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def run(books, data: bytes, filename: str = "actuals.csv", actor=None):
    return gl_import(tenant=books.org, actor=actor, data=data, filename=filename)


def problems(result) -> list[tuple[int | None, str]]:
    return [(e.line, e.message) for e in result.errors]


def ledger_state(org) -> tuple[int, int, int]:
    with tenant_context(org):
        return JournalEntry.objects.count(), JournalLine.objects.count(), Period.objects.count()


def balances(org) -> dict[tuple[str, str, str | None], Decimal]:
    with tenant_context(org):
        rows = PeriodBalance.objects.values_list("entity__code", "account__code", "cost_center__code", "amount")
        return {(e, a, c): amount for e, a, c, amount in rows}
