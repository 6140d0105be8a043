"""`round_parts`: exact, signed costs (fractions of a cent) rounded to the minor unit so that the
parts sum to their exact total rounded once, each part within one unit of its exact value."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from finops.ledger.money import round_money, round_parts

COSTS = st.lists(st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=12,
                             allow_nan=False, allow_infinity=False), min_size=1, max_size=60)


@given(amounts=COSTS, currency=st.sampled_from(["USD", "JPY", "KWD"]))
def test_the_parts_sum_to_the_exact_total_rounded_once_and_each_stays_within_a_unit(amounts, currency):
    parts = round_parts(amounts, currency)

    step = Decimal(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[currency])
    assert sum(parts) == round_money(sum(amounts), currency)
    assert all(p == round_money(p, currency) for p in parts)
    assert all(abs(p - a) < step for p, a in zip(parts, amounts, strict=True))


def test_the_units_rounding_gained_go_back_from_the_parts_it_moved_furthest_then_the_earliest():
    # 0.005 × 3 = 0.015 → 0.02; one by one they would be 0.03: the first part gives its cent back.
    assert round_parts([Decimal("0.005")] * 3, "USD") == [Decimal("0"), Decimal("0.01"), Decimal("0.01")]
    # 0.004 × 3 = 0.012 → 0.01; one by one 0.00: the first part takes the cent.
    assert round_parts([Decimal("0.004")] * 3, "USD") == [Decimal("0.01"), Decimal("0"), Decimal("0")]
    # The part whose rounding moved furthest gives back first, whatever its place.
    assert round_parts([Decimal("1.005"), Decimal("2.0051"), Decimal("3.009")], "USD") == [
        Decimal("1.00"), Decimal("2.01"), Decimal("3.01")]
    assert round_parts([Decimal("-0.005"), Decimal("-0.005")], "USD") == [Decimal("0"), Decimal("-0.01")]
