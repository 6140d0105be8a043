"""From cost data to the ledger: each month's cost per currency is one entry, expense by cost
center and account against the accrual, on the amortised basis by default or the billed one,
counting a commitment purchase once; the parts are rounded once and sum to the month; a change
(a file, a rule, the settings) reposts by reversal and a new entry, a rerun posts nothing; a closed
month's change lands in the first open period; a month that cannot post says why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costs.posting import cost_ledger_refresh, ledger_settings_get, month_plans
from costs.services import cost_ledger_settings_save, mapping_rule_delete, mapping_rule_save
from finops.errors import DomainError, NotAllowed
from finops.ledger.models import DerivedPosting as CostPosting
from finops.ledger.models import JournalEntry, JournalLine, Period, PeriodStatus, Source
from finops.ledger.periods import period_close, period_ensure
from finops.tenancy.context import tenant_context

FOCUS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "focus"
SPEND_B2 = FOCUS_DIR / "saas_examples__spend_agreements__saas_spend_agreements_b2.csv"  # 1,200 bought in April 2025

HEADER = "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,BillingCurrency,ProviderName,ServiceName,Tags"


def focus(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def configure(books, **changes):
    values = {"entity": books.usd, "accrual_account": books.payable, "unallocated_account": books.software, **changes}
    return cost_ledger_settings_save(tenant=books.org, actor=None, **values)


def refresh(books, months=None):
    return cost_ledger_refresh(tenant=books.org, actor=None, months=months)


def entries(org) -> list[tuple]:
    """Every cost entry and reversal: (date, source, [(account, cost center, txn amount, currency)])."""
    with tenant_context(org):
        found = []
        for entry in JournalEntry.objects.filter(source__in=[Source.COSTS, Source.REVERSAL]).order_by("id"):
            lines = [(line.account.code, line.cost_center.code if line.cost_center else None, line.txn_amount,
                      line.txn_currency)
                     for line in JournalLine.objects.filter(entry=entry).select_related("account", "cost_center")
                     .order_by("line_no")]
            found.append((entry.date, entry.source, lines))
        return found


def test_each_month_posts_its_amortised_cost_once_against_the_accrual(books, import_costs):
    configure(books)
    mapping_rule_save(tenant=books.org, actor=None, name="AwesomeDB", provider="Acme Co", cost_center=books.ops,
                      account=books.rent)
    import_costs(books.org, SPEND_B2.read_bytes(), filename=SPEND_B2.name)

    result = refresh(books)

    # The purchase (billed 1,200, effective 0) and the usage it covers (effective 1,200 in all) count once.
    assert [(p.month, p.currency, p.amount) for p in result.posted] == [
        (date(2025, 4, 1), "USD", Decimal("540.00")), (date(2025, 5, 1), "USD", Decimal("120.00")),
        *[(date(2025, m, 1), "USD", Decimal("60.00")) for m in range(6, 13)],
        (date(2026, 1, 1), "USD", Decimal("60.00")), (date(2026, 2, 1), "USD", Decimal("60.00"))]
    assert sum(p.amount for p in result.posted) == Decimal("1200.00")
    assert entries(books.org)[0] == (date(2025, 4, 30), Source.COSTS, [
        ("6100", "OPS", Decimal("540.00"), "USD"), ("2000", None, Decimal("-540.00"), "USD")])

    again = refresh(books)
    assert (again.posted, again.problems, again.unchanged) == ([], [], 11)
    assert len(entries(books.org)) == 11


def test_the_billed_basis_books_the_purchase_in_its_month_and_the_covered_usage_not_at_all(books, import_costs):
    configure(books, basis="billed")
    import_costs(books.org, SPEND_B2.read_bytes(), filename=SPEND_B2.name)

    result = refresh(books)

    assert [(p.month, p.amount) for p in result.posted] == [(date(2025, 4, 1), Decimal("1200.00"))]
    assert entries(books.org) == [(date(2025, 4, 30), Source.COSTS, [
        ("6200", None, Decimal("1200.00"), "USD"), ("2000", None, Decimal("-1200.00"), "USD")])]


def test_lines_round_once_and_sum_to_the_months_exact_cost_rounded_once(books, import_costs):
    configure(books)
    mapping_rule_save(tenant=books.org, actor=None, name="EC2", service="EC2", cost_center=books.ops)
    mapping_rule_save(tenant=books.org, actor=None, name="S3", service="S3", cost_center=books.sales)
    # Three lines of 0.005 each: rounded one by one they would make 0.03, the month is 0.015 → 0.02.
    import_costs(books.org, focus("2025-04-01,Usage,0.005,0.005,USD,AWS,EC2,",
                                  "2025-04-02,Usage,0.005,0.005,USD,AWS,S3,",
                                  "2025-04-03,Usage,0.005,0.005,USD,AWS,Lambda,"))

    refresh(books)

    ((_, _, lines),) = entries(books.org)
    assert lines == [("6200", "OPS", Decimal("0.01"), "USD"), ("6200", "SALES", Decimal("0.01"), "USD"),
                     ("2000", None, Decimal("-0.02"), "USD")]  # Lambda's 0.005 rounds away: no zero line


def test_what_no_rule_maps_books_to_the_unallocated_account_and_a_new_rule_reposts_by_reversal(books, import_costs):
    configure(books, unallocated_cost_center=books.sales)
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,\"{\"\"team\"\": \"\"data\"\"}\"",
                                  "2025-04-02,Usage,5.00,5.00,USD,AWS,S3,"))
    refresh(books)
    assert entries(books.org)[0][2] == [("6200", "SALES", Decimal("15.00"), "USD"), ("2000", None, Decimal("-15.00"), "USD")]
    plan = month_plans(tenant=books.org, settings=ledger_settings_get(tenant=books.org))[date(2025, 4, 1), "USD"]
    assert (plan.total, plan.unallocated) == (Decimal("15.00"), Decimal("15.00"))

    rule = mapping_rule_save(tenant=books.org, actor=None, name="Data team", tag_key="team", tag_value="data",
                             cost_center=books.ops, account=books.rent)
    result = refresh(books)

    assert [(p.month, p.version, p.amount) for p in result.posted] == [(date(2025, 4, 1), 2, Decimal("15.00"))]
    assert entries(books.org)[1:] == [
        (date(2025, 4, 30), Source.REVERSAL, [("6200", "SALES", Decimal("-15.00"), "USD"), ("2000", None, Decimal("15.00"), "USD")]),
        (date(2025, 4, 30), Source.COSTS, [("6100", "OPS", Decimal("10.00"), "USD"), ("6200", "SALES", Decimal("5.00"), "USD"),
                                           ("2000", None, Decimal("-15.00"), "USD")]),
    ]

    mapping_rule_delete(tenant=books.org, actor=None, rule=rule)
    refresh(books)
    assert entries(books.org)[-1][2] == entries(books.org)[0][2]  # back as it was, through a third entry
    assert len(entries(books.org)) == 5


def test_a_second_file_for_a_posted_month_reposts_it_and_the_same_file_again_changes_nothing(books, import_costs):
    configure(books)
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,"), filename="a.csv")
    refresh(books)
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,"), filename="a-again.csv")
    assert refresh(books).posted == []
    import_costs(books.org, focus("2025-04-09,Usage,2.50,2.50,USD,AWS,EC2,"), filename="b.csv")

    assert [(p.month, p.amount) for p in refresh(books).posted] == [(date(2025, 4, 1), Decimal("12.50"))]
    assert [(d, s, lines[0][2]) for d, s, lines in entries(books.org)] == [
        (date(2025, 4, 30), Source.COSTS, Decimal("10.00")), (date(2025, 4, 30), Source.REVERSAL, Decimal("-10.00")),
        (date(2025, 4, 30), Source.COSTS, Decimal("12.50"))]


def test_a_change_to_a_closed_month_lands_in_the_first_open_period(books, import_costs):
    configure(books)
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,"), filename="a.csv")
    refresh(books)
    for month in (date(2025, 4, 1), date(2025, 5, 1)):
        period_close(tenant=books.org, actor=None, period=period_ensure(tenant=books.org, d=month))
    import_costs(books.org, focus("2025-04-09,Usage,2.50,2.50,USD,AWS,EC2,"), filename="b.csv")

    refresh(books)

    assert [(d, s, lines[0][2]) for d, s, lines in entries(books.org)][1:] == [
        (date(2025, 6, 1), Source.REVERSAL, Decimal("-10.00")), (date(2025, 6, 1), Source.COSTS, Decimal("12.50"))]
    with tenant_context(books.org):
        assert Period.objects.get(start=date(2025, 4, 1)).status == PeriodStatus.CLOSED


def test_a_month_that_cannot_post_says_why_and_the_other_months_still_post(books, import_costs):
    configure(books)
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,", "2025-05-01,Usage,9.00,9.00,EUR,OVH,VPS,"))

    result = refresh(books)

    assert [(p.month, p.currency, p.amount) for p in result.posted] == [(date(2025, 4, 1), "USD", Decimal("10.00"))]
    assert [(p.month, p.currency, p.entry_id, p.problem) for p in result.problems] == [
        (date(2025, 5, 1), "EUR", None, "No EUR→USD average rate for 2025-05: add it under Ledger → FX rates.")]
    with tenant_context(books.org):
        assert CostPosting.objects.get(kind="costs", key="2025-05:EUR").problem.startswith("No EUR→USD average rate")


def test_months_before_the_first_month_to_post_are_not_posted_and_moving_it_later_reverses_them(books, import_costs):
    configure(books, post_from=date(2025, 5, 1))
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,", "2025-05-01,Usage,9.00,9.00,USD,AWS,EC2,"))
    assert [p.month for p in refresh(books).posted] == [date(2025, 5, 1)]

    configure(books, post_from=date(2025, 6, 1))
    result = refresh(books)

    assert [(p.month, p.entry_id, p.amount) for p in result.posted] == [(date(2025, 5, 1), None, Decimal("0"))]
    assert [s for _, s, _ in entries(books.org)] == [Source.COSTS, Source.REVERSAL]


def test_settings_must_name_a_liability_to_accrue_and_an_expense_account_for_unallocated_cost(books):
    with pytest.raises(DomainError, match=r"^The accrual account must be a liability; 6200 · Software is expense\.$"):
        configure(books, accrual_account=books.software)
    with pytest.raises(DomainError, match=r"^The unallocated account must be an expense account; 1000 · Cash is asset\.$"):
        configure(books, unallocated_account=books.cash)
    with pytest.raises(DomainError, match=r"^Unknown basis “cash”: choose effective \(amortised\) or billed\.$"):
        configure(books, basis="cash")


def test_without_settings_nothing_posts_and_only_roles_that_change_the_books_may_post(books, users, import_costs):
    import_costs(books.org, focus("2025-04-01,Usage,10.00,10.00,USD,AWS,EC2,"))
    assert refresh(books).configured is False
    assert entries(books.org) == []
    with pytest.raises(NotAllowed):
        cost_ledger_refresh(tenant=books.org, actor=users["director"])
    with pytest.raises(NotAllowed):
        cost_ledger_settings_save(tenant=books.org, actor=users["viewer"], entity=books.usd,
                                  accrual_account=books.payable, unallocated_account=books.software)
