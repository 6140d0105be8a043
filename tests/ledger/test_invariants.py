"""The ledger's invariants are held by PostgreSQL: immutable postings, balanced entries."""

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.models import JournalEntry, PeriodBalance
from finops.ledger.periods import period_close, period_ensure, period_reopen
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from tests.builders import owner_connection


def sale(books, amount="100.00", d=date(2026, 3, 10), key=None):
    return ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=d, memo="sale", idempotency_key=key,
        lines=[LineSpec(books.cash.pk, Decimal(amount)), LineSpec(books.revenue.pk, -Decimal(amount), books.sales.pk)],
    )


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_journalline SET amount = amount + 1",
    "DELETE FROM ledger_journalline",
    "UPDATE ledger_journalentry SET memo = 'edited'",
    "DELETE FROM ledger_journalentry",
    "UPDATE audit_auditevent SET action = 'x'",
])
def test_posted_rows_cannot_be_updated_or_deleted(books, statement):
    sale(books)
    # The application's role may not even try (finops/dbsetup.py) ...
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            cursor.execute(statement)
    # ... and whoever asks, the database refuses: the owner meets the trigger.
    with owner_connection() as owner, pytest.raises(psycopg.Error, match="immutable|append-only"):
        owner.execute(statement)


def test_an_unbalanced_insert_fails_in_the_database(books):
    entry = sale(books).entry
    with tenant_context(books.org), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (tenant_id, entity_id, period_id, date, memo, reference, source,"
            " idempotency_key, posted_at) VALUES (%s, %s, %s, %s, 'x', '', 'manual', 'raw-1', now()) RETURNING id",
            [books.org.pk, entry.entity_id, entry.period_id, entry.date],
        )
        (new_id,) = cursor.fetchone()
        with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
            if True:  # noqa: SIM108 - keeps the raw statement visibly inside the savepoint
                cursor.execute(
                    "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date,"
                    " account_id, amount, txn_amount, txn_currency, rate, memo) VALUES"
                    " (%s, %s, 1, %s, %s, %s, %s, 10, 10, 'USD', 1, ''), (%s, %s, 2, %s, %s, %s, %s, -9, -9, 'USD', 1, '')",
                    [books.org.pk, new_id, entry.entity_id, entry.period_id, entry.date, books.cash.pk,
                     books.org.pk, new_id, entry.entity_id, entry.period_id, entry.date, books.rent.pk],
                )


def test_adding_a_line_to_a_posted_entry_fails_because_it_unbalances_it(books):
    entry = sale(books).entry
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date,"
                " account_id, amount, txn_amount, txn_currency, rate, memo)"
                " VALUES (%s, %s, 3, %s, %s, %s, %s, 5, 5, 'USD', 1, '')",
                [books.org.pk, entry.pk, entry.entity_id, entry.period_id, entry.date, books.rent.pk],
            )


def test_the_service_refuses_an_unbalanced_entry_with_the_difference(books):
    with pytest.raises(DomainError, match=r"debits 100.00 ≠ credits 90.00 \(difference 10.00 USD\)"):
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 1),
                            lines=[LineSpec(books.cash.pk, Decimal("100")), LineSpec(books.revenue.pk, Decimal("-90"))])


def test_posting_twice_with_the_same_idempotency_key_is_a_no_op(books):
    first = sale(books, key="inv-42")
    second = sale(books, "999", key="inv-42")
    assert first.created and not second.created
    assert second.entry.pk == first.entry.pk
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 1
        assert PeriodBalance.objects.get(account=books.cash).amount == Decimal("100.0000")


def test_posting_into_a_closed_period_is_refused_naming_the_period(books):
    period = period_ensure(tenant=books.org, d=date(2026, 3, 1))
    period_close(tenant=books.org, actor=None, period=period)
    with pytest.raises(DomainError, match="Period 2026-03 is closed"):
        sale(books)
    period_reopen(tenant=books.org, actor=None, period=period)
    assert sale(books).created


def test_the_database_refuses_an_entry_in_a_closed_period(books):
    entry = sale(books).entry
    period_close(tenant=books.org, actor=None, period=period_ensure(tenant=books.org, d=entry.date))
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="period 2026-03 is closed"), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_journalentry (tenant_id, entity_id, period_id, date, memo, reference, source,"
                " idempotency_key, posted_at) VALUES (%s, %s, %s, %s, 'x', '', 'manual', 'raw-2', now())",
                [books.org.pk, entry.entity_id, entry.period_id, entry.date],
            )


