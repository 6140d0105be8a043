"""ROI-driven reallocation: move a fixed total between budget lines to earn the most expected return.

Each candidate line (a marketing channel, an initiative) has a response curve: a few points
"spend → expected return" joined by straight lines, with diminishing returns, i.e. the return per
extra unit of spend never rises as spend grows (a concave curve). The curve starts at (0, 0) unless
a point at spend 0 says otherwise, and past its last point it earns `tail_roi` per extra unit
(0 by default: the channel is saturated).

Because every curve is concave and piecewise linear, "maximise the total return of the same total
spend within each line's min / max" is a linear programme over segment variables: one variable per
straight piece of each curve, bounded by the piece's length, worth its slope per unit. Decreasing
slopes mean the solver fills a line's cheap-to-earn pieces first without any ordering constraint.
HiGHS (`scipy.optimize.linprog(method="highs")`) solves it.

Ties are broken towards leaving money where it is: each curve is also cut at the line's current
amount, and the pieces below it get a bonus smaller than a quarter of the smallest gap between two
distinct slopes (pieces above it the same malus). That refines the order of the pieces without
changing which allocations are optimal, so equal marginal returns never cause pointless moves.

Money stays `Decimal` at the edges: the solver works in floats, its answer is rounded back to the
currency's minor unit with `split_exact` so the proposed amounts sum exactly to the total (the
remainder on the largest rounding loss, then the earliest line) and each stays within its bounds.
Expected returns are evaluated exactly on the curves in `Decimal`, never taken from the solver.

This module is pure: no database, no models. Services feed it lines and turn an accepted proposal
into transfer requests with `proposal_transfers`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from finops.errors import DomainError
from finops.ledger.money import is_valid_currency, round_money, split_exact

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _decimal(value, what: str) -> Decimal:
    """Decimal from a Decimal, an int or a string; floats are refused (they are not money)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise DomainError(f"{what} must be given as a decimal number, not {value!r}.")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"{what}: {value!r} is not a number.") from None
    if not number.is_finite():
        raise DomainError(f"{what}: {value!r} is not a number.")
    return number


@dataclass(frozen=True)
class ResponseCurve:
    """Expected return as a function of spend: points (spend, return) and the ROI past the last one."""

    points: tuple[tuple[Decimal, Decimal], ...]
    tail_roi: Decimal = ZERO

    @classmethod
    def from_points(cls, points: Iterable[Sequence], *, tail_roi=ZERO) -> ResponseCurve:
        """Build a curve from pairs of numbers (Decimal, int or str), sorted by spend."""
        pairs = [(_decimal(p[0], "A curve's spend"), _decimal(p[1], "A curve's return")) for p in points]
        return cls(points=tuple(sorted(pairs)), tail_roi=_decimal(tail_roi, "The return past the curve"))

    def breakpoints(self) -> list[tuple[Decimal, Decimal]]:
        """The points with the implicit origin (0, 0) in front when no point sits at spend 0."""
        points = list(self.points)
        if not points or points[0][0] > 0:
            points.insert(0, (ZERO, ZERO))
        return points

    def slopes(self) -> list[Decimal]:
        """Return per unit of each piece, in spend order, then the tail ROI."""
        pts = self.breakpoints()
        return [(r1 - r0) / (s1 - s0) for (s0, r0), (s1, r1) in zip(pts, pts[1:], strict=False)] + [self.tail_roi]

    def expected_return(self, spend: Decimal) -> Decimal:
        """The return at `spend`, exact up to Decimal precision (interpolated, then the tail)."""
        pts = self.breakpoints()
        for (s0, r0), (s1, r1) in zip(pts, pts[1:], strict=False):
            if spend <= s1:
                return r0 + (spend - s0) * (r1 - r0) / (s1 - s0)
        last_spend, last_return = pts[-1]
        return last_return + (spend - last_spend) * self.tail_roi


def curve_from_roi(roi, *, saturation=None) -> ResponseCurve:
    """A constant return per unit of spend (`roi`), optionally flat past `saturation` spend."""
    roi = _decimal(roi, "The return per unit of spend")
    if roi < 0:
        raise DomainError(f"The return per unit of spend must not be negative (got {roi}).")
    if saturation is None:
        return ResponseCurve(points=((ZERO, ZERO),), tail_roi=roi)
    saturation = _decimal(saturation, "The saturation spend")
    if saturation <= 0:
        raise DomainError(f"The saturation spend must be above zero (got {saturation}).")
    return ResponseCurve(points=((ZERO, ZERO), (saturation, roi * saturation)), tail_roi=ZERO)


