"""The audit trail's primary key leads with tenant_id (finops/tenancy/keys.py)."""

from django.db import migrations

from finops.tenancy.keys import TenantPrimaryKey


class Migration(migrations.Migration):

    dependencies = [("audit", "0002_audit_invariants")]

    operations = [TenantPrimaryKey("auditevent")]
