"""One alert per budget line (rule × account × cost center × period), at the highest threshold it
crossed: the rows of the lower thresholds of a line are merged away (with their inbox items), the
highest kept, counted as escalated once per row merged into it. Run per organisation with its
`app.tenant_id` set, so row-level security stays in force."""

from django.db import migrations, models

MERGE = [
    # The row to keep per line: the highest threshold (percentage, then amount), then the newest.
    """CREATE TEMP TABLE alert_merge ON COMMIT DROP AS
       SELECT a.id, first_value(a.id) OVER line AS keep, count(*) OVER (PARTITION BY a.rule_id, a.account_id,
              coalesce(a.cost_center_id, 0), a.period_id) - 1 AS merged
         FROM budgets_alert a JOIN budgets_alertthreshold t ON t.tenant_id = a.tenant_id AND t.id = a.threshold_id
        WHERE a.tenant_id = %(tenant)s
       WINDOW line AS (PARTITION BY a.rule_id, a.account_id, coalesce(a.cost_center_id, 0), a.period_id
                       ORDER BY t.pct DESC, t.amount DESC, a.created_at DESC, a.id DESC)""",
    """UPDATE budgets_alert a SET escalations = m.merged, escalated_at = CASE WHEN m.merged > 0 THEN a.created_at END
         FROM alert_merge m WHERE a.tenant_id = %(tenant)s AND a.id = m.id AND m.id = m.keep""",
    """DELETE FROM budgets_alert a USING alert_merge m WHERE a.tenant_id = %(tenant)s AND a.id = m.id AND m.id <> m.keep""",
    """DELETE FROM notifications_inboxitem i USING alert_merge m
        WHERE i.tenant_id = %(tenant)s AND i.kind = 'variance_alert' AND i.ref = m.id AND m.id <> m.keep""",
    "DROP TABLE alert_merge",
]


def merge_lines(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_organization ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            for statement in MERGE:
                cursor.execute(statement, {"tenant": tenant_id})
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0010_alert_basis_paced_labels"),
        ("notifications", "0002_delivery_seq"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="alert", name="alert_line_unique"),
        migrations.AddField(model_name="alert", name="as_of", field=models.DateField(blank=True, null=True)),
        migrations.AddField(model_name="alert", name="escalated_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="alert", name="escalations", field=models.PositiveSmallIntegerField(default=0)),
        migrations.RunPython(merge_lines, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(fields=("tenant", "rule", "account", "cost_center", "period"),
                                               name="alert_line_unique", nulls_distinct=False),
        ),
    ]
