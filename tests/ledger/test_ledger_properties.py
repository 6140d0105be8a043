"""Property test: whatever is posted and reversed, the rollup equals a fresh GROUP BY of the
lines and every entry sums to zero."""

from datetime import date
from decimal import Decimal

from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context

amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2).filter(lambda d: d != 0)
line_plans = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), amounts), min_size=1, max_size=6)
entry_plans = st.lists(
    st.tuples(line_plans, st.integers(0, 1), st.sampled_from([date(2026, 3, 3), date(2026, 3, 31)]),
              st.sampled_from(["USD", "EUR"]), st.booleans()),
    min_size=1, max_size=6,
)

ROLLUP_VS_LINES = """
    WITH fresh AS (
        SELECT entity_id, account_id, cost_center_id, period_id, sum(amount) AS amount, count(*) AS n
        FROM ledger_journalline GROUP BY 1, 2, 3, 4
    )
    SELECT count(*) FROM fresh FULL JOIN ledger_periodbalance b
      ON b.entity_id = fresh.entity_id AND b.account_id = fresh.account_id AND b.period_id = fresh.period_id
     AND b.cost_center_id IS NOT DISTINCT FROM fresh.cost_center_id
    WHERE fresh.amount IS DISTINCT FROM b.amount OR fresh.n IS DISTINCT FROM b.line_count
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=entry_plans)
def test_the_rollup_always_equals_a_fresh_group_by_and_every_entry_balances(books, plans):
    accounts = [books.cash, books.revenue, books.rent, books.software, books.payable]
    cost_centers = [None, books.ops, books.sales]
    entities = [books.usd, books.gbp]
    with tenant_context(books.org):
        for lines, entity_index, day, currency, reverse in plans:
            entity = entities[entity_index]
            if entity is books.gbp:
                currency = "GBP"
            specs = [LineSpec(accounts[a].pk, amount, cost_centers[c] and cost_centers[c].pk, currency)
                     for a, c, amount in lines]
            balancing = -sum((s.amount for s in specs), Decimal(0))
            if balancing == 0:
                balancing = Decimal("0.01")
                specs.append(LineSpec(books.cash.pk, Decimal("-0.01"), None, currency))
            specs.append(LineSpec(books.payable.pk, balancing, None, currency))
            if sum((s.amount for s in specs), Decimal(0)) != 0:
                continue
            entry = ledger.journal_post(tenant=books.org, actor=None, entity=entity, date=day, lines=specs).entry
            if reverse:
                ledger.journal_reverse(tenant=books.org, actor=None, entry=entry)
        with connection.cursor() as cursor:
            cursor.execute(ROLLUP_VS_LINES)
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT count(*) FROM (SELECT entry_id FROM ledger_journalline"
                           " GROUP BY entry_id HAVING sum(amount) <> 0 OR count(*) < 2) unbalanced")
            assert cursor.fetchone() == (0,)
