"""The ROI-driven reallocation solver: exact small cases, exact money, transfers, validation messages."""

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from budgets.transfers.allocation import (
    AllocationProposal,
    CandidateLine,
    ProposedLine,
    ResponseCurve,
    _round_to_bounds,
    curve_from_attribution,
    curve_from_roi,
    proposal_transfers,
    propose_allocation,
)
from finops.errors import DomainError

D = Decimal


def line(key, current, curve, *, minimum="0", maximum="1000000", label=None):
    return CandidateLine(
        key=key, label=label or key, current=D(current), minimum=D(minimum), maximum=D(maximum), curve=curve
    )


def allocation(proposal):
    return {p.key: p.after for p in proposal.lines}


def search_and_social(**social):
    return [
        line("search", "500.00", curve_from_roi("3", saturation="1000"), maximum="2000.00"),
        line("social", "1500.00", curve_from_roi("2"), maximum=social.pop("maximum", "2000.00"), **social),
    ]


# --- exact allocations computed by hand -------------------------------------------------------


def test_money_moves_to_the_channel_with_the_higher_return_until_it_saturates():
    # Search earns 3 per unit up to 1,000 then nothing; Social earns 2 per unit throughout.
    proposal = propose_allocation(lines=search_and_social(), currency="USD")

    assert allocation(proposal) == {"search": D("1000.00"), "social": D("1000.00")}
    assert [(p.before, p.after, p.change) for p in proposal.lines] == [
        (D("500.00"), D("1000.00"), D("500.00")),
        (D("1500.00"), D("1000.00"), D("-500.00")),
    ]
    assert [(p.return_before, p.return_after) for p in proposal.lines] == [
        (D("1500.00"), D("3000.00")),
        (D("3000.00"), D("2000.00")),
    ]
    assert proposal.total == D("2000.00")
    assert (proposal.return_before, proposal.return_after) == (D("4500.00"), D("5000.00"))
    assert proposal.uplift == D("500.00")
    assert proposal.uplift_pct == D("11.11")
    assert proposal.changed is True


def test_a_maximum_caps_the_better_channel_and_the_rest_stays_with_the_other():
    lines = search_and_social()
    lines[0] = line("search", "500.00", curve_from_roi("3", saturation="1000"), maximum="800.00")

    proposal = propose_allocation(lines=lines, currency="USD")

    assert allocation(proposal) == {"search": D("800.00"), "social": D("1200.00")}
    assert proposal.return_after == D("4800.00")
    assert proposal.uplift == D("300.00")


def test_a_minimum_above_the_current_amount_is_honoured_even_when_it_costs_return():
    proposal = propose_allocation(lines=search_and_social(minimum="1600.00"), currency="USD")

    assert allocation(proposal) == {"search": D("400.00"), "social": D("1600.00")}
    assert proposal.return_after == D("4400.00")
    assert proposal.uplift == D("-100.00")


def test_three_curves_with_diminishing_returns_fill_their_best_pieces_first():
    lines = [
        # slopes 3, then 1, then flat
        line("a", "200", ResponseCurve.from_points([("0", "0"), ("100", "300"), ("300", "500")])),
        # slopes 2, then 0.5, then flat
        line("b", "200", ResponseCurve.from_points([("100", "200"), ("200", "400"), ("400", "500")])),
        line("c", "200", curve_from_roi("1.5")),
    ]

    proposal = propose_allocation(lines=lines, currency="USD")

    # 100 at 3 (a), 200 at 2 (b), then 300 at 1.5 (c) beats a's 1 and b's 0.5.
    assert allocation(proposal) == {"a": D("100"), "b": D("200"), "c": D("300")}
    assert [p.return_after for p in proposal.lines] == [D("300.00"), D("400.00"), D("450.00")]
    assert (proposal.return_before, proposal.return_after) == (D("1100.00"), D("1150.00"))
    assert proposal.uplift_pct == D("4.55")


def test_equal_returns_leave_every_line_where_it_is():
    lines = [line(k, amount, curve_from_roi("2")) for k, amount in [("x", "10.00"), ("y", "20.00"), ("z", "30.00")]]

    proposal = propose_allocation(lines=lines, currency="EUR")

    assert allocation(proposal) == {"x": D("10.00"), "y": D("20.00"), "z": D("30.00")}
    assert proposal.uplift == D("0.00")
    assert proposal.changed is False
    assert proposal_transfers(proposal) == []


def test_an_already_optimal_allocation_is_not_disturbed_by_ties_past_saturation():
    # Both saturate at 100; past that neither earns anything, so the extra 50 may sit anywhere:
    # the proposal keeps it where it already is.
    lines = [
        line("a", "100", curve_from_roi("4", saturation="100")),
        line("b", "150", curve_from_roi("3", saturation="100")),
    ]

    proposal = propose_allocation(lines=lines, currency="USD")

    assert allocation(proposal) == {"a": D("100"), "b": D("150")}


