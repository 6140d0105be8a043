"""A transfer request keeps what its source had available when requested (it was only in the
request's audit row), and an alert rule may watch only unfavourable variances."""

from django.db import migrations, models


def available_from_audit(apps, schema_editor):
    """Requests made before the column existed: the amount their audit row recorded. Row-level
    security shows one tenant's rows at a time, so the update runs per organisation."""
    Organization = apps.get_model("tenancy", "Organization")
    for tenant_id in Organization.objects.values_list("pk", flat=True):
        schema_editor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        schema_editor.execute("""
            UPDATE budgets_transferrequest t SET available_at_request = (a.after ->> 'available')::numeric
            FROM audit_auditevent a
            WHERE a.tenant_id = t.tenant_id AND a.object_type = 'transferrequest' AND a.object_id = t.id::text
              AND a.action = 'budget.transfer_request' AND a.after ? 'available'
        """)
    schema_editor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0004_alertthreshold_retired_at"),
        ("audit", "0002_audit_invariants"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="transferrequest",
            name="available_at_request",
            field=models.DecimalField(decimal_places=4, max_digits=20, null=True),
        ),
        migrations.RunPython(available_from_audit, migrations.RunPython.noop),
        # A request whose audit row says nothing (none exist: the audit row is written with it).
        migrations.RunSQL("UPDATE budgets_transferrequest SET available_at_request = 0 "
                          "WHERE available_at_request IS NULL", migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="transferrequest",
            name="available_at_request",
            field=models.DecimalField(decimal_places=4, max_digits=20),
        ),
        migrations.AddField(
            model_name="alertrule",
            name="unfavourable_only",
            field=models.BooleanField(default=False),
        ),
    ]
