"""Reallocation: transfer requests, availability, approval, rejection, cancellation, audit, locking."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.db import connection

from budgets import services
from budgets.models import BudgetLine, TransferRequest
from budgets.selectors import budget_periods, version_latest
from budgets.transfers.requests import transfer_approve, transfer_cancel, transfer_reject, transfer_request
from budgets.transfers.selectors import (
    TransferFilters,
    effective_amounts,
    line_funds,
    transfer_list,
    transfer_status_counts,
)
from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from tests.local_servers import wait_until


def line_of(org, version, account, cost_center, period) -> BudgetLine:
    with tenant_context(org):
        return BudgetLine.objects.get(version=version, account=account, cost_center=cost_center, period=period)


def audits(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def post_rent(books, amount: str, day=date(2026, 3, 5), cost_center=None):
    cost_center = cost_center or books.ops
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=day, lines=[
        LineSpec(books.rent.pk, D(amount), cost_center.pk), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def approved(books, users, draft, periods):
    """Rent for OPS in March 1,000.00 and April 500.00, software for OPS in March 200.00; approved."""
    services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft, cells=[
        (books.rent, books.ops, periods[2], D("1000.00")),
        (books.rent, books.ops, periods[3], D("500.00")),
        (books.software, books.ops, periods[2], D("200.00")),
    ])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    return services.version_approve(tenant=books.org, actor=users["admin"], version=draft)


@pytest.fixture
def march_rent(books, approved, periods):
    return line_of(books.org, approved, books.rent, books.ops, periods[2])


@pytest.fixture
def april_rent(books, approved, periods):
    return line_of(books.org, approved, books.rent, books.ops, periods[3])


def request(books, users, approved, source, destination, amount, role="director", **kwargs):
    return transfer_request(tenant=books.org, actor=users[role], version=approved, source=source,
                            destination=destination, amount=D(amount), reason=kwargs.pop("reason", "Move rent"),
                            **kwargs)


def test_available_is_budget_minus_actual_minus_pending_outgoing_requests(books, users, approved, march_rent,
                                                                          april_rent):
    post_rent(books, "300.00")
    post_rent(books, "45.50", day=date(2026, 3, 20))
    post_rent(books, "99.00", cost_center=books.sales)  # another cost center: not this line's actual
    request(books, users, approved, march_rent, april_rent, "100.00")
    [funds] = line_funds(tenant=books.org, version=approved, lines=[march_rent])
    assert (funds.original, funds.actual, funds.pending_out, funds.effective, funds.available) == (
        D("1000.00"), D("345.50"), D("100.00"), D("1000.00"), D("554.50"))


def test_a_transfer_cannot_move_more_than_the_available_budget_and_says_how_much_is_available(
        books, users, approved, march_rent, april_rent):
    post_rent(books, "300.00")
    request(books, users, approved, march_rent, april_rent, "100.00")
    with pytest.raises(DomainError) as error:
        request(books, users, approved, march_rent, april_rent, "600.01")
    assert str(error.value) == (
        "6100 Rent / OPS / 2026-03 has USD 600.00 available (budget USD 1,000.00 − actual USD 300.00 − pending "
        "transfers USD 100.00); USD 600.01 cannot be moved from it.")
    assert request(books, users, approved, march_rent, april_rent, "600.00").amount == D("600.00")
    with tenant_context(books.org):
        assert TransferRequest.objects.count() == 2


def test_finance_can_override_the_available_amount_with_a_reason(books, users, approved, march_rent, april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "1500.00", role="finance",
                       override_reason="Lease renegotiated, March rent is prepaid")
    assert (transfer.override, transfer.override_reason, transfer.status) == (
        True, "Lease renegotiated, March rent is prepaid", "requested")
    [event] = audits(books.org, "budget.transfer_request")
    assert event.after["override_reason"] == "Lease renegotiated, March rent is prepaid"
    assert event.after["available"] == "1000.00"


def test_a_request_within_the_available_amount_is_not_marked_as_overridden(books, users, approved, march_rent,
                                                                            april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "10.00", role="finance",
                       override_reason="just in case")
    assert (transfer.override, transfer.override_reason) == (False, "")


def test_approval_changes_effective_amounts_but_not_the_original_line(books, users, approved, march_rent,
                                                                      april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "250.00")
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer, comment="ok")
    amounts = effective_amounts(tenant=books.org, version=approved)
    assert (amounts[march_rent.pk].original, amounts[march_rent.pk].transfers_out, amounts[march_rent.pk].effective) \
        == (D("1000.00"), D("250.00"), D("750.00"))
    assert (amounts[april_rent.pk].original, amounts[april_rent.pk].transfers_in, amounts[april_rent.pk].effective) \
        == (D("500.00"), D("250.00"), D("750.00"))
    with tenant_context(books.org):
        assert BudgetLine.objects.get(pk=march_rent.pk).amount == D("1000.00")
        assert BudgetLine.objects.get(pk=april_rent.pk).amount == D("500.00")
        transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by, transfer.decision_comment) == ("approved", users["finance"], "ok")
    [event] = audits(books.org, "budget.transfer_approve")
    assert (event.before, event.after) == ({"status": "requested"},
                                           {"status": "approved", "amount": "250.00", "comment": "ok"})


def test_a_transfer_to_a_missing_cell_creates_the_destination_line_at_zero(books, users, approved, march_rent,
                                                                            periods):
    transfer = request(books, users, approved, march_rent, (books.rent, books.sales, periods[5]), "80.00")
    created = line_of(books.org, approved, books.rent, books.sales, periods[5])
    assert (transfer.destination_id, created.amount) == (created.pk, D("0"))
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer)
    assert effective_amounts(tenant=books.org, version=approved)[created.pk].effective == D("80.00")


def test_approval_checks_the_available_amount_again(books, users, approved, march_rent, april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "900.00")
    post_rent(books, "200.00")  # actuals arrive after the request
    with pytest.raises(DomainError, match=r"now has USD 800.00 available for this request; USD 900.00 cannot be "
                                          r"approved unless you override with a reason"):
        transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer)
    approved_transfer = transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer,
                                         override_reason="Accrual reversal next week")
    assert (approved_transfer.status, approved_transfer.override) == ("approved", True)


def test_rejection_needs_a_comment_and_frees_the_pending_amount(books, users, approved, march_rent, april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "400.00")
    with pytest.raises(DomainError, match="Say why the transfer is rejected"):
        transfer_reject(tenant=books.org, actor=users["finance"], transfer=transfer, comment="  ")
    transfer_reject(tenant=books.org, actor=users["finance"], transfer=transfer, comment="Keep it for Q2")
    [funds] = line_funds(tenant=books.org, version=approved, lines=[march_rent])
    assert (funds.pending_out, funds.available) == (D("0"), D("1000.00"))
    [event] = audits(books.org, "budget.transfer_reject")
    assert event.after == {"status": "rejected", "amount": "400.00", "comment": "Keep it for Q2"}
    with pytest.raises(DomainError, match="is rejected: only a pending request can be approved"):
        transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer)


def test_only_the_requester_can_cancel_a_pending_request(books, users, approved, march_rent, april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "400.00")
    with pytest.raises(DomainError, match="Only the person who requested transfer"):
        transfer_cancel(tenant=books.org, actor=users["finance"], transfer=transfer)
    cancelled = transfer_cancel(tenant=books.org, actor=users["director"], transfer=transfer)
    assert cancelled.status == "cancelled"
    assert line_funds(tenant=books.org, version=approved, lines=[march_rent])[0].available == D("1000.00")
    [event] = audits(books.org, "budget.transfer_cancel")
    assert (event.actor, event.before, event.after) == (users["director"], {"status": "requested"},
                                                        {"status": "cancelled", "amount": "400.00"})


def test_every_request_is_audited_with_its_lines_and_reason(books, users, approved, march_rent, april_rent):
    transfer = request(books, users, approved, march_rent, april_rent, "12.34", reason="Office move slips a month")
    [event] = audits(books.org, "budget.transfer_request")
    assert (event.actor, event.object_id, event.object_repr) == (users["director"], str(transfer.pk),
                                                                 f"Transfer #{transfer.pk} in Plan 2026 v1")
    assert event.after == {"status": "requested", "amount": "12.34", "source": "6100 Rent / OPS / 2026-03",
                           "destination": "6100 Rent / OPS / 2026-04", "reason": "Office move slips a month",
                           "available": "1000.00"}


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "The amount to move must be above zero."),
    ("-5", "The amount to move must be above zero."),
    ("1.001", "The amount has more decimals than USD allows (2)."),
    ("abc", "“abc” is not an amount."),
])
def test_bad_amounts_are_refused_in_words(books, users, approved, march_rent, april_rent, amount, message):
    with pytest.raises(DomainError) as error:
        transfer_request(tenant=books.org, actor=users["director"], version=approved, source=march_rent,
                         destination=april_rent, amount=amount, reason="x")
    assert str(error.value) == message


def test_a_reason_is_required_and_lines_must_differ_and_be_of_one_kind(books, users, approved, march_rent,
                                                                      april_rent, periods):
    with pytest.raises(DomainError, match="Say why the money should move"):
        request(books, users, approved, march_rent, april_rent, "1.00", reason=" ")
    with pytest.raises(DomainError, match="The source and the destination are the same line"):
        request(books, users, approved, march_rent, march_rent, "1.00")
    with pytest.raises(DomainError, match="6100 Rent / OPS / 2026-03 is expense and 4000 Subscription revenue / "
                                          "2026-03 is revenue: money moves between lines of the same kind"):
        request(books, users, approved, march_rent, (books.revenue, None, periods[2]), "1.00")


def test_a_draft_version_is_edited_directly_not_through_transfers(books, users, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft,
                              cells=[(books.rent, books.ops, periods[2], D("10.00"))])
    line = line_of(books.org, draft, books.rent, books.ops, periods[2])
    with pytest.raises(DomainError, match="Plan 2026 v1 is draft: transfers move money in an approved or locked"):
        request(books, users, draft, line, (books.rent, books.ops, periods[3]), "1.00")


def test_transfers_work_on_a_locked_version(books, users, approved, march_rent, april_rent):
    services.version_lock(tenant=books.org, actor=users["finance"], version=approved)
    transfer = request(books, users, approved, march_rent, april_rent, "1.00")
    assert transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer).status == "approved"


def test_another_organisations_line_is_not_a_source(books, users, approved, april_rent, other_books):
    other = services.budget_create(tenant=other_books.org, actor=None, entity=other_books.usd, fiscal_year=2026,
                                   name="Theirs")
    other_periods = budget_periods(tenant=other_books.org, budget=other)
    version = version_latest(tenant=other_books.org, budget=other)
    services.budget_lines_set(tenant=other_books.org, actor=None, version=version,
                              cells=[(other_books.rent, None, other_periods[0], D("5.00"))])
    with tenant_context(other_books.org):
        foreign = BudgetLine.objects.get(version=version)
    with pytest.raises(DomainError, match="The source is not a line of this budget version"):
        request(books, users, approved, foreign, april_rent, "1.00")


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees its first snapshot only
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_cannot_overdraw_one_source_line(books, users, approved, march_rent, april_rent):
    """Both requests start while the source line is locked, so they run against the same state;
    only the line lock in `transfer_request` makes the second see the first's pending request."""
    outcomes: list[str] = []
    started = threading.Barrier(3)

    def ask():
        try:
            started.wait()
            request(books, users, approved, march_rent, april_rent, "700.00")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    with tenant_context(books.org):
        BudgetLine.objects.select_for_update().get(pk=march_rent.pk)  # hold the line: both requests queue up
        for thread in threads:
            thread.start()
        started.wait()
        wait_until(lambda: _lock_waiters() == 2, timeout=10, what="both requests waiting for the line lock")
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == [
        "6100 Rent / OPS / 2026-03 has USD 300.00 available (budget USD 1,000.00 − actual USD 0.00 − pending "
        "transfers USD 700.00); USD 700.00 cannot be moved from it.", "ok"]
    with tenant_context(books.org):
        assert list(TransferRequest.objects.values_list("amount", flat=True)) == [D("700.00")]


