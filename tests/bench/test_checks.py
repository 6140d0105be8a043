"""The benchmark's result check (`bench.budgets.same_rows`): a service and its hand-written limit
must give the same rows, to the cent, before their times are compared."""

from __future__ import annotations

from decimal import Decimal as D

from bench.budgets import Check, limit_rows, same_rows

SERVICE = [
    ("row", "expense", 7, 3, D("120.50"), D("100.00"), True, D("1200.00")),
    ("row", "expense", 7, None, D("80.00"), D("0.00"), False, D("80.00")),
    ("total", "expense", None, None, D("200.50"), D("100.00"), True, D("1280.00")),
]


def test_the_same_rows_in_another_order_and_with_other_trailing_zeros_are_the_same():
    limit = [
        ("total", "expense", None, None, D("200.5000"), D("100"), True, D("1280.0000")),
        ("row", "expense", 7, None, D("80.0000"), D("0"), False, D("80")),
        ("row", "expense", 7, 3, D("120.5"), D("100.0000"), True, D("1200")),
    ]
    check = same_rows(SERVICE, limit)
    assert (check.same, check.rows, check.detail) == (True, 3, "")
    assert check.line("budget vs actual, month") == (
        "budget vs actual, month: 3 rows, identical (Decimal-exact) to the hand-written query")


def test_one_cent_apart_is_a_difference_and_names_both_rows():
    limit = [*SERVICE[:1], ("row", "expense", 7, None, D("80.01"), D("0.00"), False, D("80.00")), SERVICE[2]]
    check = same_rows(SERVICE, limit)
    assert not check.same
    assert check.detail == (
        "first difference: service ('row', 'expense', 7, None, Decimal('80.00'), Decimal('0.00'), False, "
        "Decimal('80.00')) ≠ limit ('row', 'expense', 7, None, Decimal('80.01'), Decimal('0.00'), False, "
        "Decimal('80.00'))")
    assert check.line("budget vs actual, month").startswith("budget vs actual, month: NOT the same — first difference")


def test_a_missing_row_is_a_difference_in_count():
    check = same_rows(SERVICE, SERVICE[:2])
    assert (check.same, check.rows, check.detail) == (False, 3, "3 rows from the service, 2 from the limit")


def test_a_float_is_refused_even_when_it_compares_equal():
    limit = [SERVICE[0], SERVICE[1], ("total", "expense", None, None, 200.5, D("100.00"), True, D("1280.00"))]
    check = same_rows(SERVICE, limit)
    assert not check.same
    assert check.detail == "a float in the limit's row ('total', 'expense', None, None, 200.5, Decimal('100.00'), True, " \
                           "Decimal('1280.00'))"


def test_a_has_budget_flag_that_differs_is_a_difference():
    limit = [SERVICE[0], ("row", "expense", 7, None, D("80.00"), D("0.00"), True, D("80.00")), SERVICE[2]]
    assert not same_rows(SERVICE, limit).same


def test_two_empty_results_are_the_same():
    assert same_rows([], []) == Check(True, 0)


def test_the_limits_columns_become_the_compared_figures():
    fetched = [  # type, account, cost center, is_total, actual, budget, budget lines, actual YTD, budget after, labels
        ("expense", 7, 3, False, D("120.50"), D("100.00"), 2, D("900.00"), D("300.00"), "6000", "Rent", "OPS", "Ops"),
        ("expense", 7, None, False, D("80.00"), D("0"), 0, D("80.00"), D("0"), "6000", "Rent", None, None),
        ("expense", None, None, True, D("200.50"), D("100.00"), 2, D("980.00"), D("300.00"), None, None, None, None),
    ]
    assert limit_rows(fetched) == [
        ("row", "expense", 7, 3, D("120.50"), D("100.00"), True, D("1200.00")),
        ("row", "expense", 7, None, D("80.00"), D("0"), False, D("80.00")),
        ("total", "expense", None, None, D("200.50"), D("100.00"), True, D("1280.00")),
    ]
