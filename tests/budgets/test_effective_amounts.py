"""Approved transfers are part of the budget in force: budget vs actual reads them, and a
revision starts from them, while the original lines keep their amounts."""

from datetime import date
from decimal import Decimal as D

from budgets import services
from budgets.models import BudgetLine
from budgets.reports import budget_vs_actual
from budgets.transfers.requests import transfer_approve, transfer_request
from finops.tenancy.context import tenant_context


def approved_with_transfer(books, users, draft, periods):
    services.budget_lines_set(tenant=books.org, actor=users["finance"], version=draft, cells=[
        (books.rent, books.ops, periods[2], D("1000.00")), (books.rent, books.ops, periods[3], D("500.00"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    version = services.version_approve(tenant=books.org, actor=users["admin"], version=draft)
    with tenant_context(books.org):
        march, april = (BudgetLine.objects.get(version=version, period=p) for p in periods[2:4])
    transfer = transfer_request(tenant=books.org, actor=users["director"], version=version, source=march,
                                destination=april, amount=D("250.00"), reason="Fit-out slips to April")
    transfer_approve(tenant=books.org, actor=users["finance"], transfer=transfer)
    return version, march, april


def test_budget_vs_actual_reads_the_effective_amounts(books, users, draft, periods):
    version, _, _ = approved_with_transfer(books, users, draft, periods)
    with tenant_context(books.org):
        version.refresh_from_db()
        report = budget_vs_actual(tenant=books.org, version=version, period=date(2026, 4, 1), basis="month",
                                  as_of=date(2026, 5, 1))
    assert [(r.account_id, r.budget) for r in report.rows] == [(books.rent.pk, D("750.00"))]


def test_a_revision_starts_from_the_effective_amounts_and_the_originals_stay(books, users, draft, periods):
    version, march, april = approved_with_transfer(books, users, draft, periods)
    revision = services.version_revise(tenant=books.org, actor=users["finance"], version=version)
    with tenant_context(books.org):
        copied = dict(BudgetLine.objects.filter(version=revision).values_list("period__start", "amount"))
        originals = sorted(BudgetLine.objects.filter(pk__in=[march.pk, april.pk]).values_list("amount", flat=True))
    assert copied == {date(2026, 3, 1): D("750.0000"), date(2026, 4, 1): D("750.0000")}
    assert originals == [D("500.0000"), D("1000.0000")]