# --- the list: filters and counts ---------------------------------------------------------------

def listed(books, **filters) -> list[int]:
    with tenant_context(books.org):
        return [t.pk for t in transfer_list(tenant=books.org, filters=TransferFilters(**filters))]


def test_the_list_filters_by_status_version_cost_center_subtree_requester_and_dates(books, users, approved,
                                                                                   march_rent, april_rent, periods):
    to_sales = request(books, users, approved, march_rent, (books.rent, books.sales, periods[4]), "10.00")
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=to_sales)
    sales_may = line_of(books.org, approved, books.rent, books.sales, periods[4])
    within_sales = request(books, users, approved, sales_may, (books.rent, books.sales, periods[5]), "5.00")
    by_finance = request(books, users, approved, march_rent, april_rent, "20.00", role="finance")
    rejected = request(books, users, approved, april_rent, march_rent, "30.00")
    transfer_reject(tenant=books.org, actor=users["finance"], transfer=rejected, comment="No")
    with tenant_context(books.org):  # the service stamps "now"; an older request, as if made in January
        TransferRequest.objects.filter(pk=by_finance.pk).update(requested_at=datetime(2026, 1, 15, 12, tzinfo=UTC))

    everything = [rejected.pk, within_sales.pk, to_sales.pk, by_finance.pk]
    assert listed(books) == everything  # newest first
    assert listed(books, status="requested") == [within_sales.pk, by_finance.pk]
    assert listed(books, version=approved.pk) == everything
    assert listed(books, version=approved.pk + 1000) == []
    assert listed(books, cost_center=books.sales.pk) == [within_sales.pk, to_sales.pk]  # from or to SALES
    assert listed(books, cost_center=books.ops.pk) == everything  # SALES is below OPS
    assert listed(books, requested_by=users["finance"].pk) == [by_finance.pk]
    assert listed(books, requested_from=date(2026, 1, 15), requested_to=date(2026, 1, 15)) == [by_finance.pk]
    assert listed(books, requested_from=date(2026, 1, 16)) == [rejected.pk, within_sales.pk, to_sales.pk]
    assert listed(books, requested_to=date(2026, 1, 14)) == []