def test_a_reversal_cancels_the_entry_in_the_period_balances(books):
    entry = sale(books, "250.10").entry
    reversal = ledger.journal_reverse(tenant=books.org, actor=None, entry=entry).entry
    assert reversal.reverses_id == entry.pk
    with tenant_context(books.org):
        balances = sorted(PeriodBalance.objects.values_list("amount", "line_count"))
        assert balances == [(Decimal("0.0000"), 2), (Decimal("0.0000"), 2)]
    with pytest.raises(DomainError, match=f"already reversed by JE-{reversal.pk}"):
        ledger.journal_reverse(tenant=books.org, actor=None, entry=entry)


def test_foreign_currency_lines_are_translated_and_the_rounding_goes_to_the_largest_line(books):
    result = ledger.journal_post(
        tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5), memo="EUR invoice",
        lines=[LineSpec(books.software.pk, Decimal("33.33"), books.ops.pk, "EUR"),
               LineSpec(books.software.pk, Decimal("33.33"), books.sales.pk, "EUR"),
               LineSpec(books.payable.pk, Decimal("-66.66"), None, "EUR")],
    )
    # 33.33 × 1.085 = 36.16305 → 36.16 each; -66.66 × 1.085 = -72.3261 → -72.33; +0.01 to the largest.
    assert [t.amount for t in result.lines] == [Decimal("36.16"), Decimal("36.16"), Decimal("-72.32")]
    assert {t.rate for t in result.lines} == {Decimal("1.0850000000")}


def test_a_missing_rate_is_named(books):
    with pytest.raises(DomainError, match="No JPY→USD average rate for 2026-03"):
        ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5),
                            lines=[LineSpec(books.rent.pk, Decimal("1000"), None, "JPY"),
                                   LineSpec(books.cash.pk, Decimal("-1000"), None, "JPY")])


@pytest.mark.parametrize("table", ["ledger_entity", "ledger_account", "ledger_costcenter", "ledger_period"])
def test_master_data_is_never_deleted(books, table):
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            cursor.execute(f"DELETE FROM {table}")
    with owner_connection() as owner, pytest.raises(psycopg.Error, match="never deleted"):
        owner.execute(f"DELETE FROM {table}")


def test_a_line_must_agree_with_its_entry(books):
    entry = sale(books).entry
    other_period = period_ensure(tenant=books.org, d=date(2026, 4, 1))
    with tenant_context(books.org), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (tenant_id, entity_id, period_id, date, memo, reference, source,"
            " idempotency_key, posted_at) VALUES (%s, %s, %s, %s, 'x', '', 'manual', 'raw-3', now()) RETURNING id",
            [books.org.pk, entry.entity_id, entry.period_id, entry.date],
        )
        (new_id,) = cursor.fetchone()
        with pytest.raises(DatabaseError, match="journalline_entry_fk"), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date,"
                " account_id, amount, txn_amount, txn_currency, rate, memo) VALUES"
                " (%s, %s, 1, %s, %s, %s, %s, 10, 10, 'USD', 1, ''), (%s, %s, 2, %s, %s, %s, %s, -10, -10, 'USD', 1, '')",
                [books.org.pk, new_id, entry.entity_id, other_period.pk, date(2026, 4, 2), books.cash.pk,
                 books.org.pk, new_id, entry.entity_id, other_period.pk, date(2026, 4, 2), books.rent.pk],
            )


# A bulk insert (the GL import's) is checked set-wise, matching its entries by one join: the same
# rules and messages as for one entry.
BULK_ENTRIES = 1200


