"""Every key of the budget tables leads with tenant_id (finops/tenancy/keys.py): primary keys
(tenant_id, id), and every reference between tenant tables a composite key to them."""

import django.db.models.deletion
from django.db import migrations, models

from finops.tenancy.keys import TenantForeignKey, TenantPrimaryKey

INTERNAL_REFERENCES = [
    ("budgets_budgetversion", "budgetversion_budget_fk", "budget_id", "budgets_budget"),
    ("budgets_budgetversion", "budgetversion_parent_fk", "parent_id", "budgets_budgetversion"),
    ("budgets_budgetline", "budgetline_version_fk", "version_id", "budgets_budgetversion"),
    ("budgets_transferrequest", "transferrequest_version_fk", "version_id", "budgets_budgetversion"),
    ("budgets_alertrule", "alertrule_budget_fk", "budget_id", "budgets_budget"),
]
TABLES = ["budget", "budgetversion", "budgetline", "transferrequest", "alertrule", "alertthreshold", "alert",
          "alertdelivery", "alertpreference"]
# Composite keys already (checked at once, as before): re-created against the new primary keys.
RESTRICTED = [("budget", "entity"), ("budgetversion", "budget"), ("budgetversion", "parent"), ("budgetline", "version"),
              ("budgetline", "account"), ("budgetline", "cost_center"), ("budgetline", "period"),
              ("transferrequest", "version"), ("alertrule", "budget"), ("alertrule", "cost_center"),
              ("alertrule", "account"), ("alert", "entity"), ("alert", "account"), ("alert", "cost_center"),
              ("alert", "period")]
# Django's single-column keys until now (checked at commit, as Django's were).
DEFERRED = [("transferrequest", "source"), ("transferrequest", "destination"), ("alertthreshold", "rule"),
            ("alert", "rule"), ("alert", "threshold"), ("alertdelivery", "alert")]


def _unconstrained(on_delete, related_name, to, **extra):
    return models.ForeignKey(db_constraint=False, on_delete=on_delete, related_name=related_name, to=to, **extra)


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0006_release_ledger_keys"),
        ("ledger", "0006_tenant_leading_keys"),
    ]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {table} DROP CONSTRAINT {name};" for table, name, _, _ in INTERNAL_REFERENCES],
            [f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (tenant_id, {column}) REFERENCES {target} "
             "(tenant_id, id) ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;"
             for table, name, column, target in INTERNAL_REFERENCES],
        ),
        migrations.RemoveConstraint(model_name="budget", name="budget_tenant_id_unique"),
        migrations.RemoveConstraint(model_name="budgetversion", name="budgetversion_tenant_id_unique"),
        migrations.AlterField(model_name="alert", name="rule", field=_unconstrained(
            django.db.models.deletion.CASCADE, "alerts", "budgets.alertrule")),
        migrations.AlterField(model_name="alert", name="threshold", field=_unconstrained(
            django.db.models.deletion.CASCADE, "alerts", "budgets.alertthreshold")),
        migrations.AlterField(model_name="alertdelivery", name="alert", field=_unconstrained(
            django.db.models.deletion.CASCADE, "deliveries", "budgets.alert")),
        migrations.AlterField(model_name="alertthreshold", name="rule", field=_unconstrained(
            django.db.models.deletion.CASCADE, "thresholds", "budgets.alertrule")),
        migrations.AlterField(model_name="transferrequest", name="destination", field=_unconstrained(
            django.db.models.deletion.PROTECT, "+", "budgets.budgetline", db_index=False)),
        migrations.AlterField(model_name="transferrequest", name="source", field=_unconstrained(
            django.db.models.deletion.PROTECT, "+", "budgets.budgetline", db_index=False)),
        *[TenantPrimaryKey(name) for name in TABLES],
        *[TenantForeignKey(model, field, deferred=False) for model, field in RESTRICTED],
        *[TenantForeignKey(model, field) for model, field in DEFERRED],
    ]
