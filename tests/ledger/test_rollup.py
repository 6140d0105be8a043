"""The period balances are the sum of the lines, however the lines arrive, and nothing but posting
lines can change them: the rollup trigger writes them as the owner (ledger migration 0014)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from finops.ledger import services as ledger
from finops.ledger.models import PeriodBalance
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from tests.ledger.gl_files import csv_file, run
from tests.ledger.test_ledger_properties import ROLLUP_VS_LINES

pytestmark = pytest.mark.usefixtures("write_mode")

CELLS = [("6100", "OPS"), ("6200", "SALES"), ("6200", "OPS"), ("6100", "")]


def bulk_file(entries: int, *, prefix: str = "B", month: int = 3) -> bytes:
    """`entries` entries of three lines over four cells and two months, credited to 2000."""
    rows = []
    for n in range(entries):
        day = f"2026-{month + n % 2:02d}-{1 + n % 28:02d}"
        debits = [Decimal(f"{10 + n}.{n % 100:02d}"), Decimal(f"{n % 7 + 1}.05")]
        for (account, cc), amount in zip([CELLS[n % 4], CELLS[(n + 1) % 4]], debits, strict=True):
            rows.append(f"{day},{prefix}-{n},US,{account},{cc},{amount},,bulk")
        rows.append(f"{day},{prefix}-{n},US,2000,,{-sum(debits)},,bulk")
    return csv_file(*rows)


def rollup_mismatches(org) -> int:
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(ROLLUP_VS_LINES)
        return cursor.fetchone()[0]


def cell(org, account: str, cost_center: str | None, month: date) -> tuple[Decimal, int]:
    with tenant_context(org):
        row = PeriodBalance.objects.get(account__code=account, cost_center__code=cost_center, period__start=month)
        return row.amount, row.line_count


def test_after_a_bulk_import_and_a_manual_posting_each_cell_is_the_sum_of_its_lines(books):
    result = run(books, bulk_file(200))
    assert result.ok and result.created == 200
    assert rollup_mismatches(books.org) == 0
    # 2000 takes every credit of March: entries 0, 2, …, 198 (10.00 + n.nn + (n % 7 + 1).05 each).
    march = [n for n in range(200) if n % 2 == 0]
    expected = -sum(Decimal(f"{10 + n}.{n % 100:02d}") + Decimal(f"{n % 7 + 1}.05") for n in march)
    assert cell(books.org, "2000", None, date(2026, 3, 1)) == (expected, 100)

    posted = ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 31), lines=[
        LineSpec(books.rent.pk, Decimal("0.01"), books.ops.pk), LineSpec(books.payable.pk, Decimal("-0.01"))]).entry
    assert rollup_mismatches(books.org) == 0
    assert cell(books.org, "2000", None, date(2026, 3, 1)) == (expected - Decimal("0.01"), 101)

    ledger.journal_reverse(tenant=books.org, actor=None, entry=posted)
    assert rollup_mismatches(books.org) == 0
    assert cell(books.org, "2000", None, date(2026, 3, 1)) == (expected, 102)


def test_a_second_import_into_the_same_cells_adds_to_them(books):
    assert run(books, bulk_file(40, prefix="A")).created == 40
    before = cell(books.org, "6100", "OPS", date(2026, 3, 1))
    assert run(books, bulk_file(40, prefix="B")).created == 40
    assert rollup_mismatches(books.org) == 0
    amount, count = cell(books.org, "6100", "OPS", date(2026, 3, 1))
    assert (amount, count) == (2 * before[0], 2 * before[1])  # the same amounts again, in the same cells


def test_a_refused_import_leaves_the_rollup_as_it_was(books):
    assert run(books, bulk_file(10, prefix="A")).ok
    before = cell(books.org, "2000", None, date(2026, 3, 1))
    bad = bulk_file(10, prefix="B").decode().replace("6200,SALES,", "6200,NOWHERE,", 1).encode()
    assert not run(books, bad).ok
    assert cell(books.org, "2000", None, date(2026, 3, 1)) == before
    assert rollup_mismatches(books.org) == 0


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_periodbalance SET amount = amount + 1",
    "INSERT INTO ledger_periodbalance (tenant_id, entity_id, account_id, cost_center_id, period_id, amount,"
    " line_count) SELECT tenant_id, entity_id, account_id, cost_center_id, period_id + 1, 1, 1"
    " FROM ledger_periodbalance",
    "DELETE FROM ledger_periodbalance",
    "SELECT ledger_rollup_lines()",
    # Attaching the owner's rollup function to a table of its own would let the role feed it rows.
    "CREATE TEMP TABLE fake_lines (LIKE ledger_journalline);"
    " CREATE TRIGGER fake_rollup AFTER INSERT ON fake_lines REFERENCING NEW TABLE AS new_lines"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_lines()",
])
def test_the_runtime_role_cannot_write_the_rollup_but_by_posting_lines(books, statement):
    assert run(books, bulk_file(4)).ok
    with tenant_context(books.org), connection.cursor() as cursor:
        cursor.execute("SELECT sum(amount), sum(line_count) FROM ledger_periodbalance")
        before = cursor.fetchone()
        with pytest.raises(DatabaseError, match="permission denied") as caught, transaction.atomic():
            cursor.execute(statement)
        assert caught.value.__cause__.sqlstate == "42501"
        cursor.execute("SELECT sum(amount), sum(line_count) FROM ledger_periodbalance")
        assert cursor.fetchone() == before
    assert rollup_mismatches(books.org) == 0