def _bulk(books, cursor, *, change: str = "") -> None:
    period = period_ensure(tenant=books.org, d=date(2026, 3, 1))
    other = period_ensure(tenant=books.org, d=date(2026, 4, 1))
    cursor.execute(
        "INSERT INTO ledger_journalentry (tenant_id, entity_id, period_id, date, memo, reference, source,"
        " idempotency_key, posted_at)"
        " SELECT %s, %s, %s, %s, 'bulk', '', 'import', 'bulk-' || n, now() FROM generate_series(1, %s) n"
        " RETURNING id",
        [books.org.pk, books.usd.pk, period.pk, date(2026, 3, 10), BULK_ENTRIES],
    )
    ids = sorted(row[0] for row in cursor.fetchall())
    odd = ids[len(ids) // 2]
    rows = []
    for entry_id in ids:
        period_id, day, amount = period.pk, date(2026, 3, 10), Decimal("10")
        if entry_id == odd and change == "period":
            period_id, day = other.pk, date(2026, 4, 10)
        rows.append((entry_id, 1, period_id, day, books.cash.pk, amount))
        rows.append((entry_id, 2, period_id, day, books.rent.pk,
                     -amount + (1 if entry_id == odd and change == "unbalanced" else 0)))
    if change == "posted":
        posted = sale(books).entry
        rows += [(posted.pk, 3, posted.period_id, posted.date, books.cash.pk, Decimal("5")),
                 (posted.pk, 4, posted.period_id, posted.date, books.rent.pk, Decimal("-5"))]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, 'USD', 1, '')"] * len(rows))
    cursor.execute(
        "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date, account_id,"
        f" amount, txn_amount, txn_currency, rate, memo) VALUES {values}",
        [v for (entry_id, n, period_id, day, account, amount) in rows
         for v in (books.org.pk, entry_id, n, books.usd.pk, period_id, day, account, amount, amount)],
    )


def test_a_bulk_insert_of_balanced_entries_is_rolled_up(books):
    with tenant_context(books.org), connection.cursor() as cursor:
        _bulk(books, cursor)
        assert PeriodBalance.objects.get(account=books.cash).amount == Decimal(10 * BULK_ENTRIES)
        assert PeriodBalance.objects.get(account=books.rent).line_count == BULK_ENTRIES


@pytest.mark.parametrize(("change", "message"), [
    ("period", "journalline_entry_fk: a line of journal entry [0-9]+ does not match"),
    ("unbalanced", "journal entry [0-9]+ does not balance: 2 lines sum to 1"),
    ("posted", "lines cannot be added to a posted journal entry"),
])
def test_a_bulk_insert_is_refused_for_one_bad_entry(books, change, message):
    with tenant_context(books.org), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match=message), transaction.atomic():
            _bulk(books, cursor, change=change)


@pytest.mark.parametrize(("numbers", "message"), [
    ((3, 4), "lines cannot be added to a posted journal entry"),  # lines 1 … n, in one statement
    ((1, 2), "journalline_entry_line_unique"),  # … so a second statement's line 1 meets the first's
    ((2, 3), "lines must be numbered 1 to 2 in one statement"),
])
def test_an_entrys_lines_are_numbered_from_one_in_a_single_statement(books, numbers, message):
    entry = sale(books).entry
    with tenant_context(books.org), connection.cursor() as cursor:
        if numbers == (2, 3):  # a new entry, numbered from 2
            cursor.execute(
                "INSERT INTO ledger_journalentry (tenant_id, entity_id, period_id, date, memo, reference, source,"
                " idempotency_key, posted_at) VALUES (%s, %s, %s, %s, 'x', '', 'manual', 'raw-4', now()) RETURNING id",
                [books.org.pk, entry.entity_id, entry.period_id, entry.date],
            )
            (entry_id,) = cursor.fetchone()
        else:
            entry_id = entry.pk
        with pytest.raises(DatabaseError, match=message), transaction.atomic():
            cursor.execute(
                "INSERT INTO ledger_journalline (tenant_id, entry_id, line_no, entity_id, period_id, date,"
                " account_id, amount, txn_amount, txn_currency, rate, memo) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, 5, 5, 'USD', 1, ''), (%s, %s, %s, %s, %s, %s, %s, -5, -5, 'USD', 1, '')",
                [books.org.pk, entry_id, numbers[0], entry.entity_id, entry.period_id, entry.date, books.cash.pk,
                 books.org.pk, entry_id, numbers[1], entry.entity_id, entry.period_id, entry.date, books.rent.pk],
            )
    with tenant_context(books.org):
        assert PeriodBalance.objects.get(account=books.cash).amount == Decimal("100.0000")
