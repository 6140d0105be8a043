"""The job row says what every job needs, not what a GL import does: a GL import's counts go into
`result`, "a file of this kind imports once" is the row's `content_once` (GL jobs, until now the
only ones), and `kind` is any registered kind. Rows are rewritten one organisation at a time with
its `app.tenant_id` set (and named by it), so row-level security stays in force."""

from django.db import migrations, models

REWRITE = """
    UPDATE jobs_job SET content_once = (kind = 'gl'),
                        result = CASE WHEN kind = 'gl' THEN jsonb_build_object('entries_created', entries_created,
                                                                               'entries_skipped', entries_skipped)
                                      ELSE '{}'::jsonb END
    WHERE tenant_id = %(tenant)s
"""


def rewrite(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_organization ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(REWRITE, {"tenant": tenant_id})
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [("jobs", "0001_initial")]

    operations = [
        migrations.AddField(model_name="job", name="content_once", field=models.BooleanField(default=False)),
        migrations.AddField(model_name="job", name="result", field=models.JSONField(blank=True, default=dict)),
        migrations.RunPython(rewrite, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="job", name="importjob_succeeded_sha256_unique"),
        migrations.RemoveIndex(model_name="job", name="importjob_created_idx"),
        migrations.RemoveField(model_name="job", name="entries_created"),
        migrations.RemoveField(model_name="job", name="entries_skipped"),
        migrations.AlterField(model_name="job", name="kind", field=models.CharField(max_length=20)),
        migrations.AddIndex(model_name="job", index=models.Index(fields=["tenant", "kind", "-created_at", "-id"],
                                                                 name="job_created_idx")),
        migrations.AddConstraint(model_name="job", constraint=models.UniqueConstraint(
            condition=models.Q(("content_once", True), ("status", "succeeded")), fields=("tenant", "kind", "sha256"),
            name="job_succeeded_content_unique")),
    ]
