"""The import job row is the kernel's now (finops/jobs, migration jobs 0001 renames the table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0010_bounds"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="ImportJob")]),
    ]