def test_the_status_counts_follow_every_filter_but_the_status(books, users, approved, march_rent, april_rent):
    first = request(books, users, approved, march_rent, april_rent, "10.00")
    request(books, users, approved, march_rent, april_rent, "20.00", role="finance")
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=first)
    counts = transfer_status_counts(tenant=books.org, filters=TransferFilters(status="approved"))
    assert counts == {"requested": 1, "approved": 1, "rejected": 0, "cancelled": 0}
    mine = TransferFilters(requested_by=users["finance"].pk)
    assert transfer_status_counts(tenant=books.org, filters=mine) == {
        "requested": 1, "approved": 0, "rejected": 0, "cancelled": 0}


def test_the_list_shows_what_the_source_had_available_when_it_was_requested(books, users, approved, march_rent,
                                                                           april_rent):
    post_rent(books, "300.00")
    first = request(books, users, approved, march_rent, april_rent, "100.00")
    second = request(books, users, approved, march_rent, april_rent, "2000.00", role="finance",
                     override_reason="Prepaid lease")
    with tenant_context(books.org):
        rows = {t.pk: (t.available_at_request, t.override, t.override_reason)
                for t in transfer_list(tenant=books.org)}
    assert rows == {first.pk: (D("700.00"), False, ""), second.pk: (D("600.00"), True, "Prepaid lease")}


