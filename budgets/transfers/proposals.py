"""ROI proposals: how to redistribute the effective budget of a few lines to earn the most.

The user picks lines of a version in force (marketing channels, initiatives), gives each a
minimum, a maximum and its expected return — one return per unit of spend, or a few points of a
response curve with diminishing returns — and `proposal_build` asks the solver in `allocation`
for the split of the same total (the lines' EFFECTIVE amounts, approved transfers included) that
maximises the expected return. Accepting it (`proposal_accept`) turns the proposal into ordinary
transfer requests, reason "ROI proposal #n", each checked like any other request; if one is
refused, none is made.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Max

from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from ..models import TransferRequest
from ..selectors import pk_of
from .allocation import (
    AllocationProposal,
    CandidateLine,
    ResponseCurve,
    curve_from_roi,
    proposal_transfers,
    propose_allocation,
)
from .requests import transfer_request, transfer_version_in_force
from .selectors import line_funds

# pg_advisory_xact_lock(class, tenant): proposal numbers are handed out one accept at a time.
PROPOSAL_LOCK_CLASS = 3_0002


def curve_parse(text: str) -> ResponseCurve:
    """A curve from what a person types: "1.8" (a return per unit of spend), or points
    "spend:return" separated by commas or spaces ("10000:30000, 20000:45000")."""
    text = (text or "").strip()
    if not text:
        raise DomainError("Give a return per unit of spend (e.g. 1.8) or curve points (e.g. 1000:2500, 2000:4000).")
    if ":" not in text:
        return curve_from_roi(text)
    points = []
    for chunk in text.replace(";", ",").replace(",", " ").split():
        spend, sep, ret = chunk.partition(":")
        if not sep or not spend or not ret:
            raise DomainError(f"“{chunk}” is not a curve point: write spend:return, e.g. 1000:2500.")
        points.append((spend, ret))
    return ResponseCurve.from_points(points)


def _curve(value) -> ResponseCurve:
    if isinstance(value, ResponseCurve):
        return value
    if isinstance(value, str):
        return curve_parse(value)
    if isinstance(value, list | tuple):
        return ResponseCurve.from_points(value)
    return curve_from_roi(value)


def proposal_build(*, tenant, version, lines: Sequence[tuple]) -> AllocationProposal:
    """`lines`: (budget line, minimum, maximum, ROI or curve points or ResponseCurve) each.
    The proposal's keys are the budget lines' ids, its amounts in the budget's currency."""
    with tenant_context(tenant):
        found = transfer_version_in_force(version)
        currency = str(found.budget.entity.functional_currency)
        ids = [pk_of(line) for line, *_ in lines]
        funds = {f.line_id: f for f in line_funds(tenant=tenant, version=found, lines=ids)}
    candidates = []
    for line, minimum, maximum, curve in lines:
        f = funds.get(pk_of(line))
        if f is None:
            raise DomainError("A picked line is not a line of this budget version.")
        try:
            parsed = _curve(curve)
        except DomainError as exc:
            raise DomainError(f"“{f.label}”: {exc.message}") from None
        candidates.append(CandidateLine(key=f.line_id, label=f.label, current=f.effective, minimum=minimum,
                                        maximum=maximum, curve=parsed))
    return propose_allocation(lines=candidates, currency=currency)


@requires(Action.REQUEST)
def proposal_accept(*, tenant, actor, version, proposal: AllocationProposal) -> list[TransferRequest]:
    """Turn an accepted proposal into pending transfer requests (reason "ROI proposal #n"), all
    or none: each goes through `transfer_request`, so a line cannot give more than it has."""
    moves = proposal_transfers(proposal)
    if not moves:
        raise DomainError("The proposal moves nothing: the lines are already where they earn the most.")
    with tenant_context(tenant) as tenant_id:
        found = transfer_version_in_force(version)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PROPOSAL_LOCK_CLASS, tenant_id])
        number = (TransferRequest.objects.aggregate(n=Max("proposal"))["n"] or 0) + 1
        return [transfer_request(tenant=tenant, actor=actor, version=found, source=move.source,
                                 destination=move.destination, amount=move.amount, reason=f"ROI proposal #{number}",
                                 proposal=number)
                for move in moves]
