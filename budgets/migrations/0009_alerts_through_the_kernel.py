"""Variance alerts use the kernel's outbox and inbox (finops/notifications): each alert gets its
inbox item (status, snooze), deliveries and preferences move to the kernel's tables as kind
"variance_alert", and the budget-only tables go. Rows are copied one organisation at a time with
its `app.tenant_id` set, so row-level security stays in force while they move."""

import django.db.models.deletion
from django.db import migrations, models

from finops.tenancy.keys import TenantForeignKey

KIND = "variance_alert"
COPY = [
    f"""INSERT INTO notifications_inboxitem (tenant_id, kind, ref, title, link, status, snoozed_until, note, created_at)
        SELECT a.tenant_id, '{KIND}', a.id,
               left(r.name || ': ' || ac.code || ' ' || ac.name || coalesce(' · ' || cc.code, '') || ', '
                    || to_char(p.start, 'FMMonth YYYY'), 300),
               '', a.status, a.snoozed_until, '', a.created_at
        FROM budgets_alert a
        JOIN budgets_alertrule r ON r.tenant_id = a.tenant_id AND r.id = a.rule_id
        JOIN ledger_account ac ON ac.tenant_id = a.tenant_id AND ac.id = a.account_id
        LEFT JOIN ledger_costcenter cc ON cc.tenant_id = a.tenant_id AND cc.id = a.cost_center_id
        JOIN ledger_period p ON p.tenant_id = a.tenant_id AND p.id = a.period_id
        WHERE a.tenant_id = %(tenant)s""",
    f"""UPDATE budgets_alert a SET item_id = i.id FROM notifications_inboxitem i
        WHERE a.tenant_id = %(tenant)s AND i.tenant_id = a.tenant_id AND i.kind = '{KIND}' AND i.ref = a.id""",
    f"""INSERT INTO notifications_delivery (tenant_id, kind, ref, channel, recipient, payload, status, due_at, attempts,
                                            message_id, sending_at, sent_at, last_error, created_at)
        SELECT tenant_id, '{KIND}', alert_id, 'email', recipient, '{{}}', status, due_at, attempts, message_id,
               sending_at, sent_at, last_error, least(due_at, coalesce(sending_at, due_at))
        FROM budgets_alertdelivery WHERE tenant_id = %(tenant)s""",
    f"""INSERT INTO notifications_preference (tenant_id, email, kind, user_id, mode, updated_at)
        SELECT tenant_id, email, '{KIND}', user_id, mode, updated_at FROM budgets_alertpreference
        WHERE tenant_id = %(tenant)s""",
]


def copy_into_the_kernel(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_organization ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            for statement in COPY:  # each names its tenant too: an owner that bypasses RLS copies it alone
                cursor.execute(statement, {"tenant": tenant_id})
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0008_bounds"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert", name="item",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="notifications.inboxitem"),
        ),
        migrations.RunPython(copy_into_the_kernel, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="alert", name="alert_status_idx"),
        migrations.RemoveField(model_name="alert", name="snoozed_until"),
        migrations.RemoveField(model_name="alert", name="status"),
        migrations.AddIndex(model_name="alert",
                            index=models.Index(fields=["tenant", "-created_at"], name="alert_created_idx")),
        migrations.DeleteModel(name="AlertDelivery"),
        migrations.DeleteModel(name="AlertPreference"),
        TenantForeignKey("alert", "item", deferred=False),
    ]
