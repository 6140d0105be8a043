"""Every key of the ledger's tables leads with tenant_id (finops/tenancy/keys.py)."""

import django.db.models.deletion
from django.db import migrations, models

from finops.tenancy.keys import TenantForeignKey, TenantPrimaryKey

TABLES = ["entity", "account", "costcenter", "period", "fxrate", "journalentry", "journalline", "periodbalance",
          "importjob"]


class Migration(migrations.Migration):

    dependencies = [("ledger", "0005_trigger_plans_per_statement")]

    operations = [
        # The (tenant_id, id) unique constraints become the primary keys.
        *[migrations.RemoveConstraint(model_name=name, name=f"{name}_tenant_id_unique")
          for name in ["account", "costcenter", "entity", "journalentry", "period"]],
        migrations.AlterField(
            model_name="account", name="parent",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="children", to="ledger.account"),
        ),
        migrations.AlterField(
            model_name="costcenter", name="parent",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="children", to="ledger.costcenter"),
        ),
        migrations.AlterField(
            model_name="importjob", name="duplicate_of",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to="ledger.importjob"),
        ),
        *[TenantPrimaryKey(name) for name in TABLES],
        TenantForeignKey("account", "parent"),
        TenantForeignKey("costcenter", "parent"),
        TenantForeignKey("importjob", "duplicate_of"),
        # An entry is reversed at most once: unique per tenant (the model's OneToOneField says so to Django).
        migrations.RunSQL(
            "ALTER TABLE ledger_journalentry DROP CONSTRAINT ledger_journalentry_reverses_id_key;"
            "ALTER TABLE ledger_journalentry ADD CONSTRAINT journalentry_reverses_unique UNIQUE (tenant_id, reverses_id);",
            "ALTER TABLE ledger_journalentry DROP CONSTRAINT journalentry_reverses_unique;"
            "ALTER TABLE ledger_journalentry ADD CONSTRAINT ledger_journalentry_reverses_id_key UNIQUE (reverses_id);",
        ),
    ]
