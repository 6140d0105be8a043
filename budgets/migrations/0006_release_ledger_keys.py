"""Let go of the ledger's (tenant_id, id) unique constraints for a moment: the ledger's next
migration makes (tenant_id, id) its primary keys, and 0007 points these references at them."""

from django.db import migrations

LEDGER_REFERENCES = [
    ("budgets_budget", "budget_entity_fk", "entity_id", "ledger_entity"),
    ("budgets_budgetline", "budgetline_account_fk", "account_id", "ledger_account"),
    ("budgets_budgetline", "budgetline_costcenter_fk", "cost_center_id", "ledger_costcenter"),
    ("budgets_budgetline", "budgetline_period_fk", "period_id", "ledger_period"),
    ("budgets_alertrule", "alertrule_cost_center_fk", "cost_center_id", "ledger_costcenter"),
    ("budgets_alertrule", "alertrule_account_fk", "account_id", "ledger_account"),
    ("budgets_alert", "alert_entity_fk", "entity_id", "ledger_entity"),
    ("budgets_alert", "alert_account_fk", "account_id", "ledger_account"),
    ("budgets_alert", "alert_cost_center_fk", "cost_center_id", "ledger_costcenter"),
    ("budgets_alert", "alert_period_fk", "period_id", "ledger_period"),
]


class Migration(migrations.Migration):

    dependencies = [("budgets", "0005_transfer_available_rule_direction")]
    run_before = [("ledger", "0006_tenant_leading_keys")]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {table} DROP CONSTRAINT {name};" for table, name, _, _ in LEDGER_REFERENCES],
            [f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (tenant_id, {column}) REFERENCES {target} "
             "(tenant_id, id) ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;"
             for table, name, column, target in LEDGER_REFERENCES],
        ),
    ]