def curve_from_attribution(attributed_revenue, channel_cost, *, saturation=None) -> ResponseCurve:
    """A constant ROI of attributed revenue ÷ channel cost (from revenue attribution), see `curve_from_roi`."""
    revenue = _decimal(attributed_revenue, "The attributed revenue")
    cost = _decimal(channel_cost, "The channel cost")
    if revenue < 0:
        raise DomainError(f"The attributed revenue must not be negative (got {revenue}).")
    if cost <= 0:
        raise DomainError(
            f"The channel cost must be above zero to compute a return per unit of spend (got {cost})."
        )
    return curve_from_roi(revenue / cost, saturation=saturation)


@dataclass(frozen=True)
class CandidateLine:
    """A budget line offered to the solver. Amounts are in the proposal's currency."""

    key: Hashable  # the budget line's id, used by the transfers
    label: str
    current: Decimal
    minimum: Decimal
    maximum: Decimal
    curve: ResponseCurve


@dataclass(frozen=True)
class ProposedLine:
    key: Hashable
    label: str
    minimum: Decimal
    maximum: Decimal
    before: Decimal
    after: Decimal
    return_before: Decimal
    return_after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before

    @property
    def return_change(self) -> Decimal:
        return self.return_after - self.return_before


@dataclass(frozen=True)
class AllocationProposal:
    """The solver's answer: per line before / after and expected returns, with totals and uplift."""

    currency: str
    lines: tuple[ProposedLine, ...]
    total: Decimal
    return_before: Decimal
    return_after: Decimal

    @property
    def uplift(self) -> Decimal:
        return self.return_after - self.return_before

    @property
    def uplift_pct(self) -> Decimal | None:
        """Uplift as a percentage of the return before (2 places), None when that return is zero."""
        if self.return_before == 0:
            return None
        return (self.uplift * HUNDRED / self.return_before).quantize(Decimal("0.01"))

    @property
    def changed(self) -> bool:
        return any(line.change for line in self.lines)


@dataclass(frozen=True)
class Transfer:
    source: Hashable
    source_label: str
    destination: Hashable
    destination_label: str
    amount: Decimal


# --- validation -------------------------------------------------------------------------------


def _validate(lines: Sequence[CandidateLine], currency: str) -> list[CandidateLine]:
    if not is_valid_currency(currency):
        raise DomainError(f"{currency!r} is not a currency code.")
    if len(lines) < 2:
        raise DomainError("Pick at least two lines: a reallocation moves money between lines.")
    seen: set = set()
    clean: list[CandidateLine] = []
    for line in lines:
        name = f"“{line.label}”"
        if line.key in seen:
            raise DomainError(f"Line {name} is picked twice.")
        seen.add(line.key)
        amounts = {}
        for attr, what in (("current", "current amount"), ("minimum", "minimum"), ("maximum", "maximum")):
            value = _decimal(getattr(line, attr), f"{name}: the {what}")
            if value < 0:
                raise DomainError(f"{name}: the {what} must not be negative (got {value}).")
            if value != round_money(value, currency):
                raise DomainError(
                    f"{name}: the {what} {value} has more decimals than {currency.upper()} allows."
                )
            amounts[attr] = value
        if amounts["minimum"] > amounts["maximum"]:
            raise DomainError(
                f"{name}: the minimum ({amounts['minimum']}) is above the maximum ({amounts['maximum']})."
            )
        _validate_curve(line.curve, name)
        clean.append(CandidateLine(key=line.key, label=line.label, curve=line.curve, **amounts))
    total = sum((line.current for line in clean), ZERO)
    floor = sum((line.minimum for line in clean), ZERO)
    ceiling = sum((line.maximum for line in clean), ZERO)
    if total < floor:
        raise DomainError(
            f"The lines hold {total} in total but their minimums add up to {floor}: "
            "lower some minimums, or add lines that can give."
        )
    if total > ceiling:
        raise DomainError(
            f"The lines hold {total} in total but their maximums only add up to {ceiling}: "
            "raise some maximums, or add lines that can take more."
        )
    return clean


