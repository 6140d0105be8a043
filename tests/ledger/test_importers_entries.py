"""GL import, entries as a whole: an entry with a bad row is not written, but its balance is
still checked when its amounts are readable, so one pass reports every problem."""

from __future__ import annotations

import pytest

from tests.ledger.gl_files import csv_file, ledger_state, problems, run

pytestmark = pytest.mark.usefixtures("write_mode")  # every test both ways a file is written (conftest)


def test_a_bad_account_does_not_hide_that_its_entry_does_not_balance(books):
    result = run(books, csv_file(
        "2026-03-05,INV-1,US,6100,OPS,1200.00,,March rent",
        "2026-03-05,INV-1,US,9999,,-1100.00,,March rent",
    ))

    assert problems(result) == [
        (2, "Entry “INV-1” (lines 2, 3) does not balance: debits 1,200.00 ≠ credits 1,100.00 "
            "(difference 100.00 USD)."),
        (3, "Unknown account “9999”."),
    ]
    assert result.summary() == "2 problems found: nothing was imported."
    assert ledger_state(books.org) == (0, 0, 0)


def test_a_balanced_entry_with_a_bad_account_reports_only_the_account(books):
    result = run(books, csv_file(
        "2026-03-05,INV-1,US,6100,OPS,1200.00,,March rent",
        "2026-03-05,INV-1,US,9999,,-1200.00,,March rent",
    ))

    assert problems(result) == [(3, "Unknown account “9999”.")]


def test_every_problem_of_several_bad_rows_and_their_imbalance_is_reported_at_once(books):
    result = run(books, csv_file(
        "2026-03-05,INV-1,US,6100,NOPE,1200.00,,March rent",
        "2026-03-05,INV-1,US,2000,,-700.00,,March rent",
        "2026-03-05,INV-1,US,2001,,-400.00,,March rent",
        "2026-03-20,INV-2,US,6200,SALES,300.50,,Licences",
        "2026-03-20,INV-2,US,2000,,-300.50,,Licences",
    ))

    assert problems(result) == [
        (2, "Unknown cost center “NOPE”."),
        (2, "Entry “INV-1” (lines 2, 3, 4) does not balance: debits 1,200.00 ≠ credits 1,100.00 "
            "(difference 100.00 USD)."),
        (4, "Unknown account “2001”."),
    ]
    assert ledger_state(books.org) == (0, 0, 0)


def test_a_foreign_line_with_a_bad_cost_center_is_compared_after_translation(books):
    # 100.00 EUR at 1.0850 is 108.50 USD; the credit is 100.00 USD.
    result = run(books, csv_file(
        "2026-03-05,FX-1,US,6100,NOPE,100.00,EUR,Paris hotel",
        "2026-03-05,FX-1,US,2000,,-100.00,USD,Paris hotel",
    ))

    assert problems(result) == [
        (2, "Unknown cost center “NOPE”."),
        (2, "Entry “FX-1” (lines 2, 3) does not balance: debits 108.50 ≠ credits 100.00 (difference 8.50 USD)."),
    ]


def test_a_lone_bad_row_is_also_told_that_an_entry_needs_two_lines(books):
    result = run(books, csv_file("2026-03-05,ONE,US,9999,,50.00,,"))

    assert problems(result) == [
        (2, "Unknown account “9999”."),
        (2, "Entry “ONE” has only one line: an entry needs at least two lines that balance."),
    ]


def test_an_unreadable_amount_leaves_the_balance_unjudged(books):
    result = run(books, csv_file(
        "2026-03-05,INV-1,US,6100,OPS,12.3.4,,March rent",
        "2026-03-05,INV-1,US,2000,,-1100.00,,March rent",
    ))

    assert problems(result) == [
        (2, "amount “12.3.4” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
    ]


def test_an_unknown_currency_leaves_the_balance_unjudged(books):
    result = run(books, csv_file(
        "2026-03-05,INV-1,US,6100,OPS,1200.00,XXY,March rent",
        "2026-03-05,INV-1,US,2000,,-1100.00,,March rent",
    ))

    assert problems(result) == [(2, "Unknown currency “XXY”.")]