def test_only_the_saturated_excess_moves_when_other_moves_would_earn_the_same():
    # All earn 2 per unit until saturation. Radio is 50 past its saturation point: that 50 goes
    # to Social. Emptying Radio and Search into Social would earn the same 900 but move 300.
    lines = [
        line("radio", "100.00", curve_from_roi("2", saturation="50")),
        line("search", "200.00", curve_from_roi("2", saturation="200")),
        line("social", "150.00", curve_from_roi("2")),
    ]

    proposal = propose_allocation(lines=lines, currency="USD")

    assert allocation(proposal) == {"radio": D("50.00"), "search": D("200.00"), "social": D("200.00")}
    assert (proposal.return_before, proposal.return_after) == (D("800.00"), D("900.00"))
    assert [(t.source, t.destination, t.amount) for t in proposal_transfers(proposal)] == [
        ("radio", "social", D("50.00"))
    ]


def test_amounts_are_rounded_to_the_minor_unit_and_sum_exactly_to_the_total_in_yen():
    # The optimum is 333.333 / 666.667 yen; yen has no minor unit, the remainder goes to the
    # largest rounding loss.
    lines = [
        line("a", "500", curve_from_roi("3", saturation="333.333")),
        line("b", "500", curve_from_roi("1")),
    ]

    proposal = propose_allocation(lines=lines, currency="JPY")

    assert allocation(proposal) == {"a": D("333"), "b": D("667")}
    assert [p.return_after for p in proposal.lines] == [D("999"), D("667")]
    assert (proposal.return_before, proposal.return_after) == (D("1500"), D("1666"))


def test_no_move_is_proposed_when_rounding_leaves_nothing_to_gain():
    # The exact optimum (333.4 / 666.6 yen) cannot be paid in yen; its nearest whole-yen
    # allocation earns no more than the current one, so the current one stands.
    lines = [
        line("a", "334", curve_from_roi("3", saturation="333.4")),
        line("b", "666", curve_from_roi("1")),
    ]

    proposal = propose_allocation(lines=lines, currency="JPY")

    assert allocation(proposal) == {"a": D("334"), "b": D("666")}
    assert proposal.changed is False


def test_rounding_keeps_each_line_within_its_bounds_even_when_the_solver_floats_fall_short():
    lines = [
        line("a", "500.00", curve_from_roi("1"), minimum="20.00", maximum="100.00"),
        line("b", "500.00", curve_from_roi("1"), minimum="0.00", maximum="950.00"),
    ]

    # Floats that undershoot the total: scaled up naively, "a" would get 1,000.
    assert _round_to_bounds([100.0, 0.0], lines, D("1000.00"), "USD") == [D("100.00"), D("900.00")]
    assert _round_to_bounds([0.0, 999.999999], lines, D("1000.00"), "USD") == [D("50.00"), D("950.00")]


def test_a_uplift_percentage_is_absent_when_nothing_was_earned_before():
    lines = [
        line("idle", "100.00", curve_from_roi("0")),
        line("busy", "0.00", curve_from_roi("2")),
    ]

    proposal = propose_allocation(lines=lines, currency="USD")

    assert allocation(proposal) == {"idle": D("0.00"), "busy": D("100.00")}
    assert (proposal.return_before, proposal.uplift) == (D("0.00"), D("200.00"))
    assert proposal.uplift_pct is None


def test_a_curve_from_attributed_revenue_earns_revenue_over_cost_per_unit():
    curve = curve_from_attribution("45000.00", "15000.00", saturation="20000")

    assert curve.expected_return(D("10000")) == D("30000")
    assert curve.expected_return(D("25000")) == D("60000")  # flat past the saturation point
    assert curve_from_roi("2.5").expected_return(D("1000000")) == D("2500000.0")


def test_a_curve_with_a_baseline_at_zero_spend_keeps_it():
    curve = ResponseCurve.from_points([(0, 50), (100, 250)])

    assert curve.expected_return(D("0")) == D("50")
    assert curve.expected_return(D("40")) == D("130")
    assert curve.expected_return(D("400")) == D("250")


# --- transfers --------------------------------------------------------------------------------


def proposed(key, before, after):
    return ProposedLine(
        key=key, label=key.upper(), minimum=D(0), maximum=D(10_000), before=D(before), after=D(after),
        return_before=D(0), return_after=D(0),
    )


