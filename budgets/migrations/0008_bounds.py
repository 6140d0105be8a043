"""Bounds (finops/bounds.py): the columns that hold sums are as wide as the ledger's rollup cell.

An alert's actual, budget and variance are sums over the rule's basis (a year of budget cells of
up to 10^16 each overflowed numeric(20, 4), and failed the tenant's whole evaluation); its
percentage may be far beyond 10^7 % (a large actual over a budget of 0.01); what a transfer's
source had available is a sum with the line's actual. Widening precision at the same scale
changes no stored value, so no table is rewritten.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0007_tenant_leading_keys"),
    ]

    operations = [
        migrations.AlterField(model_name="alert", name="actual",
                              field=models.DecimalField(decimal_places=4, max_digits=28)),
        migrations.AlterField(model_name="alert", name="budget",
                              field=models.DecimalField(decimal_places=4, max_digits=28)),
        migrations.AlterField(model_name="alert", name="variance",
                              field=models.DecimalField(decimal_places=4, max_digits=28)),
        migrations.AlterField(model_name="alert", name="pct",
                              field=models.DecimalField(blank=True, decimal_places=2, max_digits=32, null=True)),
        migrations.AlterField(model_name="transferrequest", name="available_at_request",
                              field=models.DecimalField(decimal_places=4, max_digits=28)),
    ]