def test_whoever_requested_a_transfer_does_not_approve_it_when_another_member_can(books, users, approved,
                                                                                   march_rent, april_rent):
    own = request(books, users, approved, march_rent, april_rent, "100.00", role="finance")

    with pytest.raises(DomainError) as refused:
        transfer_approve(tenant=books.org, actor=users["finance"], transfer=own, comment="fine by me")

    assert refused.value.message == (f"You requested transfer #{own.pk}: another finance or admin member approves "
                                     "it (segregation of duties).")
    with tenant_context(books.org):
        assert TransferRequest.objects.get(pk=own.pk).status == "requested"
    assert audits(books.org, "budget.transfer_approve") == []
    decided = transfer_approve(tenant=books.org, actor=users["admin"], transfer=own)
    assert (decided.status, decided.decided_by, decided.requested_by) == ("approved", users["admin"], users["finance"])


def test_the_only_member_who_may_approve_approves_their_own_transfer_and_the_audit_shows_both(
        books, users, approved, march_rent, april_rent):
    from finops.tenancy import services as tenancy
    from tests.builders import member

    finance = member(books.org, user=users["finance"])
    tenancy.member_set_role(tenant=books.org, actor=users["admin"], membership=finance, role="viewer")
    own = request(books, users, approved, march_rent, april_rent, "100.00", role="admin")

    decided = transfer_approve(tenant=books.org, actor=users["admin"], transfer=own)

    assert decided.status == "approved"
    [asked] = audits(books.org, "budget.transfer_request")
    [approval] = audits(books.org, "budget.transfer_approve")
    assert (asked.actor, approval.actor) == (users["admin"], users["admin"])