def test_transfers_pair_equal_amounts_first_then_largest_decrease_to_largest_increase():
    proposal = AllocationProposal(
        currency="USD",
        lines=(
            proposed("a", "100.00", "50.00"),  # gives 50
            proposed("b", "100.00", "70.00"),  # gives 30
            proposed("c", "100.00", "130.00"),  # takes 30
            proposed("d", "100.00", "120.00"),  # takes 20
            proposed("e", "100.00", "130.00"),  # takes 30
            proposed("f", "100.00", "100.00"),  # unchanged
        ),
        total=D("600.00"), return_before=D(0), return_after=D(0),
    )

    transfers = proposal_transfers(proposal)

    assert [(t.source, t.destination, t.amount) for t in transfers] == [
        ("b", "c", D("30.00")),
        ("a", "e", D("30.00")),
        ("a", "d", D("20.00")),
    ]
    assert (transfers[0].source_label, transfers[0].destination_label) == ("B", "C")


def test_transfers_of_an_accepted_proposal_reproduce_it_exactly():
    proposal = propose_allocation(lines=search_and_social(), currency="USD")

    transfers = proposal_transfers(proposal)

    assert [(t.source, t.destination, t.amount) for t in transfers] == [("social", "search", D("500.00"))]


# --- properties -------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=2_000_000).map(lambda n: D(n) / 100)


@st.composite
def concave_curves(draw):
    slopes = sorted(draw(st.lists(st.integers(0, 500), min_size=1, max_size=4)), reverse=True)
    lengths = draw(st.lists(st.integers(1, 1_000_000), min_size=len(slopes), max_size=len(slopes)))
    spend, ret, points = D(0), D(0), [(D(0), D(0))]
    for slope, length in zip(slopes, lengths, strict=True):
        spend += D(length) / 100
        ret += D(length) / 100 * D(slope) / 100
        points.append((spend, ret))
    tail = draw(st.integers(0, slopes[-1]))
    return ResponseCurve(points=tuple(points), tail_roi=D(tail) / 100)


@st.composite
def candidate_lines(draw):
    count = draw(st.integers(2, 5))
    lines = []
    for i in range(count):
        low, high = sorted([draw(cents), draw(cents)])
        current = draw(st.one_of(st.integers(0, 2_000_000).map(lambda n: D(n) / 100), st.just(low), st.just(high)))
        lines.append(line(f"l{i}", current, draw(concave_curves()), minimum=low, maximum=high))
    total = sum(x.current for x in lines)
    assume(sum(x.minimum for x in lines) <= total <= sum(x.maximum for x in lines))
    return lines


def greedy_optimum(lines):
    """Exact reference: everyone at its minimum, then the best remaining pieces by return per unit."""
    amounts = [x.minimum for x in lines]
    remaining = sum(x.current for x in lines) - sum(amounts)
    pieces = []
    for i, x in enumerate(lines):
        cuts = sorted({s for s, _ in x.curve.breakpoints() if x.minimum < s < x.maximum} | {x.minimum, x.maximum})
        for start, end in zip(cuts, cuts[1:], strict=False):
            slope = (x.curve.expected_return(end) - x.curve.expected_return(start)) / (end - start)
            pieces.append((-slope, i, start, end - start))
    for _, i, _, length in sorted(pieces):
        step = min(length, remaining)
        amounts[i] += step
        remaining -= step
    return sum(x.curve.expected_return(a) for x, a in zip(lines, amounts, strict=True))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(lines=candidate_lines())
def test_a_proposal_keeps_the_total_to_the_cent_respects_bounds_and_never_earns_less(lines):
    proposal = propose_allocation(lines=lines, currency="USD")

    assert sum(p.after for p in proposal.lines) == sum(x.current for x in lines) == proposal.total
    for p, x in zip(proposal.lines, lines, strict=True):
        assert x.minimum <= p.after <= x.maximum
        assert p.after == p.after.quantize(D("0.01"))
        assert p.change == p.after - p.before
    if all(x.minimum <= x.current <= x.maximum for x in lines):
        assert proposal.return_after >= proposal.return_before
    # As good as the exact greedy optimum, up to a cent of rounding per line.
    assert proposal.return_after >= greedy_optimum(lines) - D("0.01") * len(lines)

    balance = {p.key: p.before for p in proposal.lines}
    for t in proposal_transfers(proposal):
        assert t.amount > 0
        balance[t.source] -= t.amount
        balance[t.destination] += t.amount
    assert balance == {p.key: p.after for p in proposal.lines}
    assert len(proposal_transfers(proposal)) <= max(sum(1 for p in proposal.lines if p.change) - 1, 0)


# --- validation messages ----------------------------------------------------------------------


def messages(lines, currency="USD"):
    with pytest.raises(DomainError) as caught:
        propose_allocation(lines=lines, currency=currency)
    return str(caught.value)


def test_a_curve_whose_return_per_unit_rises_is_refused_naming_the_line():
    convex = ResponseCurve.from_points([(0, 0), (100, 100), (200, 300)])
    lines = [line("a", "100", curve_from_roi("1")), line("b", "100", convex, label="Display ads")]

    assert messages(lines) == (
        "“Display ads”: the response curve is not concave: the return per unit of spend rises from "
        "1 to 2 at spend 100. Each extra unit of spend must earn the same or less than the one before "
        "(diminishing returns)."
    )