def _validate_curve(curve: ResponseCurve, name: str) -> None:
    if not isinstance(curve, ResponseCurve) or not curve.points:
        raise DomainError(f"{name}: the response curve needs at least one point (spend → expected return).")
    spends = [s for s, _ in curve.points]
    for spend, ret in curve.points:
        if spend < 0 or ret < 0:
            raise DomainError(f"{name}: the response curve has a negative value at ({spend} → {ret}).")
    if len(set(spends)) != len(spends) or spends != sorted(spends):
        raise DomainError(f"{name}: the response curve's spends must be distinct and in increasing order.")
    if curve.tail_roi < 0:
        raise DomainError(f"{name}: the return past the last point must not be negative.")
    pts = curve.breakpoints()
    slopes = curve.slopes()
    for k, slope in enumerate(slopes):
        if slope < 0:
            (s0, r0), (s1, r1) = pts[k], pts[k + 1]
            raise DomainError(
                f"{name}: the expected return falls from {r0} to {r1} between spend {s0} and {s1}; "
                "a response curve may flatten but not fall."
            )
        if k and slope > slopes[k - 1]:
            at = pts[k][0]
            raise DomainError(
                f"{name}: the response curve is not concave: the return per unit of spend rises from "
                f"{_ratio(slopes[k - 1])} to {_ratio(slope)} at spend {at}. Each extra unit of spend "
                "must earn the same or less than the one before (diminishing returns)."
            )


