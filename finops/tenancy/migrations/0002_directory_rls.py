"""Row-level security on the directory: memberships and invitations (finops/tenancy/rls.py)."""

from django.db import migrations

from finops.tenancy.rls import DIRECTORY_POLICIES, disable_sql, enable_sql


class Migration(migrations.Migration):

    dependencies = [("tenancy", "0001_initial")]

    operations = [
        migrations.RunSQL(enable_sql(table, using, check), disable_sql(table))
        for table, (using, check) in DIRECTORY_POLICIES.items()
    ]