def test_a_tail_roi_above_the_last_piece_is_not_concave_either():
    curve = ResponseCurve(points=((D(0), D(0)), (D(100), D(100))), tail_roi=D("1.5"))
    lines = [line("a", "100", curve_from_roi("1")), line("b", "100", curve, label="Video")]

    assert "“Video”: the response curve is not concave: the return per unit of spend rises from 1 to 1.5 at spend 100." in messages(lines)


def test_a_falling_return_is_refused():
    curve = ResponseCurve.from_points([(0, 0), (100, 300), (200, 250)])
    lines = [line("a", "100", curve_from_roi("1")), line("b", "100", curve, label="Print")]

    assert messages(lines) == (
        "“Print”: the expected return falls from 300 to 250 between spend 100 and 200; "
        "a response curve may flatten but not fall."
    )


def test_a_minimum_above_the_maximum_is_refused():
    lines = [line("a", "100", curve_from_roi("1"), minimum="50", maximum="40", label="Events"),
             line("b", "100", curve_from_roi("1"))]

    assert messages(lines) == "“Events”: the minimum (50) is above the maximum (40)."


def test_a_total_below_the_minimums_is_refused():
    lines = [line("a", "100", curve_from_roi("1"), minimum="150"), line("b", "100", curve_from_roi("1"), minimum="60")]

    assert messages(lines) == (
        "The lines hold 200 in total but their minimums add up to 210: lower some minimums, "
        "or add lines that can give."
    )


def test_a_total_above_the_maximums_is_refused():
    lines = [line("a", "100", curve_from_roi("1"), maximum="120"), line("b", "100", curve_from_roi("1"), maximum="70")]

    assert messages(lines) == (
        "The lines hold 200 in total but their maximums only add up to 190: raise some maximums, "
        "or add lines that can take more."
    )


def test_fewer_than_two_lines_are_refused():
    assert messages([line("a", "100", curve_from_roi("1"))]) == (
        "Pick at least two lines: a reallocation moves money between lines."
    )


@pytest.mark.parametrize(("field", "expected"), [
    ("current", "“a”: the current amount must not be negative (got -1)."),
    ("minimum", "“a”: the minimum must not be negative (got -1)."),
    ("maximum", "“a”: the maximum must not be negative (got -1)."),
])
def test_negative_amounts_are_refused(field, expected):
    values = {"current": "100", "minimum": "0", "maximum": "1000", field: "-1"}
    bad = line("a", values["current"], curve_from_roi("1"), minimum=values["minimum"], maximum=values["maximum"])

    assert messages([bad, line("b", "100", curve_from_roi("1"))]) == expected


def test_a_negative_point_on_a_curve_is_refused():
    curve = ResponseCurve.from_points([(0, 0), (100, -5)])

    assert messages([line("a", "1", curve_from_roi("1")), line("b", "1", curve)]) == (
        "“b”: the response curve has a negative value at (100 → -5)."
    )


def test_negative_or_unusable_roi_inputs_are_refused():
    with pytest.raises(DomainError, match=r"^The return per unit of spend must not be negative \(got -0.5\)\.$"):
        curve_from_roi("-0.5")
    with pytest.raises(DomainError, match=r"^The channel cost must be above zero to compute a return per unit"):
        curve_from_attribution("100.00", "0.00")
    with pytest.raises(DomainError, match=r"^The attributed revenue must not be negative \(got -1\)\.$"):
        curve_from_attribution("-1", "10")
    with pytest.raises(DomainError, match=r"^The saturation spend must be above zero \(got 0\)\.$"):
        curve_from_roi("2", saturation="0")
    with pytest.raises(DomainError, match=r"^A curve's spend: 'lots' is not a number\.$"):
        ResponseCurve.from_points([("lots", "1")])
    with pytest.raises(DomainError, match=r"^A curve's return must be given as a decimal number, not 0\.1\.$"):
        ResponseCurve.from_points([("1", 0.1)])


def test_amounts_finer_than_the_currency_allows_are_refused():
    lines = [line("a", "100.5", curve_from_roi("1")), line("b", "100", curve_from_roi("1"))]

    assert messages(lines, currency="JPY") == "“a”: the current amount 100.5 has more decimals than JPY allows."


def test_the_same_line_picked_twice_and_an_empty_curve_are_refused():
    assert messages([line("a", "1", curve_from_roi("1")), line("a", "1", curve_from_roi("1"))]) == (
        "Line “a” is picked twice."
    )
    empty = ResponseCurve(points=())
    assert messages([line("a", "1", curve_from_roi("1")), line("b", "1", empty)]) == (
        "“b”: the response curve needs at least one point (spend → expected return)."
    )