def _ratio(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


# --- the solver -------------------------------------------------------------------------------


@dataclass
class _Segment:
    line: int
    length: Decimal  # spend this piece can take (exact)
    slope: Decimal  # return per unit on this piece (exact)
    below_current: bool = field(default=False)


def _segments(index: int, line: CandidateLine) -> list[_Segment]:
    """The curve's pieces between spend 0 and the line's maximum, cut at the current amount."""
    cuts = [s for s, _ in line.curve.breakpoints()]
    if 0 < line.current < line.maximum and line.current not in cuts:
        cuts.append(line.current)
    cuts = sorted(c for c in cuts if c < line.maximum) + [line.maximum]
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        if end > start:
            slope = (line.curve.expected_return(end) - line.curve.expected_return(start)) / (end - start)
            pieces.append(_Segment(index, end - start, slope, below_current=end <= line.current))
    return pieces


def _solve(lines: list[CandidateLine], total: Decimal) -> list[float]:
    """Optimal spend per line (floats, in currency units) from HiGHS."""
    if total == 0:  # every minimum is then 0 too: nothing to optimise
        return [0.0] * len(lines)
    segments = [seg for i, line in enumerate(lines) for seg in _segments(i, line)]
    slopes = sorted({seg.slope for seg in segments})
    gaps = [b - a for a, b in zip(slopes, slopes[1:], strict=False)]
    # A quarter of the smallest gap keeps every strict order between pieces (see module docstring).
    tie_break = min(gaps) / 4 if gaps else max(abs(slopes[-1]) if slopes else ZERO, Decimal(1)) / 4
    objective = np.array(
        [-float(seg.slope + (tie_break if seg.below_current else -tie_break)) for seg in segments]
    )
    objective /= max(np.abs(objective).max(), 1e-300)  # keep HiGHS's absolute tolerances relative
    # Spend in units of `scale` so every variable lies in [0, 1]: better conditioned for large budgets.
    scale = max(total, max(line.maximum for line in lines), Decimal(1))
    upper = np.array([float(seg.length / scale) for seg in segments])
    # membership[i, j] = 1 when piece j belongs to line i (sparse: one entry per piece)
    membership = sparse.csr_array(
        (np.ones(len(segments)), ([seg.line for seg in segments], np.arange(len(segments)))),
        shape=(len(lines), len(segments)),
    )
    result = linprog(
        objective,
        A_ub=-membership,
        b_ub=np.array([-float(line.minimum / scale) for line in lines]),
        A_eq=np.ones((1, len(segments))),
        b_eq=np.array([float(total / scale)]),
        bounds=np.column_stack([np.zeros(len(segments)), upper]),
        method="highs",
    )
    if result.status != 0:  # cannot happen once the bounds are validated; say so plainly if it does
        raise DomainError(f"The solver could not find an allocation: {result.message}")
    spend = membership @ result.x
    return [float(s) * float(scale) for s in spend]


def _round_to_bounds(raw: list[float], lines: list[CandidateLine], total: Decimal, currency: str) -> list[Decimal]:
    """Minor-unit amounts summing exactly to `total`, each within its line's [min, max]."""
    weights = [min(max(Decimal(repr(max(x, 0.0))), line.minimum), line.maximum) for x, line in zip(raw, lines, strict=True)]
    parts = split_exact(total, weights, currency)
    # split_exact may push a part one minor unit past a bound when the solver sat exactly on it:
    # clamp, then hand the difference to the lines with room, largest weight first (ties: earliest).
    parts = [min(max(p, line.minimum), line.maximum) for p, line in zip(parts, lines, strict=True)]
    gap = total - sum(parts, ZERO)
    order = sorted(range(len(parts)), key=lambda i: (-weights[i], i))
    for i in order:
        if gap == 0:
            break
        room = lines[i].maximum - parts[i] if gap > 0 else lines[i].minimum - parts[i]
        step = min(gap, room) if gap > 0 else max(gap, room)
        parts[i] += step
        gap -= step
    return parts


def propose_allocation(*, lines: Sequence[CandidateLine], currency: str) -> AllocationProposal:
    """The allocation of the lines' current total that maximises their total expected return.

    Raises DomainError with a human message for bad input (which line, which value, why).
    """
    clean = _validate(lines, currency)
    total = sum((line.current for line in clean), ZERO)
    after = _round_to_bounds(_solve(clean, total), clean, total, currency)

    def returns(amounts):
        return [round_money(line.curve.expected_return(a), currency) for line, a in zip(clean, amounts, strict=True)]

    before_returns, after_returns = returns([line.current for line in clean]), returns(after)
    current_is_feasible = all(line.minimum <= line.current <= line.maximum for line in clean)
    if current_is_feasible and sum(after_returns, ZERO) <= sum(before_returns, ZERO):
        # Floats and rounding can cost a cent; never propose a move that earns nothing more.
        after, after_returns = [line.current for line in clean], before_returns
    proposed = tuple(
        ProposedLine(
            key=line.key, label=line.label, minimum=line.minimum, maximum=line.maximum,
            before=line.current, after=a, return_before=rb, return_after=ra,
        )
        for line, a, rb, ra in zip(clean, after, before_returns, after_returns, strict=True)
    )
    return AllocationProposal(
        currency=currency.upper(),
        lines=proposed,
        total=total,
        return_before=sum(before_returns, ZERO),
        return_after=sum(after_returns, ZERO),
    )


def proposal_transfers(proposal: AllocationProposal) -> list[Transfer]:
    """Transfers (from, to, amount) whose net effect is the proposal.

    Greedy: first a decrease and an increase of exactly the same amount become one transfer, then
    the largest remaining decrease feeds the largest remaining increase (ties: line order). At most
    (lines giving + lines taking − 1) transfers; amounts exact.
    """
    order = {line.key: i for i, line in enumerate(proposal.lines)}
    givers = {line.key: -line.change for line in proposal.lines if line.change < 0}
    takers = {line.key: line.change for line in proposal.lines if line.change > 0}
    labels = {line.key: line.label for line in proposal.lines}
    transfers: list[Transfer] = []

    def move(source, destination, amount):
        transfers.append(Transfer(source, labels[source], destination, labels[destination], amount))
        givers[source] -= amount
        takers[destination] -= amount
        if not givers[source]:
            del givers[source]
        if not takers[destination]:
            del takers[destination]

    for source in sorted(givers, key=order.__getitem__):
        match = next((d for d in sorted(takers, key=order.__getitem__) if takers[d] == givers[source]), None)
        if match is not None:
            move(source, match, givers[source])
    while givers:
        source = min(givers, key=lambda k: (-givers[k], order[k]))
        destination = min(takers, key=lambda k: (-takers[k], order[k]))
        move(source, destination, min(givers[source], takers[destination]))
    return transfers
